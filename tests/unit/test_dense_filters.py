"""Dense search filters Chroma's nearest ids itself when a filter lets most chunks through;
either way it must return the nearest of the chunks that Chroma's own ``where`` allows."""

import datetime as dt
import random

import numpy as np
import pytest

from assistant.testing import HashingEmbeddings
from assistant.types import Filters
from index.store import _chroma_where

WORDS = [f"word{n}" for n in range(40)]
TOPICS = ["gas pipeline", "chess final", "volcano ash", "bakery bread", "toll road"]


@pytest.fixture
def store(make_assistant, tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    for i in range(100):
        day = dt.date(2025, 1, 1) + dt.timedelta(days=i * 3)
        outlet = "north.test" if i % 3 else "south.test"
        (folder / f"{i}.txt").write_text(
            f"<TITLE>{TOPICS[i % 5]} story {i}</TITLE><PUBLISHED_DATE>{day}</PUBLISHED_DATE>"
            f"<URL>https://{outlet}/{i}</URL><CONTENT>News about the {TOPICS[i % 5]}: "
            f"{' '.join(random.Random(i).sample(WORDS, 6))}.</CONTENT>"
        )
    a = make_assistant()
    a.ingest([folder])
    return a.store


def _exact_scores(store, vector, k, filters):
    """The k best cosine similarities among the chunks Chroma's where lets through."""
    got = store._collection.get(where=_chroma_where(filters), include=["embeddings"])
    q = np.asarray(vector) / np.linalg.norm(vector)
    scores = [float(q @ (e / np.linalg.norm(e))) for e in np.asarray(got["embeddings"])]
    return sorted(scores, reverse=True)[:k]


@pytest.mark.parametrize("filters", [
    Filters(),
    Filters(until=dt.date(2025, 12, 31)),                      # everything: no where at all
    Filters(until=dt.date(2025, 6, 30)),                       # about half: filtered here
    Filters(since=dt.date(2025, 3, 1), until=dt.date(2025, 9, 1)),
    Filters(since=dt.date(2025, 2, 1), until=dt.date(2025, 2, 20)),  # narrow: filtered here
    Filters(since=dt.date(2025, 2, 3), until=dt.date(2025, 2, 3)),   # 1 in 100: Chroma's where
    Filters(until=dt.date(2025, 6, 30), outlets=("south.test",)),   # too few left: falls back
    Filters(until=dt.date(2025, 12, 31), exclude_articles=("x",)),
])
def test_dense_search_returns_the_nearest_allowed_chunks(store, filters):
    vector = HashingEmbeddings().embed_query("chess final word3 word17 word30")
    got = store.dense_search(vector, 8, filters)
    assert [p.score for p in got] == pytest.approx(_exact_scores(store, vector, 8, filters), abs=1e-5)
    assert all(filters.since is None or p.published >= filters.since for p in got)


def test_only_a_very_narrow_filter_reaches_chroma_as_a_where(store, monkeypatch):
    seen = []
    query = store._collection.query
    monkeypatch.setattr(store._collection, "query",
                        lambda **kw: seen.append(kw.get("where")) or query(**kw))
    vector = HashingEmbeddings().embed_query("volcano ash")
    store.dense_search(vector, 5, Filters(until=dt.date(2025, 12, 31)))
    store.dense_search(vector, 5, Filters(since=dt.date(2025, 2, 1), until=dt.date(2025, 2, 20)))
    store.dense_search(vector, 1, Filters(since=dt.date(2025, 2, 3), until=dt.date(2025, 2, 3)))
    assert seen[:2] == [None, None] and seen[2] is not None
    assert store.dense_search(vector, 5, Filters(until=dt.date(2024, 1, 1))) == []



def test_vectors_are_the_stored_embeddings_of_the_chunks_asked_for(store):
    got = store._collection.get(limit=3, include=["embeddings"])
    vectors = store.vectors([*got["ids"], "no-such-chunk"])
    assert np.allclose(sorted(map(tuple, vectors)), sorted(map(tuple, got["embeddings"])))
    assert len(vectors) == 3
    assert store.vectors([]) == []


def test_term_rarity_is_higher_for_a_word_in_fewer_chunks(store):
    rarity = store.term_rarity(["news", "chess", "volcano", "zzzunseen"])
    assert rarity["news"] < rarity["chess"] < rarity["zzzunseen"]
    assert rarity["chess"] == pytest.approx(rarity["volcano"])  # each in a fifth of the stories
    assert store.term_rarity([]) == {}

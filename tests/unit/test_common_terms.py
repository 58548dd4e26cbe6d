import datetime as dt
import sqlite3

from assistant.types import Filters
from index.common_terms import CommonTerms


def _index(texts):
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE chunks_fts USING fts5(body, tokenize='porter unicode61')")
    db.executemany("INSERT INTO chunks_fts(body) VALUES (?)", [(t,) for t in texts])
    return db


TEXTS = [f"Police said the election was {'calm' if i < 15 else 'tense'} in town {i}." for i in range(18)] + [
    "Police arrested a pony thief.",
    "The elected mayor keeps ponies.",
]


def test_counts_use_the_index_own_stems():
    common = CommonTerms(_index(TEXTS), "chunks_fts", "porter unicode61")
    # "elections" and "elected" share the porter stem "elect", as "ponies" and "pony" do.
    assert common.document_counts(["elections", "ponies", "police", "zebra"]) == [19, 2, 19, 0]


def test_common_words_are_left_out_but_the_rarest_stay():
    common = CommonTerms(_index(TEXTS), "chunks_fts", "porter unicode61")
    assert common.selective(["police", "ponies", "mayor"], 20, 0.5) == ["ponies", "mayor"]
    # Only common words: the two rarest still search.
    assert common.selective(["police", "calm", "town"], 20, 0.5) == ["calm", "town"]
    assert common.selective(["police", "ponies"], 20, 0.5) == ["police", "ponies"]
    assert common.selective(["police", "ponies", "mayor"], 20, 0.0) == ["police", "ponies", "mayor"]


def test_store_search_without_common_words_still_finds_the_rare_one(make_assistant, tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    for i, text in enumerate(TEXTS):
        (folder / f"{i}.txt").write_text(
            f"<TITLE>Town report {i}</TITLE><PUBLISHED_DATE>2025-01-{i + 1:02d}</PUBLISHED_DATE>"
            f"<URL>https://town.test/{i}</URL><CONTENT>{text}</CONTENT>"
        )
    a = make_assistant(lexical_common_share=0.3)
    a.ingest([folder])
    everything = Filters(until=dt.date(2025, 2, 1))
    got = a.store.lexical_search("Did police find the pony thief in town?", 3, everything)
    assert got[0].url == "https://town.test/18"
    assert a.store._common.selective(["police", "town", "thief", "pony"], 20, 0.3) == ["thief", "pony"]

import datetime as dt
import threading
from dataclasses import replace

import pytest

from assistant.errors import IndexUnavailableError
from assistant.retrieval import collapse_duplicates, join_by_article, recency_boost, rrf_fuse
from assistant.types import Filters, Passage


def _p(cid, text="text", article=None, day=None, url=None, score=0.0):
    article = article or cid.split(":")[0]
    return Passage(cid, article, text, f"title {article}", url or f"https://{article}.test/",
                   f"{article}.test", day, score=score)


def test_rrf_puts_passages_found_by_both_rankers_first():
    a, b, c, d = _p("a:0"), _p("b:0"), _p("c:0"), _p("d:0")
    fused = rrf_fuse([[a, b, c], [a, c, d]])
    assert [p.chunk_id for p in fused] == ["a:0", "c:0", "b:0", "d:0"]
    assert fused[0].score > fused[1].score > fused[2].score > fused[3].score


def test_near_duplicates_collapse_and_list_the_other_outlets():
    story = "The ceasefire between Israel and Hamas took effect on Sunday morning after delays."
    wire = _p("a:0", story)
    copy = _p("b:0", "AP: " + story + " More to follow.")
    other = _p("c:0", "A different story about the chess championship in Singapore.")
    kept = collapse_duplicates([wire, copy, other])
    assert [p.chunk_id for p in kept] == ["a:0", "c:0"]
    assert kept[0].also_reporting == (("title b", "b.test", "https://b.test/"),)


def test_one_article_fills_at_most_two_places():
    chunks = [_p(f"a:{i}", f"distinct passage number {i} " * 3, article="a") for i in range(4)]
    kept = collapse_duplicates([*chunks, _p("b:0", "other words entirely")], per_article=2)
    assert [p.chunk_id for p in kept] == ["a:0", "a:1", "b:0"]


def test_recency_prefers_newer_among_equals():
    as_of = dt.date(2025, 3, 1)
    assert recency_boost(as_of, as_of, 0.1) > recency_boost(dt.date(2025, 1, 1), as_of, 0.1) > 1.0
    assert recency_boost(None, as_of, 0.5) == 1.0


def test_hybrid_retrieval_over_an_index(make_assistant, corpus):
    from assistant.retrieval import HybridRetriever

    a = make_assistant()
    a.ingest([corpus])
    r = HybridRetriever(a.store, a.embeddings)
    got = r.retrieve("How much gas could Russia supply to Iran?", k=5, as_of=dt.date(2025, 2, 1))
    assert got.passages[0].article_id == "0db93cbb78d26b32"
    assert got.window is None
    # Never an article published after as_of:
    early = r.retrieve("Russia Iran gas treaty", k=5, as_of=dt.date(2025, 1, 10))
    assert all(p.published <= dt.date(2025, 1, 10) for p in early.passages)
    # Time words become a window, which the Retrieval reports:
    week = r.retrieve("Which city started a congestion toll this week?", k=3,
                      as_of=dt.date(2025, 1, 8))
    assert week.window is not None and week.window.end == dt.date(2025, 1, 8)
    assert week.passages[0].url.endswith("congestion-pricing-begins")
    # A window that finds nothing falls back to no window:
    none = r.retrieve("chess champion in 1990", k=3, as_of=dt.date(2025, 1, 8))
    assert none.window is None and any("Gukesh" in p.text for p in none.passages)
    outlet = r.retrieve("bakery award", k=3, as_of=dt.date(2025, 3, 1),
                        filters=Filters(outlets=("towncrier.example.com",)))
    assert outlet.passages and {p.outlet for p in outlet.passages} == {"towncrier.example.com"}


def test_chunks_per_source_setting_joins_each_articles_chunks(make_assistant, corpus):
    question, as_of = "Russia Iran gas treaty pipeline supply", dt.date(2025, 2, 1)
    a = make_assistant(chunks_per_source=3)
    a.ingest([corpus])
    joined = a.answer(question, as_of=as_of).passages
    ids = [p.article_id for p in joined]
    assert len(ids) == len(set(ids)) and any(len(p.chunk_ids) > 1 for p in joined)
    b = make_assistant()
    b.ingest([corpus])
    ids = [p.article_id for p in b.answer(question, as_of=as_of).passages]
    assert len(ids) > len(set(ids))  # by default chunks are sources: two of one article


def _chunk(article, i, text, start, kind="content", score=0.0):
    return replace(_p(f"{article}:{i}", text, article=article, score=score), kind=kind,
                   start=start, end=start + len(text))


def test_chunks_of_one_article_join_in_text_order_in_the_place_of_the_best():
    article = "Gas deal signed. Russia could supply 55 billion cubic metres a year. Iran agreed."
    later = _chunk("a", 1, article[17:], 17, score=0.9)  # overlaps the first from 17 to 30
    first = _chunk("a", 0, article[:30], 0, score=0.5)
    summary = _chunk("a", 2, "Russia and Iran sign gas deal.", 0, kind="summary", score=0.2)
    other = _chunk("b", 0, "Another story.", 0, score=0.7)
    joined = join_by_article([later, other, first, summary])
    assert [p.article_id for p in joined] == ["a", "b"]
    assert joined[0].text == "Russia and Iran sign gas deal. ... " + article
    assert joined[0].chunk_ids == ("a:2", "a:0", "a:1")
    assert (joined[0].chunk_id, joined[0].score) == ("a:1", 0.9)  # placed and scored as its best
    assert joined[1] == other


def test_joined_chunks_that_do_not_touch_are_marked_as_a_gap():
    text = "First paragraph here. " + "Middle. " * 20 + "Last paragraph there."
    head, tail = _chunk("a", 0, text[:22], 0), _chunk("a", 5, text[-21:], len(text) - 21)
    [joined] = join_by_article([tail, head])
    assert joined.text == "First paragraph here. ... Last paragraph there."
    assert (joined.start, joined.end) == (0, len(text))


def test_joined_passage_lists_every_outlet_reporting_any_of_its_chunks_once():
    also = ("t", "c.test", "https://c.test/")
    parts = [replace(_chunk("a", i, f"part {i}", 10 * i), also_reporting=(also,)) for i in range(2)]
    [joined] = join_by_article(parts)
    assert joined.also_reporting == (also,)


class _MeetingStore:
    """A store whose searches wait for each other: they only return if they run at once."""

    def __init__(self, parties, fail=None):
        self.barrier, self.fail = threading.Barrier(parties, timeout=5), fail

    def _meet(self, kind):
        self.barrier.wait()
        if kind == self.fail:
            raise IndexUnavailableError("index away: start it again")
        return [_p(f"{kind}:0", f"{kind} passage", day=dt.date(2025, 1, 1))]

    def dense_search(self, vector, k, filters):
        return self._meet("dense")

    def lexical_search(self, query, k, filters):
        return self._meet("lexical")


class _OneVector:
    def embed_query(self, text):
        return [1.0, 0.0]


def test_dense_and_lexical_search_run_at_once():
    from assistant.retrieval import HybridRetriever

    got = HybridRetriever(_MeetingStore(2), _OneVector()).retrieve("gas", k=5, as_of=dt.date(2025, 2, 1))
    assert {p.chunk_id for p in got.passages} == {"dense:0", "lexical:0"}
    # With a time window, both searches inside it run at the same time as well.
    week = HybridRetriever(_MeetingStore(4), _OneVector()).retrieve(
        "gas this week", k=5, as_of=dt.date(2025, 1, 3))
    assert week.window is not None and len(week.passages) == 2


def test_a_failing_search_fails_the_retrieval_with_its_own_error():
    from assistant.retrieval import HybridRetriever

    r = HybridRetriever(_MeetingStore(2, fail="lexical"), _OneVector())
    with pytest.raises(IndexUnavailableError, match="start it again"):
        r.retrieve("gas", k=5, as_of=dt.date(2025, 2, 1))


class _QueriesSeen:
    def __init__(self):
        self.dense, self.lexical = [], []

    def embed_query(self, text):
        self.dense.append(text)
        return [1.0, 0.0]

    def dense_search(self, vector, k, filters):
        return []

    def lexical_search(self, query, k, filters):
        self.lexical.append(query)
        return []


@pytest.mark.parametrize("strip_dense, dense_query", [
    (False, "Which app went offline this week?"), (True, "Which app went offline?"),
])
def test_time_words_leave_the_lexical_query_and_optionally_the_dense_one(strip_dense, dense_query):
    from assistant.retrieval import HybridRetriever

    seen = _QueriesSeen()
    HybridRetriever(seen, seen, strip_dense=strip_dense).retrieve(
        "Which app went offline this week?", k=5, as_of=dt.date(2025, 1, 20))
    assert seen.dense == [dense_query]
    assert set(seen.lexical) == {"Which app went offline?"}


class _FeedbackStore:
    """Dense search answers the question's vector with the story's headline chunk, and only
    a vector moved towards that chunk with the story's other chunk, worded unlike the question."""

    def __init__(self):
        self.dense_vectors = []

    def dense_search(self, vector, k, filters):
        self.dense_vectors.append(list(vector))
        found = [_p("head", "Pipeline deal signed", day=dt.date(2025, 1, 1))]
        if vector[1] > 0:
            found.append(_p("body", "55 billion cubic metres a year", day=dt.date(2025, 1, 1)))
        return found

    def lexical_search(self, query, k, filters):
        return []

    def vectors(self, chunk_ids):
        return [[0.0, 1.0]] if "head" in chunk_ids else []


@pytest.mark.parametrize("feedback, found", [(0, ["head"]), (1, ["head", "body"])])
def test_feedback_moves_the_dense_query_towards_the_first_passages(feedback, found):
    from assistant.retrieval import HybridRetriever

    store = _FeedbackStore()
    got = HybridRetriever(store, _OneVector(), feedback=feedback).retrieve(
        "How much gas?", k=5, as_of=dt.date(2025, 2, 1))
    assert [p.chunk_id for p in got.passages] == found
    if feedback:  # halfway between the question [1, 0] and the passage [0, 1], unit length
        assert store.dense_vectors[-1] == pytest.approx([2 ** -0.5, 2 ** -0.5])


class _TermStore:
    """BM25 finds the story's second passage only when asked for a word of its first."""

    def __init__(self):
        self.lexical = []

    def dense_search(self, vector, k, filters):
        return []

    def lexical_search(self, query, k, filters):
        self.lexical.append(query)
        found = [_p("head", "Gazprom pipeline to Iran agreed, Gazprom says", day=dt.date(2025, 1, 1))]
        if "gazprom" in query:
            found.append(_p("body", "Gazprom could supply 55 billion", day=dt.date(2025, 1, 1)))
        return found

    def term_rarity(self, words):
        return {w: (5.0 if w == "gazprom" else 1.0) for w in words}


def test_bm25_feedback_searches_again_with_the_rarest_words_of_the_first_passages():
    from assistant.retrieval import HybridRetriever

    store = _TermStore()
    got = HybridRetriever(store, _OneVector(), feedback=1, feedback_dense=False,
                          feedback_terms=1).retrieve("How much pipeline gas?", k=5,
                                                     as_of=dt.date(2025, 2, 1))
    assert store.lexical == ["How much pipeline gas?", "How much pipeline gas? gazprom"]
    assert [p.chunk_id for p in got.passages] == ["head", "body"]


class _DatedStore:
    """Both searches rank an old story above a recent one; a filter hides what it excludes."""

    def __init__(self):
        self.stories = [_p("old:0", "old story", day=dt.date(2024, 6, 1)),
                        _p("new:0", "new story", day=dt.date(2025, 1, 28))]
        self.since = []

    def _search(self, filters):
        self.since.append(filters.since)
        return [p for p in self.stories if filters.since is None or p.published >= filters.since]

    def dense_search(self, vector, k, filters):
        return self._search(filters)

    def lexical_search(self, query, k, filters):
        return self._search(filters)


def test_the_last_days_can_be_searched_again_and_fused_in():
    from assistant.retrieval import HybridRetriever

    as_of = dt.date(2025, 2, 1)
    # No recency prior, so that only the second search can lift the recent story:
    plain = HybridRetriever(_DatedStore(), _OneVector(), base_recency=0.0)
    store = _DatedStore()
    def order(retriever, question="story"):
        return [p.chunk_id for p in retriever.retrieve(question, k=2, as_of=as_of).passages]

    assert order(plain) == ["old:0", "new:0"]
    recent = HybridRetriever(store, _OneVector(), base_recency=0.0, recent_days=30,
                             recent_weight=1.0)
    assert order(recent) == ["new:0", "old:0"]
    month_ago = as_of - dt.timedelta(days=30)
    assert sorted(store.since, key=str) == [month_ago, month_ago, None, None]
    # A question with its own time words searches its window instead:
    store.since.clear()
    order(recent, "story this week")
    assert month_ago not in store.since


class _SplitStore:
    """Dense search and BM25 each rank the other's first story second."""

    def dense_search(self, vector, k, filters):
        return [_p("dense:0"), _p("lexical:0")]

    def lexical_search(self, query, k, filters):
        return [_p("lexical:0"), _p("dense:0")]


@pytest.mark.parametrize(("lexical_weight", "first"), [(0.5, "dense:0"), (2.0, "lexical:0")])
def test_bm25s_weight_in_the_fusion_decides_between_the_two_searches(lexical_weight, first):
    from assistant.retrieval import HybridRetriever

    r = HybridRetriever(_SplitStore(), _OneVector(), base_recency=0.0,
                        lexical_weight=lexical_weight)
    got = r.retrieve("story", k=3, as_of=dt.date(2025, 2, 1))
    assert got.passages[0].chunk_id == first


@pytest.mark.parametrize(("recency", "first"), [(0.0, "old:0"), (0.1, "new:0")])
def test_the_recency_setting_decides_between_an_old_and_a_recent_story(recency, first):
    from assistant.retrieval import HybridRetriever
    from assistant.settings import Settings

    r = HybridRetriever.from_settings(_DatedStore(), _OneVector(),
                                      Settings(retrieval_recency=recency))
    got = r.retrieve("story", k=2, as_of=dt.date(2025, 2, 1))
    assert got.passages[0].chunk_id == first

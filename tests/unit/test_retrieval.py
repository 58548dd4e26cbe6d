import datetime as dt

from assistant.retrieval import collapse_duplicates, recency_boost, rrf_fuse
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

"""The checks an answer passes after the model wrote it: citations, sources, support, dates.

Pure functions of the reply, the question and the passages the model was shown, so the
same checks judge a live answer (``assistant.chain``), each passage read alone
(``assistant.reading``) and replies kept by the benchmark scripts.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import NamedTuple

from assistant.terms import content_terms, term_stems
from assistant.types import Citation, DateWindow, Passage

__all__ = [
    "REFUSAL", "CITATION", "Reviewed", "is_refusal", "parse_citations", "attribute",
    "added_words", "coverage", "support", "stale", "predates", "cite_at_end", "review",
]

REFUSAL = "The articles don't say."
# How long before a question's date window a source may be published and still count as
# from it: a story is often reported, or previewed, a few days before the week it is
# asked about. Set once, a week, not fitted to any evaluation set.
_WINDOW_SLACK = dt.timedelta(days=7)
_SOURCES = frozenset({"article", "articles", "passage", "passages", "source", "sources"})
# "The article states that ...", "according to the passages": talk about the sources, which
# claims nothing. Only after a source noun, so "the United States" keeps its "states".
_ABOUT_SOURCES = re.compile(
    r"\b(?:articles?|passages?|sources?)\s+(?:states?|stated|mentions?|mentioned|says?|said"
    r"|reports?|reported|notes?|noted)\b|\baccording to\b",
    re.IGNORECASE,
)
CITATION = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_REFUSAL = re.compile(
    r"articles? (?:do(?:es)?n[o'’]?t|do not|does not) (?:say|mention|contain|specify|state)"
    r"|(?:passages?|articles?|context) (?:do(?:es)?n[o'’]?t|do not|does not) (?:provide|contain|include|say|mention)"
    r"|no (?:information|mention)|not (?:mentioned|provided|specified|stated) in"
    r"|cannot (?:find|determine|answer)|can't (?:find|determine|answer)|unable to (?:find|determine|answer)",
    re.IGNORECASE,
)


def is_refusal(text: str) -> bool:
    """True when an answer says the articles do not contain the answer."""
    return bool(_REFUSAL.search(text))


def parse_citations(text: str, passages: Sequence[Passage]) -> tuple[str, tuple[Citation, ...]]:
    """Keep the [n] markers that point to a passage, drop the rest; list the cited ones."""
    cited: list[int] = []

    def keep_valid(match: re.Match) -> str:
        numbers = [int(n) for n in match.group(1).split(",")]
        valid = [n for n in numbers if 1 <= n <= len(passages)]
        cited.extend(n for n in valid if n not in cited)
        return "".join(f"[{n}]" for n in valid)

    cleaned = CITATION.sub(keep_valid, text)
    cleaned = re.sub(r"[ \t]+([.,;:!?])", r"\1", re.sub(r"[ \t]{2,}", " ", cleaned)).strip()
    citations = tuple(
        Citation(
            n=n,
            title=passages[n - 1].title,
            url=passages[n - 1].url,
            outlet=passages[n - 1].outlet,
            published_date=passages[n - 1].published,
            passage=passages[n - 1].text,
            score=passages[n - 1].score,
            article_id=passages[n - 1].article_id,
        )
        for n in sorted(cited)
    )
    return cleaned, citations


def attribute(
    text: str, passages: Sequence[Passage], question: str = "", threshold: float = 0.6
) -> int | None:
    """The passage an uncited answer comes from: the one holding most of its words.

    Small models often answer right but forget the [n]; a claim that is checked against
    the passages and found there can still point to its article. Only the words the answer
    adds to the question are checked ("BP announced plans to cut 4,700 jobs in recent
    weeks" is about "BP"), unless it adds none. None when no passage holds at least
    ``threshold`` of them.
    """
    claim = " ".join(added_words(text, question) or content_terms(text))
    best, best_share = None, threshold
    for n, passage in enumerate(passages, start=1):
        share = coverage(claim, passage)
        if share >= best_share and (best is None or share > best_share):
            best, best_share = n, share
    return best


def added_words(answer: str, question: str) -> list[str]:
    """The content words of an answer that the question does not already hold.

    Words about the sources themselves ("the article states") claim nothing.
    """
    asked = set(content_terms(question)) | _SOURCES
    claim = _ABOUT_SOURCES.sub(" ", CITATION.sub(" ", answer))
    return [w for w in content_terms(claim) if w not in asked]


def coverage(text: str, passage: Passage) -> float:
    """Share of the content words of ``text`` in the passage as the model read it.

    Words match by their first letters (``term_stems``): a passage about an "eruption"
    is about a question's "erupting" volcano.
    """
    words = term_stems(text)
    if not words:
        return 0.0
    # The header too (title, outlet, date): a small model sometimes answers by quoting it.
    published = passage.published.isoformat() if passage.published else ""
    seen = term_stems(f"{passage.title} {passage.outlet} {published} {passage.text}")
    return len(words & seen) / len(words)


def support(question: str, citations: Sequence[Citation], passages: Sequence[Passage]) -> float:
    """How much of the question the cited passages are about (0..1).

    An answer whose sources share few of the question's words answers something else: a
    small model, shown passages near the topic but without the answer, tends to do that.
    """
    return max((coverage(question, passages[c.n - 1]) for c in citations), default=0.0)


class Reviewed(NamedTuple):
    text: str
    citations: tuple[Citation, ...]
    refused: bool
    attributed: bool
    support: float


def stale(citations: Sequence[Citation], window: DateWindow | None) -> bool:
    """True when every cited source is dated well before the question's date window.

    "Which company topped $5 trillion this week?" answered from a July article ("Nvidia,
    the first $4 trillion company") is not an answer from this week's articles, even when
    the name happens to be right. A source without a date is given the benefit of the doubt.
    """
    return bool(citations) and all(predates(c.published_date, window) for c in citations)


def predates(published: dt.date | None, window: DateWindow | None) -> bool:
    """True for a source dated well before the question's date window (:func:`stale`)."""
    if window is None or window.start is None or published is None:
        return False
    return published < window.start - _WINDOW_SLACK


def cite_at_end(text: str, numbers: Sequence[int]) -> str:
    """``text`` with the markers [n] of ``numbers`` before its closing punctuation."""
    marks = "".join(f"[{n}]" for n in numbers)
    return re.sub(r"([.!?]?)\s*$", lambda m: f" {marks}{m.group(1)}", text, count=1)


def review(
    reply: str, question: str, shown: Sequence[Passage], *, min_support: float, unsourced: str,
    window: DateWindow | None = None,
) -> Reviewed:
    """The model's reply checked against the passages it was shown, as people will see it.

    Citations pointing nowhere are dropped; an uncited answer is traced to the passage that
    holds it; an answer that adds nothing to the question, whose sources are about
    something else (``min_support``) or all older than the question's date ``window``
    (:func:`stale`), or (with ``unsourced="refuse"``) that no passage holds, becomes "the
    articles don't say".
    """
    text, citations = parse_citations(reply, shown)
    refused = is_refusal(text) or not text
    if not refused and not added_words(text, question):
        # "[3]" alone, or the question said back as a sentence: nothing was answered.
        return Reviewed(REFUSAL, (), True, False, 0.0)
    attributed = False
    if not citations and not refused:
        n = attribute(text, shown, question)
        if n is not None:
            text, citations = parse_citations(cite_at_end(text, [n]), shown)
            attributed = True
    backing = support(question, citations, shown)
    if citations and not refused and (backing < min_support or stale(citations, window)):
        # The sources are about something else: say so rather than pass it off.
        text, citations, refused = REFUSAL, (), True
    if not citations and not refused and unsourced == "refuse":
        # Neither cited nor found in any passage: not an answer from the articles.
        text, refused = REFUSAL, True
    return Reviewed(text or REFUSAL, citations, refused, attributed, backing)

"""The words of a text that carry its meaning, for BM25 queries and answer checks."""

from __future__ import annotations

import re

__all__ = ["STOPWORDS", "content_terms", "term_stems"]

# Words that match nearly every passage: they slow FTS5 down and say nothing about a topic.
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    out over own same she should so some such than that the their theirs them then there these
    they this those through to too under until up very was we were what when where which while
    who whom why will with would you your yours what's which's who's according said says say
    new recent recently latest week month year today yesterday""".split()
)
_TERM = re.compile(r"\w+", re.UNICODE)


def content_terms(text: str) -> list[str]:
    """Lower-cased words of ``text`` without stopwords, in order, repeats kept."""
    return [t for t in _TERM.findall(text.lower()) if t not in STOPWORDS]


def term_stems(text: str) -> frozenset[str]:
    """The first five letters of each content word of ``text``.

    A prefix is enough to match "erupting"/"eruption" or "election"/"elected" across a
    question, an answer and a passage, and it needs no stemmer's tables.
    """
    return frozenset(t[:5] for t in content_terms(text))

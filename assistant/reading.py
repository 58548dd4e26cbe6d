"""Each passage read alone, and one answer chosen from what they say (``ASSISTANT_READING=each``).

Shown five passages at once, the bundled 0.5B model often answers from the wrong one.
Shown one at a time (``prompts/read_*.md``: the answer's words alone, not a sentence), it
says what each passage says; the answer is then chosen among those replies, not by the
model:

1. A passage that could not back an answer anyway (about something else: under
   ``min_support`` of the question's words; or dated well before the question's window)
   is not read at all.
2. Each reply is checked against the passage it came from: a refusal, the question said
   back, or words that passage does not hold, are no answer.
3. Replies that name the same thing form a group. A group weighs the recency of its
   sources (``recency_weight``: 1 for a source of the question's day, 1/e for one
   ``recency_days`` older): news questions ask about the latest, and an answer several
   recent sources agree on beats one from a single old article. A group weighing under
   ``min_weight`` is too old or too thin, unless ``min_sources`` distinct articles give it
   (two reports saying the same thing are rarely both mistaken, however old). A reply
   whose answer is in its own source's headline counts 1 + ``headline`` times as much: a
   headline states the story's main fact, while a small model often picks another name
   from the passage. A reply counts less, down to 1 - ``nearness`` times, when its answer
   stands apart from the question's other words in its passage: who gave the longest
   acceptance speech is named in the sentence about the speech, not in an aside about
   the film's producer. The heaviest group that passes is the answer, cited to all its
   sources; with none, the answer is "the articles don't say". The reply's words are
   given as its passage writes them, a clipped name or number completed there
   (``assistant.answer_span``).

Passages are read most recent first, and reading stops once the passages left could not
change the outcome. Measured in BENCHMARKS.md, "Each passage read alone".
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from assistant.answer_span import complete_span
from assistant.checks import (
    CITATION,
    REFUSAL,
    Reviewed,
    added_words,
    cite_at_end,
    coverage,
    is_refusal,
    parse_citations,
    predates,
)
from assistant.terms import term_stems
from assistant.types import DateWindow, Passage
from index.chunking import split_segments

__all__ = [
    "Reading", "ReadingRule", "worth_reading", "recency_weight", "reading_order",
    "read_in_turn", "choose", "settled", "near_question",
]

# Share of an answer's own words its passage must hold (the rest may be the model's
# glue: "ends", "announced"). Set once, not fitted to an evaluation set.
_GROUNDED = 0.5
# Two answers name the same thing when half the words of the shorter are in the other.
_AGREE = 0.5


@dataclass(frozen=True)
class ReadingRule:
    """How replies become an answer: sources lose weight by 1/e every ``days`` before the
    reference day, and an answer passes when its sources weigh ``min_weight`` in all, or
    when ``min_sources`` distinct articles give it (0: weight alone decides). Among the
    answers that pass, a reply whose answer its own source headlines counts 1 +
    ``headline`` times its source's weight (0: headlines count for nothing extra), and a
    reply counts 1 - ``nearness`` + ``nearness`` times the share of the question's other
    words that sit near its answer in its source (0: nearness counts for nothing)."""

    days: float
    min_weight: float
    min_sources: int
    headline: float = 0.0
    nearness: float = 0.0

    @classmethod
    def from_settings(cls, settings) -> ReadingRule:
        return cls(settings.reading_recency_days, settings.reading_min_weight,
                   settings.reading_min_sources, settings.reading_headline,
                   settings.reading_nearness)

    def counts(self, passage: Passage, stems: frozenset, question: str) -> float:
        """What a reply counts for in choosing among answers, in times its source's
        recency: more when its answer (word stems ``stems``) is in that source's headline,
        less when it stands apart from the question's words there."""
        counted = 1 + self.headline if _in_headline(stems, passage) else 1.0
        if self.nearness:
            counted *= 1 - self.nearness + self.nearness * near_question(question, passage, stems)
        return counted

    @property
    def most(self) -> float:
        """The most any reply counts for, in times its recency."""
        return 1 + self.headline


@dataclass(frozen=True)
class Reading:
    """What the model replied to one passage, read alone. ``n``: its number (1-based rank)."""

    n: int
    passage: Passage
    reply: str


def worth_reading(
    question: str, passage: Passage, *, min_support: float, window: DateWindow | None
) -> bool:
    """False for a passage whose answer the checks would refuse whatever it says."""
    if coverage(question, passage) < min_support:
        return False
    return not predates(passage.published, window)


def recency_weight(published: dt.date | None, reference: dt.date, days: float) -> float:
    """1 for a source of the ``reference`` day or later, falling by 1/e every ``days``.

    An undated source counts as a year old: kept, but never the reason to answer.
    """
    age = (reference - published).days if published else 365
    return math.exp(-max(age, 0) / days)


def reading_order(
    passages: Sequence[Passage], reference: dt.date, days: float
) -> list[int]:
    """Indexes of ``passages``, most recent first (the better rank first among equals)."""
    return sorted(range(len(passages)),
                  key=lambda i: (-recency_weight(passages[i].published, reference, days), i))


@dataclass
class _Group:
    members: list[tuple[Reading, str, frozenset]]
    weight: float  # what the group counts for against the others (headlines included)
    recency: float  # its sources' recency alone: whether it may be the answer at all

    @property
    def sources(self) -> int:
        """How many distinct articles give this answer."""
        return len({reading.passage.article_id for reading, *_ in self.members})

    def passes(self, rule: ReadingRule) -> bool:
        return self.recency >= rule.min_weight or 0 < rule.min_sources <= self.sources


def _candidate(reading: Reading, question: str) -> tuple[str, frozenset] | None:
    """The reply as an answer, with its own words' stems; None when it answers nothing."""
    text = re.sub(r"\s+", " ", CITATION.sub(" ", reading.reply)).strip()
    if not text or is_refusal(text):
        return None
    claim = " ".join(added_words(text, question))
    if not claim or coverage(claim, reading.passage) < _GROUNDED:
        return None
    return text, frozenset(term_stems(claim))


def near_question(question: str, passage: Passage, stems: frozenset) -> float:
    """The largest share of the question's other words found in a sentence of ``passage``
    that holds the answer (word stems ``stems``: half of them at least), or in the sentence
    either side of it; 0 when no sentence holds it, 1 when there is nothing to compare."""
    asked = term_stems(question) - stems
    if not asked or not stems:
        return 1.0
    text = passage.text
    sentences = [term_stems(text[a:b]) for a, b in split_segments(text)]
    best = 0.0
    for i, words in enumerate(sentences):
        if _holds(words, stems):
            near = frozenset().union(*sentences[max(0, i - 1) : i + 2])
            best = max(best, len(asked & near) / len(asked))
    return best


def _holds(words: frozenset, stems: frozenset) -> bool:
    """Whether ``words`` hold the answer whose word stems are ``stems`` (half at least)."""
    return bool(stems) and len(stems & words) / len(stems) >= _AGREE


def _in_headline(stems: frozenset, passage: Passage) -> bool:
    return _holds(term_stems(passage.title), stems)


def _agree(a: frozenset, b: frozenset) -> bool:
    return bool(a and b) and len(a & b) / min(len(a), len(b)) >= _AGREE


def _groups(
    readings: Iterable[Reading], question: str, reference: dt.date, rule: ReadingRule
) -> list[_Group]:
    groups: list[_Group] = []
    for reading in sorted(readings, key=lambda r: r.n):
        found = _candidate(reading, question)
        if found is None:
            continue
        text, stems = found
        recency = recency_weight(reading.passage.published, reference, rule.days)
        weight = recency * rule.counts(reading.passage, stems, question)
        group = next((g for g in groups if _agree(g.members[0][2], stems)), None)
        if group is None:
            groups.append(_Group([(reading, text, stems)], weight, recency))
        else:
            group.members.append((reading, text, stems))
            group.weight += weight
            group.recency += recency
    return sorted(groups, key=lambda g: (-g.weight, g.members[0][0].n))


def _winner(groups: Sequence[_Group], rule: ReadingRule) -> _Group | None:
    """The heaviest group that passes: the answer, as :func:`choose` gives it."""
    return next((g for g in groups if g.passes(rule)), None)


def settled(
    readings: Sequence[Reading], unread: Sequence[float], question: str, *,
    reference: dt.date, rule: ReadingRule,
) -> bool:
    """True when the passages left unread, of recency weights ``unread``, could not change
    the outcome."""
    groups = _groups(readings, question, reference, rule)
    left = sum(unread)
    winner = _winner(groups, rule)
    if winner is not None:
        rival = max((g.weight for g in groups if g is not winner), default=0.0)
        # A rival or a new group could still outweigh it.
        return winner.weight - rival > left * rule.most
    best = max((g.recency for g in groups), default=0.0)
    most = max((g.sources for g in groups), default=0)
    # Refused unless some group could still pass: by recency, or by more articles agreeing.
    could_agree = rule.min_sources > 0 and most + len(unread) >= rule.min_sources
    return best + left < rule.min_weight and not could_agree


def read_in_turn(
    passages: Sequence[tuple[int, Passage]], reply_to: Callable[[int], str], question: str, *,
    reference: dt.date, rule: ReadingRule,
) -> list[Reading]:
    """The replies to the numbered ``passages`` in turn (``reply_to(n)`` asks the model about
    passage ``n``), until the passages left could not change the outcome."""
    weights = [recency_weight(passage.published, reference, rule.days) for _, passage in passages]
    readings: list[Reading] = []
    for i, (n, passage) in enumerate(passages):
        readings.append(Reading(n, passage, reply_to(n)))
        if settled(readings, weights[i + 1:], question, reference=reference, rule=rule):
            break
    return readings


def choose(
    readings: Sequence[Reading], question: str, shown: Sequence[Passage], *,
    reference: dt.date, rule: ReadingRule,
) -> Reviewed:
    """The answer of the heaviest group of agreeing replies that passes, as its first reply's
    passage writes it (:func:`complete_span`), cited to all their passages.

    ``shown``: every passage retrieved, which the readings' numbers point into.
    """
    groups = _groups(readings, question, reference, rule)
    winner = _winner(groups, rule)
    if winner is None:
        return Reviewed(REFUSAL, (), True, False, 0.0)
    best = winner.members
    numbers = sorted(reading.n for reading, *_ in best)
    (first, words, _), *_ = best
    text, citations = parse_citations(
        cite_at_end(complete_span(words, first.passage.text), numbers), shown)
    backing = max(coverage(question, reading.passage) for reading, *_ in best)
    return Reviewed(text, citations, False, False, backing)

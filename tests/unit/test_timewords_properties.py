"""Property tests: for any text and any date, resolve answers fast with a sane window."""

from __future__ import annotations

import calendar
import time
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.timewords import resolve, strip_time_words

# A deadline catches a regex that goes quadratic; generous, as the machine is shared.
# No example database: it would be written into the shared working tree.
FAST = settings(
    max_examples=150,
    deadline=1000,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Fragments that exercise every rule, glued together with arbitrary text.
FRAGMENTS = st.sampled_from([
    "today", "yesterday", "this week", "last week", "past week", "this month", "last month",
    "this year", "last year", "next week", "in ", "since ", "during ", "on ", "the last ",
    "past ", "ago", " days", " weeks", " months", " hours", " years", "few", "three", "0",
    "29", "31", "9999", "0001", "2024", "2025-02-29", "-13-40", "May", "march", "Feb.",
    "December", "Monday", "Sunday's", "recently", "latest", "new", "New York", ", ", " ",
    "early ", "the start of ", "USA Today", "\u00a0", "\u017fince", "\u0130",
])
SOUP = st.lists(FRAGMENTS | st.text(max_size=6), max_size=30).map("".join)
ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=300) | SOUP
ANY_DATE = st.dates()  # the whole calendar, 0001-01-01 to 9999-12-31


@FAST
@given(question=ANY_TEXT, as_of=ANY_DATE)
def test_resolve_never_raises_and_never_looks_ahead(question: str, as_of: date) -> None:
    intent = resolve(question, as_of)
    assert 0.0 <= intent.recency <= 1.0
    assert intent.phrase in question
    if intent.window is not None:
        assert intent.window.start is not None and intent.window.end is not None
        assert intent.window.start <= intent.window.end <= as_of
        assert intent.phrase, "a window always comes from some words"


@FAST
@given(question=ANY_TEXT, as_of=ANY_DATE)
def test_strip_time_words_only_shortens(question: str, as_of: date) -> None:
    stripped = strip_time_words(question, resolve(question, as_of))
    assert len(stripped) <= len(question)


@FAST
@given(n=st.integers(min_value=0, max_value=400),
       as_of=st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
def test_past_n_days_covers_exactly_n_days_back(n: int, as_of: date) -> None:
    window = resolve(f"What happened over the past {n} days?", as_of).window
    assert window is not None
    assert (window.start, window.end) == (as_of - timedelta(days=n), as_of)


@FAST
@given(month=st.integers(min_value=1, max_value=12),
       as_of=st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
def test_month_name_is_the_latest_such_month_or_upcoming(month: int, as_of: date) -> None:
    intent = resolve(f"What happened in {calendar.month_name[month]}?", as_of)
    if intent.window is None:
        # Only next month reads as upcoming.
        assert month == as_of.month % 12 + 1 and as_of.month != 12 and intent.recency == 1.0
        return
    start = intent.window.start
    assert start is not None and start.month == month and start.day == 1
    assert 0 <= (as_of - start).days < 366


@FAST
@given(as_of=ANY_DATE)
def test_relative_windows_end_today(as_of: date) -> None:
    phrases = ("this week", "this month", "this year", "the past 2 weeks", "since January 1")
    for phrase in phrases:
        window = resolve(f"What happened {phrase}?", as_of).window
        assert window is not None and window.end == as_of, phrase


def test_long_adversarial_question_is_fast() -> None:
    question = ("since in the last 12 may 2024-01- march 5 on Monday past few " * 400)[:20_000]
    started = time.perf_counter()
    resolve(question, date(2025, 1, 17))
    assert time.perf_counter() - started < 1.0

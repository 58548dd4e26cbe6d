"""The time words of a question resolve to the documented date windows and recency."""

from __future__ import annotations

from datetime import date

import pytest

from assistant.timewords import TimeIntent, resolve, strip_time_words
from assistant.types import DateWindow

D = date.fromisoformat
FRI = "2025-01-17"  # a Friday, the day of a weekly quiz

# (question, as_of, expected window as (start, end) or None, expected recency)
CASES = [
    # today / yesterday, including across a year boundary
    ("What major festival is expected to begin today?", FRI, (FRI, FRI), 0.0),
    ("Who resigned yesterday?", FRI, ("2025-01-16", "2025-01-16"), 0.0),
    ("Who resigned yesterday?", "2025-01-01", ("2024-12-31", "2024-12-31"), 0.0),
    ("What did USA Today report about tariffs?", FRI, None, 0.0),
    # the rolling past week in its many spellings
    ("Which app surged in popularity this week?", FRI, ("2025-01-10", FRI), 0.0),
    ("What happened in the past week?", FRI, ("2025-01-10", FRI), 0.0),
    ("What happened this past week in Gaza?", FRI, ("2025-01-10", FRI), 0.0),
    ("Which storms hit in the last few days?", FRI, ("2025-01-10", FRI), 0.0),
    ("Which golfer won the grand slam last weekend?", FRI, ("2025-01-10", FRI), 0.0),
    ("Which island saw earthquakes in recent days?", FRI, ("2025-01-10", FRI), 0.5),
    # "last week" is lenient: two rolling weeks
    ("What did the Fed decide last week?", FRI, ("2025-01-03", FRI), 0.0),
    # calendar months and years
    ("What will Trump probably do this month?", FRI, ("2025-01-01", FRI), 0.0),
    ("Which stocks fell last month?", "2025-01-03", ("2024-12-01", "2024-12-31"), 0.0),
    ("Which stocks fell last month?", "2025-03-31", ("2025-02-01", "2025-02-28"), 0.0),
    ("Which city debuted a toll program this year?", "2025-03-15",
     ("2025-01-01", "2025-03-15"), 0.0),
    ("Who won the most awards last year?", "2025-01-01", ("2024-01-01", "2024-12-31"), 0.0),
    # month names: the most recent such month not after as_of
    ("What happened in March?", "2025-06-10", ("2025-03-01", "2025-03-31"), 0.0),
    ("What happened in March?", "2025-03-15", ("2025-03-01", "2025-03-15"), 0.0),
    ("Which hurricane struck in December?", "2025-01-10", ("2024-12-01", "2024-12-31"), 0.0),
    ("How many inmates escaped in May?", "2025-10-09", ("2025-05-01", "2025-05-31"), 0.0),
    ("What was announced in March 2024?", "2025-06-10", ("2024-03-01", "2024-03-31"), 0.0),
    ("The March 2024 report said what?", "2025-06-10", ("2024-03-01", "2024-03-31"), 0.0),
    ("What did the court rule in early Sept. 2024?", "2025-06-10",
     ("2024-09-01", "2024-09-30"), 0.0),
    # a month that is next month reads as upcoming: no window, newest first
    ("Which program could be paused in November?", "2025-10-30", None, 1.0),
    # years
    ("Which company was breached in 2024?", "2025-06-10", ("2024-01-01", "2024-12-31"), 0.0),
    ("What changed during 2025?", "2025-06-10", ("2025-01-01", "2025-06-10"), 0.0),
    ("Who will host the Golden Globes in 2026?", "2025-06-10", None, 1.0),
    ("Which country will host the 2026 World Cup?", "2025-06-10", None, 0.0),
    # weekday names are hints for the past week, however they are used
    ("Biden delivered his farewell address Wednesday. Where?", FRI, ("2025-01-10", FRI), 0.5),
    ("US tech stocks plummeted on Monday after what release?", FRI, ("2025-01-10", FRI), 0.5),
    ("Who won Sunday's election in Germany?", FRI, ("2025-01-10", FRI), 0.5),
    ("Which holiday falls on the third Monday of February?", FRI, None, 0.0),
    ("Which retailer had the best Black Friday sales?", FRI, None, 0.0),
    # N units ago, past N units
    ("Which lander touched down 3 days ago?", FRI, ("2025-01-13", "2025-01-15"), 0.0),
    ("What did the senator say two weeks ago?", FRI, ("2024-12-31", "2025-01-06"), 0.0),
    ("Which lander touched down on the moon days ago?", FRI, ("2025-01-10", FRI), 0.0),
    ("Which app was banned 5 hours ago?", FRI, ("2025-01-16", FRI), 0.0),
    ("What fell in the past 3 days?", FRI, ("2025-01-14", FRI), 0.0),
    ("What rose over the last 2 weeks?", FRI, ("2025-01-03", FRI), 0.0),
    ("What doubled in the past six months?", "2025-08-31", ("2025-02-28", "2025-08-31"), 0.0),
    ("What changed in the last year?", "2025-03-15", ("2024-03-15", "2025-03-15"), 0.0),
    # since
    ("What has changed since March?", "2025-06-10", ("2025-03-01", "2025-06-10"), 0.0),
    ("What has changed since May 2024?", "2025-06-10", ("2024-05-01", "2025-06-10"), 0.0),
    ("Who has led since January 5, 2025?", "2025-06-10", ("2025-01-05", "2025-06-10"), 0.0),
    ("What has the index done since last week?", FRI, ("2025-01-03", FRI), 0.0),
    # explicit dates: that day +- 1, never past as_of
    ("What happened on January 5, 2025?", "2025-02-01", ("2025-01-04", "2025-01-06"), 0.0),
    ("What happened on 5 January 2025?", "2025-02-01", ("2025-01-04", "2025-01-06"), 0.0),
    ("What happened on 2025-01-05?", "2025-02-01", ("2025-01-04", "2025-01-06"), 0.0),
    ("What happened on Jan. 17, 2025?", FRI, ("2025-01-16", FRI), 0.0),
    ("What happened on May 5?", "2025-10-09", ("2025-05-04", "2025-05-06"), 0.0),
    # leap years
    ("What did the Fed do last month?", "2024-03-31", ("2024-02-01", "2024-02-29"), 0.0),
    ("What rose in the past month?", "2024-03-31", ("2024-02-29", "2024-03-31"), 0.0),
    ("What happened on February 29?", "2025-03-01", ("2024-02-28", "2024-03-01"), 0.0),
    ("What happened on February 29, 2025?", "2025-06-01", None, 0.0),  # no such day
    ("What happened this year?", "2024-02-29", ("2024-01-01", "2024-02-29"), 0.0),
    # recency words
    ("Which virus was recently detected in dairy cattle?", FRI, None, 0.5),
    ("How many were called up in the latest draft?", FRI, None, 1.0),
    ("What is the most recent unemployment figure?", FRI, None, 1.0),
    ("Which country currently leads the table?", FRI, None, 0.5),
    ("Which city now has the most wine restaurants?", FRI, None, 0.5),
    ("What is the new fee to climb Mount Everest?", FRI, None, 0.5),
    ("Which rocket is newest?", FRI, None, 1.0),
    ("Chipotle is launching a dip next week in which flavor?", FRI, None, 1.0),
    ("The latest class was announced this week. Where?", FRI, ("2025-01-10", FRI), 1.0),
    # words that only look like time words
    ("Which team won the Super Bowl in New Orleans?", FRI, None, 0.0),
    ("Which US currency may be on the way out?", FRI, None, 0.0),
    ("What may happen to the economy?", FRI, None, 0.0),
    ("Thousands of protesters march through Paris. Why?", FRI, None, 0.0),
    ("Protesters march 20 miles to which capital?", FRI, None, 0.0),
    ("Where were the last Olympic games held?", FRI, None, 0.0),
    ("What happened in the last week of June?", FRI, None, 0.0),
    ("Which coin was minted for the last time?", FRI, None, 0.0),
    ("What is the capital of Australia?", FRI, None, 0.0),
]


def _expected(window: tuple[str, str] | None) -> tuple[date, date] | None:
    return None if window is None else (D(window[0]), D(window[1]))


@pytest.mark.parametrize(("question", "as_of", "window", "recency"), CASES,
                         ids=[f"{c[0][:40]}@{c[1]}" for c in CASES])
def test_resolve_table(question: str, as_of: str, window, recency: float) -> None:
    intent = resolve(question, D(as_of))
    got = None if intent.window is None else (intent.window.start, intent.window.end)
    assert got == _expected(window)
    assert intent.recency == recency
    if intent.window is not None:
        assert intent.window.label, "a window says in words what it covers"
        assert intent.phrase and intent.phrase.casefold() in question.casefold()


@pytest.mark.parametrize(
    ("question", "phrase"),
    [
        ("Which app surged in popularity this week?", "this week"),
        ("What happened in March 2024?", "in March 2024"),
        ("Who has led since January 5, 2025?", "since January 5, 2025"),
        ("Biden delivered his address on Wednesday.", "on Wednesday"),
        ("Which virus was recently detected?", "recently"),
        ("What changed in the last year?", "in the last year"),
        ("What is the capital of Australia?", ""),
    ],
)
def test_phrase_is_the_words_that_made_the_intent(question: str, phrase: str) -> None:
    assert resolve(question, D(FRI)).phrase == phrase


def test_relative_words_win_over_absolute_dates() -> None:
    # "2024" names the tax year, "this week" when the news appeared.
    intent = resolve("The IRS began accepting 2024 returns in 2024 filings this week. Why?",
                     D(FRI))
    assert intent.window == DateWindow(D("2025-01-10"), D(FRI), intent.window.label)
    assert intent.phrase == "this week"


def test_explicit_date_wins_over_weekday_hint() -> None:
    intent = resolve("What did he say on Monday, January 6, 2025?", D(FRI))
    assert (intent.window.start, intent.window.end) == (D("2025-01-05"), D("2025-01-07"))


def test_since_phrase_is_not_read_twice() -> None:
    # Without masking, "January 5, 2025" alone would narrow the window to three days.
    intent = resolve("What has happened since January 5, 2025?", D("2025-03-01"))
    assert (intent.window.start, intent.window.end) == (D("2025-01-05"), D("2025-03-01"))


def test_matching_is_case_insensitive() -> None:
    upper = resolve("WHAT HAPPENED THIS WEEK?", D(FRI))
    lower = resolve("what happened this week?", D(FRI))
    assert upper.window == lower.window is not None


def test_strip_time_words_removes_the_phrase() -> None:
    question = "Which social media app surged in popularity this week amid the ban?"
    intent = resolve(question, D(FRI))
    assert strip_time_words(question, intent) == (
        "Which social media app surged in popularity amid the ban?"
    )


def test_strip_time_words_tidies_punctuation() -> None:
    question = "Who won the election in March 2024?"
    assert strip_time_words(question, resolve(question, D("2025-06-01"))) == "Who won the election?"


def test_strip_time_words_without_phrase_keeps_the_question() -> None:
    question = "What is the capital of Australia?"
    assert strip_time_words(question, TimeIntent(None, 0.0, "")) == question


def test_strip_time_words_never_leaves_an_empty_query() -> None:
    assert strip_time_words("Yesterday?", resolve("Yesterday?", D(FRI))) == "Yesterday?"

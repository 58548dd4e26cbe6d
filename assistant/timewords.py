"""Resolve the time words of a question ("this week", "in March", "recently") against "today".

``resolve(question, as_of)`` returns a :class:`TimeIntent`: an inclusive published-date
window (or ``None``), a recency preference and the phrase that produced the window.
Windows never end after ``as_of``; a phrase that only names the future ("next week",
"in 2030") gives no window but the strongest recency preference, since the newest articles
are the ones that talk about what is coming.

Choices the rules leave open, made here on purpose:

* "this week", "past week", "this past week", "last few days", weekends and weekday names
  are the rolling window [as_of - 7, as_of]: weekly quizzes say "this week" about the
  week *before* the question date, and "the Super Bowl on Sunday" may be the next Sunday.
* "last week" is the lenient rolling [as_of - 14, as_of], not the previous calendar week;
  "the last week" / "the last month" / "the last year" (with "the") are rolling periods,
  while bare "last month" / "last year" are the previous calendar month / year.
* Bare weekday names ("delivered his farewell address Wednesday") are hints: the window is
  the past week and recency is 0.5. Ordinal uses ("the third Monday of February") and named
  days ("Black Friday", "Super Tuesday") are not time references.
* An explicit day ("January 5, 2025", "5 January 2025", "2025-01-05") is that day +- 1 day,
  because publication dates lag events and time zones shift them.
* "N days ago" is that day +- 1; "N weeks ago" +- 3 days; "N months ago" +- 15 days.
  Vague counts ("a few days", "days ago", "in recent days") are rolling windows of
  7 days, 3 weeks, 3 months or 3 years.
* A month or day named without a year is the most recent one not after ``as_of``, except
  when it falls within the next month ("in November" asked on October 30): that is read as
  upcoming (no window, recency 1.0), not as a year ago.
* "may" and "march" are months only in month patterns ("in May", "May 2024", "since May",
  "May 5"); as verbs ("what may happen", "protesters march 20 miles") they are ignored.
  "last" needs a unit after it ("the last Olympic games" is no time reference).
* When several phrases match, relative words ("this week", "past 3 days") win over explicit
  dates, which win over months, then years and "since ...", then weekday hints; ties go to
  the earliest phrase. Relative words describe when articles appeared, while absolute dates
  often name when something happened ("the 2020 election", "since 1989").
* Recency is the strongest of: 1.0 for "latest", "newest", "most recent" and upcoming
  phrases; 0.5 for "recently", "current", "now", "new" (not "New York"), weekday hints;
  0.0 otherwise. Other windows carry no recency of their own.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from assistant.types import DateWindow

__all__ = ["TimeIntent", "resolve", "strip_time_words", "LATEST", "RECENT"]

LATEST = 1.0
RECENT = 0.5


@dataclass(frozen=True)
class TimeIntent:
    """What a question says about time: a date window, a recency preference, its phrase."""

    window: DateWindow | None
    recency: float
    phrase: str


@dataclass(frozen=True)
class _Hit:
    rank: int  # lower wins, see the module docstring
    pos: int
    phrase: str
    window: DateWindow | None  # None with recency > 0: the phrase names the future
    recency: float = 0.0


_RELATIVE, _DATE, _MONTH, _YEAR, _HINT = range(5)

# ---------------------------------------------------------------- safe date arithmetic
# Questions and dates can be anything (hypothesis checks that): arithmetic clamps to the
# calendar's ends instead of raising.


def _add_days(day: date, n: int) -> date:
    try:
        return day + timedelta(days=n)
    except OverflowError:
        return date.min if n < 0 else date.max


def _add_months(day: date, n: int) -> date:
    total = day.year * 12 + day.month - 1 + n
    year, month0 = divmod(total, 12)
    if year < date.min.year:
        return date.min
    if year > date.max.year:
        return date.max
    month = month0 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _month_span(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _valid_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _window(start: date, end: date, as_of: date, label: str) -> DateWindow | None:
    end = min(end, as_of)
    return DateWindow(start, end, label) if start <= end else None


def _hit(rank: int, pos: int, phrase: str, start: date, end: date, as_of: date, label: str,
         recency: float = 0.0) -> _Hit:
    """A window hit; one that starts after ``as_of`` names the future, so it is upcoming."""
    if start > as_of:
        return _Hit(rank, pos, phrase, None, LATEST)
    return _Hit(rank, pos, phrase, _window(start, end, as_of, label), recency)


# ---------------------------------------------------------------- vocabulary

_MONTH_NUMBERS = {name: i for i, name in enumerate(calendar.month_name) if name} | {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8,
    "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}
_MONTH_NUMBERS = {k.casefold(): v for k, v in _MONTH_NUMBERS.items()}
_VERB_MONTHS = {"may", "march", "mar"}


def _alternation(words: object) -> str:
    return "|".join(sorted(map(str, words), key=len, reverse=True))


_FULL = _alternation(n.casefold() for n in calendar.month_name if n)
_ANY = _alternation(_MONTH_NUMBERS)
_PLAIN = _alternation(n.casefold() for n in calendar.month_name if n and n.casefold()
                      not in _VERB_MONTHS)
_WEEKDAYS = _alternation(n.casefold() for n in calendar.day_name)

_COUNT_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "fifteen": 15, "twenty": 20, "thirty": 30, "couple of": 2, "a couple of": 2,
}
_VAGUE = {"few", "a few", "several", "some", ""}
# Vague counts per unit ("last few days" = 7 days, as the rules ask).
_VAGUE_COUNT = {"hour": 24, "day": 7, "week": 3, "month": 3, "year": 3, "decade": 2}
_COUNT = r"[0-9]{1,4}|a\s+couple\s+of|couple\s+of|a\s+few|few|several|" + _alternation(
    w for w in _COUNT_WORDS if w not in ("a", "an", "couple of", "a couple of")
)

_I = re.IGNORECASE


def _unit(word: str) -> str:
    return word.casefold().rstrip("s")


def _count(word: str | None, unit: str) -> int | None:
    """Digits or number words; vague quantities map to a per-unit default."""
    key = " ".join((word or "").casefold().split())
    if key.isdigit():
        return int(key)
    if key in _VAGUE:
        return _VAGUE_COUNT[unit]
    return _COUNT_WORDS.get(key)


def _span_label(count: int, unit: str) -> str:
    return f"past {count} {unit}{'' if count == 1 else 's'}"


def _minus(as_of: date, count: int, unit: str) -> date:
    if unit == "hour":
        return _add_days(as_of, -max(1, -(-count // 24)))
    if unit in ("day", "week"):
        return _add_days(as_of, -count * (7 if unit == "week" else 1))
    return _add_months(as_of, -count * {"month": 1, "year": 12, "decade": 120}[unit])


# ---------------------------------------------------------------- relative words

_EARLIER = r"(?:(?:earlier|later)\s+)?"
_TODAY = re.compile(
    r"(?<!usa\s)(?<!psychology\s)\b" + _EARLIER
    + r"(?:today|tonight|this\s+(?:morning|afternoon|evening))\b"
    r"(?!\s+(?:show|programme|program)\b)", _I)
_YESTERDAY = re.compile(r"\byesterday\b", _I)
_LAST_NIGHT = re.compile(r"\blast\s+night\b", _I)
_THIS_WEEK = re.compile(
    r"\b" + _EARLIER + r"(?:this\s+week(?:end)?|(?:(?:this|the)\s+)?(?:past|last)\s+weekend"
    r"|over\s+the\s+weekend)\b", _I)
_THIS_MONTH = re.compile(r"\b" + _EARLIER + r"this\s+month\b", _I)
_THIS_YEAR = re.compile(r"\b" + _EARLIER + r"this\s+year\b", _I)
_NEXT = re.compile(r"\b(?:next|coming)\s+(?:week(?:end)?|month|year)\b", _I)
_PAST = re.compile(
    r"\b(?:(?:in|over|during|for|within)\s+)?(?P<lead>(?:the|this)\s+)?(?P<kw>past|last)\s+"
    r"(?:(?P<n>" + _COUNT + r")\s+)?"
    r"(?P<unit>hours?|days?|weeks?|months?|years?|decades?)\b(?!\s+of\b)", _I)
_AGO = re.compile(
    r"\b(?:(?P<n>" + _COUNT + r"|an?)\s+)?(?P<unit>hours?|days?|weeks?|months?)\s+ago\b", _I)
_RECENT_SPAN = re.compile(
    r"\b(?:in|over|during)\s+recent\s+(?P<unit>days|weeks|months|years)\b", _I)


def _relative(text: str, as_of: date) -> Iterator[_Hit]:
    simple: list[tuple[re.Pattern[str], Callable[[], tuple[date, date, str]]]] = [
        (_TODAY, lambda: (as_of, as_of, "today")),
        (_YESTERDAY, lambda: (_add_days(as_of, -1), _add_days(as_of, -1), "yesterday")),
        (_LAST_NIGHT, lambda: (_add_days(as_of, -1), as_of, "last night")),
        (_THIS_WEEK, lambda: (_add_days(as_of, -7), as_of, "past 7 days")),
        (_THIS_MONTH, lambda: (as_of.replace(day=1), as_of, "this month")),
        (_THIS_YEAR, lambda: (date(as_of.year, 1, 1), as_of, "this year")),
    ]
    for pattern, span in simple:
        for m in pattern.finditer(text):
            start, end, label = span()
            yield _hit(_RELATIVE, m.start(), m.group(0), start, end, as_of, label)
    for m in _NEXT.finditer(text):
        yield _Hit(_RELATIVE, m.start(), m.group(0), None, LATEST)
    yield from _past_units(text, as_of)
    yield from _ago(text, as_of)
    for m in _RECENT_SPAN.finditer(text):
        unit = _unit(m["unit"])
        start = _minus(as_of, _VAGUE_COUNT[unit], unit)
        yield _hit(_RELATIVE, m.start(), m.group(0), start, as_of, as_of, f"recent {unit}s")


def _past_units(text: str, as_of: date) -> Iterator[_Hit]:
    """'past 3 days', 'last few weeks', 'the last year', and bare 'last week/month/year'."""
    for m in _PAST.finditer(text):
        unit, plural = _unit(m["unit"]), m["unit"].casefold().endswith("s")
        last = m["kw"].casefold() == "last"
        if m["n"] is None and not plural and last and unit in ("day", "hour"):
            continue  # "the last day of the festival" is no time reference
        if m["n"] is not None or plural or not last or m["lead"]:
            count = _count(m["n"], unit) if (m["n"] is not None or plural) else 1
            if count is None:
                continue
            start, label = _minus(as_of, count, unit), _span_label(count, unit)
            yield _hit(_RELATIVE, m.start(), m.group(0), start, as_of, as_of, label)
        elif unit == "week":
            # Lenient on purpose: people say "last week" loosely, so two rolling weeks.
            yield _hit(_RELATIVE, m.start(), m.group(0), _add_days(as_of, -14), as_of, as_of,
                       "past 14 days (last week)")
        elif unit == "month":
            prev = _add_months(as_of.replace(day=1), -1)
            if prev < as_of.replace(day=1):
                start, end = _month_span(prev.year, prev.month)
                yield _hit(_RELATIVE, m.start(), m.group(0), start, end, as_of,
                           f"last month ({prev:%B %Y})")
        elif unit == "year" and as_of.year > date.min.year:
            year = as_of.year - 1
            yield _hit(_RELATIVE, m.start(), m.group(0), date(year, 1, 1), date(year, 12, 31),
                       as_of, f"last year ({year})")
        elif unit == "decade":
            yield _hit(_RELATIVE, m.start(), m.group(0), _minus(as_of, 1, unit), as_of, as_of,
                       "past 10 years")


_AGO_SLACK = {"hour": 0, "day": 1, "week": 3, "month": 15}


def _ago(text: str, as_of: date) -> Iterator[_Hit]:
    for m in _AGO.finditer(text):
        unit = _unit(m["unit"])
        vague = " ".join((m["n"] or "").casefold().split()) in _VAGUE
        count = _count(m["n"], unit)
        if count is None:
            continue
        if vague:
            start, end, label = _minus(as_of, count, unit), as_of, _span_label(count, unit)
        elif unit == "hour":
            # Hours ago is today or, across midnight, yesterday.
            day = _add_days(as_of, -(count // 24))
            start, end, label = _add_days(day, -1), day, f"{count} hours ago"
        else:
            target, slack = _minus(as_of, count, unit), _AGO_SLACK[unit]
            start, end = _add_days(target, -slack), _add_days(target, slack)
            label = f"{count} {unit}{'s' if count != 1 else ''} ago"
        yield _hit(_RELATIVE, m.start(), m.group(0), start, end, as_of, label)


# ---------------------------------------------------------------- explicit dates

_PRE = r"(?P<pre>(?:on|in|of|by|until|from|since)\s+)?"
_ISO = re.compile(
    r"\b(?:(?:on|in)\s+)?(?P<y>[0-9]{4})-(?P<m>[0-9]{1,2})-(?P<d>[0-9]{1,2})\b(?!-)", _I)
_MDY = re.compile(
    r"\b" + _PRE + r"(?P<m>" + _ANY + r")\.?\s+(?P<d>[0-9]{1,2})(?:st|nd|rd|th)?\b"
    r"(?:,?\s+(?P<y>[0-9]{4})\b)?", _I)
_DMY = re.compile(
    r"\b" + _PRE + r"(?:the\s+)?(?P<d>[0-9]{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?"
    r"(?P<m>" + _ANY + r")\b\.?(?:,?\s+(?P<y>[0-9]{4})\b)?", _I)
_UPCOMING_DAYS = 31


def _month_number(name: str) -> int | None:
    return _MONTH_NUMBERS.get(name.casefold().rstrip("."))


def _verb_safe(m: re.Match[str], text: str) -> bool:
    """'may'/'march' are months here only with a year, a preposition or a capital letter."""
    if m["m"].casefold() not in _VERB_MONTHS:
        return True
    return bool(m["y"] or m["pre"] or text[m.start("m")].isupper())


def _recent_day(month: int, day: int, as_of: date) -> date | None | bool:
    """The most recent month/day not after as_of; True when it is just ahead (upcoming)."""
    this_year = _valid_date(as_of.year, month, day)
    if this_year is not None and this_year > as_of:
        if (this_year - as_of).days <= _UPCOMING_DAYS:
            return True
    for year in range(as_of.year, max(date.min.year, as_of.year - 8) - 1, -1):
        found = _valid_date(year, month, day)  # Feb 29 may be up to 8 years back
        if found is not None and found <= as_of:
            return found
    return None


def _day_of(m: re.Match[str], as_of: date) -> date | None | bool:
    """The day a date match names (True: just ahead, upcoming; None: no such day)."""
    month = int(m["m"]) if m["m"].isdigit() else _month_number(m["m"])
    if month is None or not 1 <= month <= 12:
        return None
    day = int(m["d"])
    if not m["y"]:
        return _recent_day(month, day, as_of)
    year = int(m["y"])
    return _valid_date(year, month, day) if year >= date.min.year else None


def _day_hit(m: re.Match[str], as_of: date) -> _Hit | None:
    found = _day_of(m, as_of)
    if found is True:
        return _Hit(_DATE, m.start(), m.group(0), None, LATEST)
    if not isinstance(found, date):
        return None
    return _hit(_DATE, m.start(), m.group(0), _add_days(found, -1), _add_days(found, 1),
                as_of, f"around {found.isoformat()}")


def _dates(text: str, as_of: date) -> Iterator[_Hit]:
    for m in _ISO.finditer(text):
        if (hit := _day_hit(m, as_of)) is not None:
            yield hit
    for pattern in (_MDY, _DMY):
        for m in pattern.finditer(text):
            if _verb_safe(m, text) and (hit := _day_hit(m, as_of)) is not None:
                yield hit


# ---------------------------------------------------------------- months and years

_PART = r"(?:(?:early|mid|late)[-\s]+|the\s+(?:start|beginning|middle|end)\s+of\s+)?"
_YEAR_TAIL = r"(?:,?\s+(?:of\s+)?(?P<y>[0-9]{4})\b)?"
_MONTH_IN = re.compile(
    r"\b(?:in|during|throughout)\s+" + _PART + r"(?P<m>" + _FULL + r")\b" + _YEAR_TAIL, _I)
_MONTH_WHICH = re.compile(r"\b(?P<which>this|last|next)\s+(?P<m>" + _PLAIN + r")\b", _I)
_MONTH_YEAR = re.compile(
    r"\b" + _PART + r"(?P<m>" + _ANY + r")\.?,?\s+(?:of\s+)?"
    r"(?P<y>[0-9]{4})\b(?![-/][0-9])", _I)
_YEAR_IN = re.compile(
    r"\b(?:in|during|throughout)\s+(?:the\s+year\s+)?" + _PART +
    r"(?P<y>[0-9]{4})\b(?![-/][0-9])", _I)


def _recent_month_year(month: int, as_of: date, *, before: bool = False) -> int | None:
    """The year of the most recent such month (strictly before as_of's month when ``before``);
    None when the month is the next one, which reads as upcoming."""
    if month > as_of.month or (before and month == as_of.month):
        if not before and month == as_of.month + 1:
            return None
        return as_of.year - 1
    return as_of.year


def _month_hit(pos: int, phrase: str, year: int | None, month: int, as_of: date,
               which: str = "") -> _Hit | None:
    if which == "next":
        return _Hit(_MONTH, pos, phrase, None, LATEST)
    if year is None:
        year = as_of.year if which == "this" else _recent_month_year(
            month, as_of, before=which == "last")
        if year is None:
            return _Hit(_MONTH, pos, phrase, None, LATEST)
    if not date.min.year <= year <= date.max.year:
        return None
    start, end = _month_span(year, month)
    return _hit(_MONTH, pos, phrase, start, end, as_of, f"{start:%B} {year}")


def _months(text: str, as_of: date) -> Iterator[_Hit]:
    for pattern in (_MONTH_IN, _MONTH_YEAR, _MONTH_WHICH):
        for m in pattern.finditer(text):
            month = _month_number(m["m"])
            year = int(m["y"]) if "y" in m.groupdict() and m["y"] else None
            which = m["which"].casefold() if "which" in m.groupdict() else ""
            if month is not None and (hit := _month_hit(m.start(), m.group(0), year, month,
                                                        as_of, which)):
                yield hit
    for m in _YEAR_IN.finditer(text):
        year = int(m["y"])
        if date.min.year <= year <= date.max.year:
            yield _year_hit(m.start(), m.group(0), year, as_of)


def _year_hit(pos: int, phrase: str, year: int, as_of: date) -> _Hit:
    return _hit(_YEAR, pos, phrase, date(year, 1, 1), date(year, 12, 31), as_of, str(year))


# ---------------------------------------------------------------- since

_SINCE = re.compile(r"\bsince\s+", _I)
_SINCE_MONTH = re.compile(_PART + r"(?P<m>" + _ANY + r")\b\.?" + _YEAR_TAIL, _I)
_SINCE_YEAR = re.compile(_PART + r"(?P<y>[0-9]{4})\b(?![-/][0-9])", _I)
_SINCE_RELATIVE = re.compile(
    r"(?:(?P<yesterday>yesterday)|last\s+(?P<last>week|month|year)"
    r"|the\s+(?:start|beginning)\s+of\s+(?:the|this)\s+(?P<start_of>week|month|year)"
    r"|(?:last\s+|this\s+past\s+)?(?P<wd>" + _WEEKDAYS + r"))\b", _I)


def _since_start(text: str, pos: int, as_of: date) -> tuple[date, int] | None:
    """Where 'since ...' (its words starting at pos) begins, and where its phrase ends."""
    for pattern in (_ISO, _MDY, _DMY):
        if (m := pattern.match(text, pos)) and isinstance(day := _day_of(m, as_of), date):
            return day, m.end()
    if (m := _SINCE_MONTH.match(text, pos)) and (month := _month_number(m["m"])):
        year = int(m["y"]) if m["y"] else as_of.year - (month > as_of.month)
        if date.min.year <= year <= date.max.year:
            return date(year, month, 1), m.end()
    if (m := _SINCE_YEAR.match(text, pos)) and date.min.year <= int(m["y"]):
        return date(int(m["y"]), 1, 1), m.end()
    if m := _SINCE_RELATIVE.match(text, pos):
        return _since_relative(m, as_of), m.end()
    return None


def _since_relative(m: re.Match[str], as_of: date) -> date:
    if m["yesterday"]:
        return _add_days(as_of, -1)
    unit = (m["last"] or m["start_of"] or "").casefold()
    if m["wd"]:
        target = [d.casefold() for d in calendar.day_name].index(m["wd"].casefold())
        return _add_days(as_of, -((as_of.weekday() - target) % 7))
    if unit == "week":
        return _add_days(as_of, -14 if m["last"] else -as_of.weekday())
    if unit == "month":
        first = as_of.replace(day=1)
        return _add_months(first, -1) if m["last"] else first
    year = as_of.year - 1 if m["last"] and as_of.year > date.min.year else as_of.year
    return date(year, 1, 1)


def _since(text: str, as_of: date) -> tuple[list[_Hit], list[tuple[int, int]]]:
    hits, spans = [], []
    for m in _SINCE.finditer(text):
        found = _since_start(text, m.end(), as_of)
        if found is None:
            continue
        start, end = found
        phrase = text[m.start():end]
        spans.append((m.start(), end))
        if start <= as_of:
            label = f"since {start.isoformat()}"
            hits.append(_Hit(_YEAR, m.start(), phrase, _window(start, as_of, as_of, label)))
    return hits, spans


# ---------------------------------------------------------------- weekday hints

_WEEKDAY = re.compile(r"\b(?:(?:on|last|this|past|next)\s+)?(?P<wd>" + _WEEKDAYS + r")\b", _I)
_NOT_A_DAY_BEFORE = re.compile(
    r"\b(?:first|second|third|fourth|fifth|every|each|black|cyber|good|ash|palm|easter|holy"
    r"|maundy|shrove|super|giving|bloody)\s+$", _I)


def _weekdays(text: str, as_of: date) -> Iterator[_Hit]:
    for m in _WEEKDAY.finditer(text):
        before = text[max(0, m.start() - 12):m.start()]
        if _NOT_A_DAY_BEFORE.search(before):
            continue
        label = f"{m['wd'].capitalize()} (past week)"
        yield _hit(_HINT, m.start(), m.group(0), _add_days(as_of, -7), as_of, as_of, label,
                   RECENT)


# ---------------------------------------------------------------- recency words

_NOT_NEW = (r"york|orleans|jersey|zealand|delhi|mexico|england|hampshire|south\s+wales|guinea"
            r"|caledonia|haven|brunswick|year'?s?|testament|deal|age")
_RECENCY = [
    (LATEST, re.compile(r"\b(?:latest|newest|most\s+recent(?:ly)?|up[-\s]to[-\s]date)\b", _I)),
    (RECENT, re.compile(
        r"\b(?:recent(?:ly)?|lately|current(?:ly)?|now|nowadays|newly|soon|upcoming|ongoing"
        r"|new(?![-\s]+(?:" + _NOT_NEW + r")\b))\b", _I)),
]


def _recency_words(text: str) -> tuple[float, str]:
    for weight, pattern in _RECENCY:
        if m := pattern.search(text):
            return weight, m.group(0)
    return 0.0, ""


# ---------------------------------------------------------------- public API


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    """Blank out spans (keeping offsets) so no other rule reads them again."""
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def resolve(question: str, as_of: date) -> TimeIntent:
    """The date window and recency preference that the question's time words ask for."""
    hits, spans = _since(question, as_of)
    text = _mask(question, spans) if spans else question
    for rule in (_relative, _dates, _months, _weekdays):
        hits.extend(rule(text, as_of))
    windowed = [h for h in hits if h.window is not None]
    upcoming = [h for h in hits if h.window is None and h.recency > 0]
    best = min(windowed, key=lambda h: (h.rank, h.pos), default=None)
    ahead = min(upcoming, key=lambda h: (h.rank, h.pos), default=None)
    word_recency, word_phrase = _recency_words(text)
    recency = max([word_recency] + [h.recency for h in (best, ahead) if h is not None])
    if best is not None:
        return TimeIntent(best.window, recency, best.phrase.strip())
    phrase = ahead.phrase if ahead is not None else word_phrase
    return TimeIntent(None, recency, phrase.strip())


_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:?!])")


def strip_time_words(question: str, intent: TimeIntent) -> str:
    """The question without the intent's phrase (first occurrence), for lexical search.

    Stripping never leaves a query without words: then the question comes back unchanged.
    """
    if not intent.phrase:
        return question
    words = [re.escape(w) for w in intent.phrase.split()]
    pattern = re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", _I)
    stripped = pattern.sub(" ", question, count=1)
    stripped = _SPACE_BEFORE_PUNCT.sub(r"\1", " ".join(stripped.split()))
    stripped = re.sub(r"^[,.;:]\s*", "", stripped)
    return stripped if re.search(r"\w", stripped) else question

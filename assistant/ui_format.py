"""What the web app shows, as plain strings: answers, source cards, status lines, summaries.

Pure functions with no UI library, so they are unit-tested on their own. Everything that
comes from an article (title, text, outlet, URL) or from the model is untrusted: it is
HTML-escaped before it is shown, and only ``http(s)`` URLs become links. The answer's
``[n]`` markers become links to the cited article; any other link syntax the model writes
is shown as text.

Answers travel as "source records", the JSON form of a citation
(:meth:`~assistant.types.Citation.to_json` plus ``also_reporting``), so an answer shown
live and the same answer reopened from the conversation store look the same.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

from assistant.errors import (
    AssistantError,
    ContextOverflowError,
    EmptyIndexError,
    IndexUnavailableError,
    LLMError,
    LLMUnavailableError,
    QuestionError,
)
from assistant.types import Answer, Filters

__all__ = [
    "EMPTY_INDEX_MESSAGE",
    "GENERIC_ERROR_MESSAGE",
    "escape_text",
    "escape_markdown",
    "safe_url",
    "format_day",
    "parse_day",
    "build_filters",
    "query_terms",
    "excerpt",
    "highlight",
    "answer_markdown",
    "streaming_markdown",
    "source_records",
    "answer_meta",
    "source_cards",
    "status_line",
    "friendly_error",
    "collection_summary",
    "ingest_summary",
]

EMPTY_INDEX_MESSAGE = (
    "No articles are indexed yet: add articles in the **Collection** tab, or run "
    "`assistant ingest PATH` and reload this page."
)
GENERIC_ERROR_MESSAGE = (
    "Something went wrong while answering. The error was logged on the server; "
    "please try again, or ask the person who runs this app to look at the log."
)

# [n] and [n, m] markers as the model writes them (parse_citations leaves "[1][2]").
_MARKER = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
# Markdown that would turn model text into links, emphasis, code or tables.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]()#|~$!])")
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
_STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each few
    for from further had has have having he her here hers him his how i if in into is it its
    just me more most my no nor not now of off on once only or other our out over own same she
    should so some such than that the their them then there these they this those through to
    too under until up very was we were what when where which while who whom why will with
    would you your according said says say tell told many much per
    news article articles report reported year years week month day today yesterday""".split()
)
_SUFFIXES = ("ing", "ed", "es", "s", "y", "e")


# -- escaping -------------------------------------------------------------------------------
def escape_text(text: str) -> str:
    """Text made safe to put inside HTML, attributes included."""
    return html.escape(text or "", quote=True)


def escape_markdown(text: str) -> str:
    """Text shown literally by a Markdown renderer that also accepts HTML.

    HTML is escaped first (``<img ...>`` shows as text), then the characters that would make
    links, emphasis, code, tables or LaTeX are backslash-escaped.
    """
    return _MD_SPECIAL.sub(r"\\\1", escape_text(text))


def safe_url(url: str | None) -> str:
    """``url`` if it is an http(s) URL, with characters that could end it encoded; else ""."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return ""
    return quote(url, safe="/:?#[]@!$&'*+,;=%~-._")


# -- dates and filters ----------------------------------------------------------------------
def format_day(value: dt.date | str | None) -> str:
    """A published date as people read it ("17 Jan 2025"), or "undated"."""
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            return value or "undated"
    if value is None:
        return "undated"
    return f"{value.day} {value:%b %Y}"


def parse_day(text: str | None, label: str) -> dt.date | None:
    """A YYYY-MM-DD field of the form: None when blank, QuestionError when not a date."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise QuestionError(
            f"{label}: {text!r} is not a date; write it as YYYY-MM-DD (e.g. 2025-01-17) or "
            "leave it empty"
        ) from None


def build_filters(since: str | None, until: str | None, outlets: Iterable[str] | None) -> Filters:
    """The Filters the controls ask for (QuestionError when a date is wrong or reversed)."""
    start, end = parse_day(since, "Published from"), parse_day(until, "Published until")
    if start and end and start > end:
        raise QuestionError(
            f"the published-date range is reversed ({start} is after {end}): swap the two dates"
        )
    chosen = tuple(dict.fromkeys(o.strip() for o in (outlets or ()) if o and o.strip()))
    return Filters(since=start, until=end, outlets=chosen)


# -- highlighting ---------------------------------------------------------------------------
def query_terms(question: str) -> list[str]:
    """The words of a question worth highlighting in a passage, as lowercase stems."""
    terms: dict[str, None] = {}
    for word in _WORD.findall((question or "").lower()):
        word = word.replace("’", "'").removesuffix("'s")
        if word in _STOPWORDS or (len(word) < 3 and not word.isdigit()):
            continue
        terms[_stem(word)] = None
    return list(terms)


def _stem(word: str) -> str:
    if word.isdigit():
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def _term_pattern(terms: Sequence[str]) -> re.Pattern[str] | None:
    if not terms:
        return None
    alternatives = []
    for term in sorted(terms, key=len, reverse=True):
        tail = r"(?![\w.,]*\d)" if term.isdigit() else r"\w*"  # 55 matches 55, not 550
        alternatives.append(re.escape(term) + tail)
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + ")", re.IGNORECASE)


def excerpt(text: str, terms: Sequence[str], width: int = 600) -> str:
    """At most about ``width`` characters of ``text``: the stretch, from a sentence start
    where one is near, in which the most different terms occur."""
    text = " ".join((text or "").split())
    if len(text) <= width:
        return text
    pattern = _term_pattern(terms)
    found = pattern.finditer(text) if pattern else ()
    hits = [(m.start(), m.end(), m.group(0).lower()) for m in found]
    best, best_score = 0, (0, 0, 0)
    for start in sorted({0} | {_sentence_start(text, at) for at, _, _ in hits}):
        inside = [word for at, end, word in hits if start <= at and end <= start + width]
        score = (len(set(inside)), len(inside), -start)
        if score > best_score:
            best, best_score = start, score
    start = best
    if start > len(text) - width:  # near the end: show a full window that ends there
        start = len(text) - width
        sentence = text.find(". ", start, start + 150)
        start = sentence + 2 if sentence >= 0 else text.find(" ", start) + 1
    end = min(len(text), start + width)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start + width // 2 else end
    return ("…" if start else "") + text[start:end].strip() + ("…" if end < len(text) else "")


def _sentence_start(text: str, at: int, reach: int = 200) -> int:
    """Where the sentence holding ``at`` starts, if that is near; else ``at``."""
    sentence = max(text.rfind(". ", 0, at), text.rfind("? ", 0, at), text.rfind("! ", 0, at))
    return sentence + 2 if sentence >= 0 and at - sentence < reach else at


def highlight(text: str, terms: Sequence[str]) -> str:
    """``text`` as HTML, escaped, with each word matching a term wrapped in ``<mark>``."""
    pattern = _term_pattern(terms)
    if pattern is None:
        return escape_text(text)
    out, last = [], 0
    for match in pattern.finditer(text):
        out.append(escape_text(text[last : match.start()]))
        out.append(f"<mark>{escape_text(match.group(0))}</mark>")
        last = match.end()
    out.append(escape_text(text[last:]))
    return "".join(out)


# -- answers --------------------------------------------------------------------------------
def source_records(answer: Answer) -> list[dict[str, Any]]:
    """The cited sources of an answer as JSON-ready dicts (citation + other outlets)."""
    records = []
    for citation in answer.citations:
        record = citation.to_json()
        record["article_id"] = citation.article_id
        passage = (
            answer.passages[citation.n - 1] if 0 < citation.n <= len(answer.passages) else None
        )
        record["also_reporting"] = [list(a) for a in passage.also_reporting] if passage else []
        records.append(record)
    return records


def answer_meta(answer: Answer, filters: Filters | None = None) -> dict[str, Any]:
    """What the status line shows about an answer, JSON-ready."""
    window = answer.date_window
    filters = filters or Filters()
    return {
        "date_window": None if window is None else {
            "start": window.start.isoformat() if window.start else None,
            "end": window.end.isoformat() if window.end else None,
            "label": window.label,
        },
        "filters": {
            "since": filters.since.isoformat() if filters.since else None,
            "until": filters.until.isoformat() if filters.until else None,
            "outlets": list(filters.outlets),
        },
        "timings": {k: float(v) for k, v in answer.timings.items()},
        "refused": answer.refused,
        "grounded": answer.grounded,
    }


def _marker_links(numbers: str, by_n: Mapping[int, Mapping[str, Any]]) -> str:
    links = []
    for n in (int(x) for x in numbers.split(",")):
        url = safe_url(by_n.get(n, {}).get("url"))
        links.append(f"[\\[{n}\\]]({url})" if url else f"\\[{n}\\]")
    return "".join(links)


def answer_markdown(text: str, sources: Sequence[Mapping[str, Any]]) -> str:
    """The answer as Markdown: text shown literally, each ``[n]`` a link to source n,
    then a one-line list of the sources (outlet and date) under it."""
    by_n = {int(s["n"]): s for s in sources}
    out, last = [], 0
    for match in _MARKER.finditer(text or ""):
        out.append(escape_markdown(text[last : match.start()]))
        out.append(_marker_links(match.group(1), by_n))
        last = match.end()
    out.append(escape_markdown((text or "")[last:]))
    body = "".join(out).strip()
    if not sources:
        return body
    cited = " · ".join(
        f"\\[{s['n']}\\] {escape_markdown(s.get('outlet') or 'unknown outlet')}, "
        f"{escape_markdown(format_day(s.get('published_date')))}"
        for s in sorted(sources, key=lambda s: int(s["n"]))
    )
    return f"{body}\n\n<sub>Sources: {cited}</sub>"


def streaming_markdown(text: str) -> str:
    """The answer while it is being written: shown literally, with a cursor."""
    return escape_markdown(text or "") + " ▌"


def _also_html(also: Iterable[Sequence[str]]) -> str:
    items = []
    for title, outlet, url in also:
        label = escape_text(outlet or title or "another outlet")
        link = safe_url(url)
        tip = escape_text(title)
        items.append(
            f'<a href="{escape_text(link)}" target="_blank" rel="noopener noreferrer" '
            f'title="{tip}">{label}</a>' if link else f'<span title="{tip}">{label}</span>'
        )
    return f'<div class="source-also">Also reported by {", ".join(items)}</div>' if items else ""


def _card(source: Mapping[str, Any], terms: Sequence[str], around: Sequence[str]) -> str:
    n = int(source["n"])
    title = escape_text(source.get("title") or "Untitled article")
    url = safe_url(source.get("url"))
    heading = (
        f'<a class="source-title" href="{escape_text(url)}" target="_blank" '
        f'rel="noopener noreferrer">{title}</a>' if url
        else f'<span class="source-title">{title}</span>'
    )
    outlet = escape_text(source.get("outlet") or "unknown outlet")
    day = escape_text(format_day(source.get("published_date")))
    text = source.get("passage") or ""
    shown = excerpt(text, around)
    passage = highlight(shown, terms)
    if shown != " ".join(text.split()):
        passage += (
            '<details class="source-full"><summary>Whole passage</summary>'
            f"{highlight(text, terms)}</details>"
        )
    return (
        f'<article class="source-card" id="source-{n}" data-n="{n}">'
        f'<div class="source-head"><span class="source-n">{n}</span>{heading}</div>'
        f'<div class="source-meta"><span class="source-outlet">{outlet}</span>'
        f' · <time>{day}</time></div>'
        f'<blockquote class="source-passage">{passage}</blockquote>'
        f"{_also_html(source.get('also_reporting') or ())}</article>"
    )


def source_cards(
    sources: Sequence[Mapping[str, Any]], question: str = "", answer: str = ""
) -> str:
    """The numbered source cards of one answer as HTML, with the question's words
    highlighted; a long passage shows the part that best matches the question and answer."""
    if not sources:
        return (
            '<div class="sources sources-empty">No sources for this answer: the passages '
            "found did not contain it, so none is cited.</div>"
        )
    terms = query_terms(question)
    around = list(dict.fromkeys([*terms, *query_terms(_MARKER.sub(" ", answer))]))
    cards = "".join(
        _card(s, terms, around) for s in sorted(sources, key=lambda s: int(s["n"]))
    )
    return f'<div class="sources">{cards}</div>'


def status_line(meta: Mapping[str, Any] | None) -> str:
    """One Markdown line: the dates and outlets searched, and how long the answer took."""
    if not meta:
        return ""
    parts = [_window_text(meta.get("date_window"), meta.get("filters") or {})]
    outlets = (meta.get("filters") or {}).get("outlets") or []
    if outlets:
        parts.append("outlets: " + ", ".join(escape_markdown(o) for o in outlets))
    timings = meta.get("timings") or {}
    total = timings.get("total_s")
    steps = ", ".join(
        f"{name} {timings[key]:.1f} s"
        for key, name in (("retrieval_s", "search"), ("first_token_s", "first words"))
        if isinstance(timings.get(key), (int, float))
    )
    if isinstance(total, (int, float)):
        parts.append(f"answered in {total:.1f} s" + (f" ({steps})" if steps else ""))
    return " · ".join(p for p in parts if p)


def _window_text(window: Mapping[str, Any] | None, filters: Mapping[str, Any]) -> str:
    start = (window or {}).get("start") or filters.get("since")
    end = (window or {}).get("end") or filters.get("until")
    label = (window or {}).get("label") or ""
    if not start and not end:
        return "Searched articles from any date"
    span = (
        f"{format_day(start)} – {format_day(end)}" if start and end
        else f"from {format_day(start)}" if start else f"up to {format_day(end)}"
    )
    suffix = f" ({escape_markdown(label)})" if label else ""
    return f"Searched articles published {span}{suffix}"


def friendly_error(exc: BaseException) -> str:
    """What the person asking sees instead of an error (Markdown, never a stack trace)."""
    if isinstance(exc, EmptyIndexError):
        return f"{EMPTY_INDEX_MESSAGE}"
    detail = escape_markdown(str(exc))
    if isinstance(exc, QuestionError):
        return f"Please rephrase: {detail}."
    if isinstance(exc, LLMUnavailableError):
        return (
            "The language model is not reachable right now, so there is no answer. "
            f"Try again in a moment. ({detail})"
        )
    if isinstance(exc, IndexUnavailableError):
        return (
            "The article index is not reachable right now, so there is no answer. "
            f"Try again in a moment. ({detail})"
        )
    if isinstance(exc, ContextOverflowError):
        return f"The question and its sources are too long for the model: {detail}."
    if isinstance(exc, LLMError):
        return f"The language model failed while answering: {detail}. Please try again."
    if isinstance(exc, AssistantError):
        return f"{detail}"
    return f"{GENERIC_ERROR_MESSAGE}"


# -- the collection -------------------------------------------------------------------------
def collection_summary(stats: Mapping[str, Any], top: int = 15) -> str:
    """The index at a glance (HTML): counts, the date range and the biggest outlets."""
    articles, chunks = int(stats.get("articles") or 0), int(stats.get("chunks") or 0)
    if not articles:
        return f'<div class="collection-empty">{EMPTY_INDEX_MESSAGE.replace("**", "")}</div>'
    outlets: Mapping[str, int] = stats.get("outlets") or {}
    rows = "".join(
        f"<tr><td>{escape_text(name or '(no URL)')}</td><td>{count:,}</td></tr>"
        for name, count in list(outlets.items())[:top]
    )
    more = len(outlets) - top
    more_row = f'<tr><td colspan="2">… and {more:,} more</td></tr>' if more > 0 else ""
    return (
        '<div class="collection">'
        f'<div class="collection-figures"><div><b>{articles:,}</b> articles</div>'
        f"<div><b>{chunks:,}</b> passages</div>"
        f"<div><b>{len(outlets):,}</b> outlets</div></div>"
        f'<p>Published {escape_text(format_day(stats.get("first_published")))} to '
        f'{escape_text(format_day(stats.get("last_published")))}</p>'
        f'<table class="collection-outlets"><thead><tr><th>Outlet</th><th>Articles</th></tr>'
        f"</thead><tbody>{rows}{more_row}</tbody></table></div>"
    )


def ingest_summary(
    report: Mapping[str, Any] | None,
    refused: Sequence[tuple[str, str]] = (),
    warnings: Sequence[tuple[str, str]] = (),
) -> str:
    """What an upload did (Markdown): counts, then each refused or failed file and why."""
    lines = []
    if report is not None:
        failed = report.get("failed") or []
        lines.append(
            f"**Added {report.get('added', 0)}**, updated {report.get('updated', 0)}, "
            f"unchanged {report.get('unchanged', 0)}, failed {len(failed)} "
            f"({report.get('chunks', 0)} passages indexed)."
        )
        refused = [*refused, *((f.get("file", ""), f.get("reason", "")) for f in failed)]
    for prefix, items in (("", refused), ("Warning: ", warnings)):
        for name, reason in items:
            lines.append(
                f"- {prefix}**{escape_markdown(_basename(name))}**: {escape_markdown(reason)}"
            )
    return "\n".join(lines) or "Nothing was uploaded."


def _basename(name: str) -> str:
    # Failures name files by their server path; people only need the file name (and line).
    return re.split(r"[\\/]", name)[-1] if name else "(unknown file)"


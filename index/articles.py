"""Article files -> :class:`Article`: the tagged ``.txt`` format and JSON Lines.

A ``.txt`` file holds one article in tagged sections, in any order::

    <TITLE>...</TITLE>                  required
    <PUBLISHED_DATE>2025-01-17</PUBLISHED_DATE>
    <URL>...</URL>
    <AUTHOR>...</AUTHOR>
    <SUMMARY>...</SUMMARY>
    <HIGHLIGHTS>
    - one highlight a line
    </HIGHLIGHTS>
    <CONTENT>...</CONTENT>              required, non-empty

A ``.jsonl`` file holds one article a line, with the same field names in lower case.

Bad input never raises out of :func:`read_file`: each unreadable file (or JSON line) comes
back as an :class:`ArticleError` whose message says what is wrong and how to fix it, so an
ingest run can skip it and report it.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from assistant.errors import ArticleError
from assistant.types import Article

__all__ = [
    "ARTICLE_SUFFIXES",
    "discover",
    "parse_json_record",
    "parse_tagged",
    "read_file",
]

ARTICLE_SUFFIXES = (".txt", ".jsonl")

_TAGS = ("TITLE", "PUBLISHED_DATE", "URL", "AUTHOR", "SUMMARY", "HIGHLIGHTS", "CONTENT")
_TAG_ALT = "|".join(_TAGS)
# ASCII-only case folding, so that e.g. a Kelvin sign never counts as a "K" in a tag name.
_OPEN_RE = re.compile(rf"<({_TAG_ALT})>", re.IGNORECASE | re.ASCII)
_CLOSE_RE = re.compile(rf"</({_TAG_ALT})>", re.IGNORECASE | re.ASCII)
_CLOSE_OF = {t: re.compile(rf"</{t}>", re.IGNORECASE | re.ASCII) for t in _TAGS}

# Three or more blank lines (possibly holding spaces) become two.
_BLANK_RUN_RE = re.compile(r"\n(?:[ \t]*\n){3,}")
_SPACES_RE = re.compile(r"\s+")
_BULLET_RE = re.compile(r"^\s*(?:[-*\u2022])\s+")
_WEEKDAY_RE = re.compile(
    r"^(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)[a-z]*\.?,?\s+", re.IGNORECASE | re.ASCII
)
_DATE_FORMATS = ("%B %d %Y", "%b %d %Y", "%d %B %Y", "%d %b %Y", "%Y/%m/%d")
_NUL_SNIFF_BYTES = 8192
_SKIP_CHUNK = 1 << 16
_BOM = b"\xef\xbb\xbf"


# --- tagged text ---------------------------------------------------------------------------


def parse_tagged(text: str, source: str = "") -> Article:
    """Parse one article in the tagged format; raise :class:`ArticleError` if it is not one."""
    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    sections, warnings = _sections(text, source)
    for required in ("TITLE", "CONTENT"):
        if required not in sections:
            raise _error(
                source,
                f"no <{required}> section; an article file needs <TITLE>...</TITLE> and "
                "<CONTENT>...</CONTENT> (see data/articles/ for an example)",
            )
    return _build(
        source,
        warnings,
        title=sections["TITLE"],
        date_text=sections.get("PUBLISHED_DATE"),
        url=sections.get("URL", ""),
        author=sections.get("AUTHOR", ""),
        summary=sections.get("SUMMARY", ""),
        highlights=_split_highlights(sections.get("HIGHLIGHTS", "")),
        content=sections["CONTENT"],
    )


def _sections(text: str, source: str) -> tuple[dict[str, str], list[str]]:
    """The raw text of each tagged section, and warnings about text outside of them."""
    sections: dict[str, str] = {}
    stray: list[str] = []
    pos = 0
    while (opening := _OPEN_RE.search(text, pos)) is not None:
        _check_gap(text, pos, opening.start(), source, stray)
        name = opening.group(1).upper()
        line = _line_of(text, opening.start())
        if name in sections:
            raise _error(source, f"<{name}> appears a second time on line {line}; keep only one")
        closing = _CLOSE_OF[name].search(text, opening.end())
        if closing is None:
            raise _error(
                source, f"<{name}> on line {line} is never closed; add </{name}> after its text"
            )
        body = text[opening.end() : closing.start()]
        # CONTENT is taken verbatim; any other section holding a tag lost its closing tag.
        if name != "CONTENT" and (inner := _OPEN_RE.search(body)) is not None:
            raise _error(
                source,
                f"<{name}> on line {line} is not closed before <{inner.group(1).upper()}>; "
                f"add </{name}> after its text",
            )
        sections[name] = body
        pos = closing.end()
    _check_gap(text, pos, len(text), source, stray)
    warnings = []
    if stray:
        warnings.append(f"ignored text outside the tags: {', '.join(stray[:3])}")
    return sections, warnings


def _check_gap(text: str, start: int, end: int, source: str, stray: list[str]) -> None:
    gap = text[start:end]
    if (closing := _CLOSE_RE.search(gap)) is not None:
        name = closing.group(1).upper()
        line = _line_of(text, start + closing.start())
        raise _error(
            source, f"</{name}> on line {line} has no matching <{name}> before it; add one"
        )
    if gap.strip():
        offset = start + len(gap) - len(gap.lstrip())
        snippet = _SPACES_RE.sub(" ", gap.strip())[:40]
        stray.append(f"line {_line_of(text, offset)} {snippet!r}")


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _split_highlights(text: str) -> tuple[str, ...]:
    """Highlights are bulleted lines; an unbulleted line continues the bullet above it.

    Without any bullet at all, each non-blank line is one highlight.
    """
    lines = [line for line in text.replace("\r\n", "\n").split("\n") if line.strip()]
    if not any(_BULLET_RE.match(line) for line in lines):
        return tuple(_squash(line) for line in lines)
    items: list[str] = []
    for line in lines:
        if (bullet := _BULLET_RE.match(line)) is not None:
            items.append(_squash(line[bullet.end() :]))
        elif items:
            items[-1] = _squash(f"{items[-1]} {line}")
        else:
            items.append(_squash(line))
    return tuple(item for item in items if item)


# --- JSON Lines ----------------------------------------------------------------------------


def parse_json_record(record: dict, source: str = "") -> Article:
    """Build an article from one decoded JSON object; raise :class:`ArticleError` if unfit."""
    if not isinstance(record, dict):
        raise _error(
            source,
            f"expected a JSON object with title and content, got {_json_type(record)}",
        )
    fields = {str(key).lower(): value for key, value in record.items()}
    for required in ("title", "content"):
        if fields.get(required) is None:
            raise _error(source, f"no '{required}' field; every record needs title and content")
    has_date = fields.get("published_date") is not None
    return _build(
        source,
        [],
        title=_string_field(fields, "title", source),
        date_text=_string_field(fields, "published_date", source) if has_date else None,
        url=_string_field(fields, "url", source),
        author=_string_field(fields, "author", source),
        summary=_string_field(fields, "summary", source),
        highlights=_json_highlights(fields.get("highlights"), source),
        content=_string_field(fields, "content", source),
    )


def _string_field(fields: dict[str, Any], name: str, source: str) -> str:
    value = fields.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _error(source, f"field '{name}' must be a string, got {_json_type(value)}")
    return value


def _json_highlights(value: Any, source: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return _split_highlights(value)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(squashed for item in value if (squashed := _squash(item)))
    raise _error(source, "field 'highlights' must be a list of strings or one string")


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number" if isinstance(value, int | float) else "a value")


# --- shared: normalise, date, identity ----------------------------------------------------


def _build(
    source: str,
    warnings: list[str],
    *,
    title: str,
    date_text: str | None,
    url: str,
    author: str,
    summary: str,
    highlights: tuple[str, ...],
    content: str,
) -> Article:
    """Normalise the fields of either format the same way, so both give the same Article."""
    texts = {"title": title, "published_date": date_text or "", "url": url, "author": author}
    texts |= {"summary": summary, "highlights": "\n".join(highlights), "content": content}
    for name, value in texts.items():
        _check_encodable(name, value, source)
    title = _squash(title)
    content = _tidy(content)
    if not title:
        raise _error(source, "the title is empty; write the headline between the TITLE tags")
    if not content:
        raise _error(source, "the content is empty; put the article text in its CONTENT")
    published, date_warning = _parse_date(date_text)
    if date_warning:
        warnings = [*warnings, date_warning]
    url = _squash(url)  # a URL holds no whitespace; this only keeps both formats in step
    summary = _tidy(summary)
    author = _squash(author)
    canonical = {
        "title": title,
        "published_date": published.isoformat() if published else _squash(date_text or ""),
        "url": url,
        "author": author,
        "summary": summary,
        "highlights": list(highlights),
        "content": content,
    }
    return Article(
        id=_article_id(url, title, content),
        title=title,
        content=content,
        url=url,
        author=author,
        published=published,
        summary=summary,
        highlights=highlights,
        source=source,
        content_hash=hashlib.sha256(
            json.dumps(canonical, sort_keys=True, ensure_ascii=False).encode()
        ).hexdigest(),
        warnings=tuple(warnings),
    )


def _article_id(url: str, title: str, content: str) -> str:
    # sha256(url) is the newsqa-2025 convention: its file names and answer_in hashes use it.
    key = url if url else f"{title}\n{content}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _check_encodable(name: str, value: str, source: str) -> None:
    # A lone surrogate (from a bad JSON \\u escape) would fail later, when hashed or stored.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = value[exc.start]
        raise _error(
            source,
            f"field '{name}' holds an invalid character (U+{ord(bad):04X}, half of a "
            "surrogate pair); fix the \\u escape or re-save the text as UTF-8",
        ) from None


def _tidy(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    return _BLANK_RUN_RE.sub("\n\n\n", text)


def _squash(text: str) -> str:
    return _SPACES_RE.sub(" ", text).strip()


def _parse_date(text: str | None) -> tuple[dt.date | None, str]:
    """The date of a PUBLISHED_DATE value, or None and a warning saying why not."""
    if text is None:
        return None, (
            "no PUBLISHED_DATE: ingested without a date; add "
            "<PUBLISHED_DATE>YYYY-MM-DD</PUBLISHED_DATE> so questions about dates can find it"
        )
    value = _squash(text)
    if not value:
        return None, "empty PUBLISHED_DATE: ingested without a date; write it as YYYY-MM-DD"
    day = _date_from(value)
    if day is None:
        shown = value if len(value) <= 60 else value[:57] + "..."
        return None, (
            f"unparseable PUBLISHED_DATE {shown!r}: ingested without a date; "
            "write it as YYYY-MM-DD"
        )
    return day, ""


def _date_from(value: str) -> dt.date | None:
    try:
        # Covers 2025-01-17, 2025-01-17T10:00:00Z and other ISO 8601 forms. The date is
        # kept as written, not moved to UTC: it is the day the outlet printed.
        return dt.datetime.fromisoformat(value).date()
    except ValueError:
        pass
    plain = _WEEKDAY_RE.sub("", value.replace(",", " ").replace(".", " "))
    plain = _squash(plain)
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(plain, fmt).date()
        except ValueError:
            continue
    try:
        # RFC 2822, as in feeds: "Fri, 17 Jan 2025 10:00:00 GMT".
        return email.utils.parsedate_to_datetime(value).date()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _error(source: str, message: str) -> ArticleError:
    return ArticleError(f"{source}: {message}" if source else message, path=source or None)


# --- files ---------------------------------------------------------------------------------


def read_file(path: Path, *, max_bytes: int = 10_000_000) -> Iterator[Article | ArticleError]:
    """Each article of one file, or an :class:`ArticleError` in its place; never raises.

    A ``.txt`` file gives exactly one item. A ``.jsonl`` file is streamed and gives one item
    per non-blank line; there ``max_bytes`` limits each line, not the file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in ARTICLE_SUFFIXES:
        yield _unsupported(path)
        return
    try:
        if not path.is_file():
            reason = "no such file" if not path.exists() else "not a regular file"
            yield _error(str(path), f"{reason}; name an article file (.txt or .jsonl)")
            return
        if suffix == ".txt":
            yield _read_txt(path, max_bytes)
        else:
            yield from _read_jsonl(path, max_bytes)
    except OSError as exc:
        reason = exc.strerror or exc
        yield _error(str(path), f"cannot read the file ({reason}); check that it is readable")


def _read_txt(path: Path, max_bytes: int) -> Article | ArticleError:
    source = str(path)
    size = path.stat().st_size
    if size > max_bytes:
        return _too_big(source, size, max_bytes)
    with path.open("rb") as handle:
        data = handle.read(max_bytes + 1)  # the file may have grown since stat()
    if len(data) > max_bytes:
        return _too_big(source, len(data), max_bytes)
    text = _decode(data, source, first_line=1)
    if isinstance(text, ArticleError):
        return text
    if not text.strip():
        return _error(source, "the file is empty; write an article in it or delete it")
    try:
        return parse_tagged(text, source)
    except ArticleError as exc:
        return exc


def _read_jsonl(path: Path, max_bytes: int) -> Iterator[Article | ArticleError]:
    file_source = str(path)
    with path.open("rb") as handle:
        if b"\x00" in handle.read(_NUL_SNIFF_BYTES):
            yield _binary(file_source)
            return
        handle.seek(0)
        seen_any = False
        for number, raw in _capped_lines(handle, max_bytes):
            source = f"{file_source}:{number}"
            if raw is None:
                yield _error(
                    source,
                    f"the line is over the limit of {_size(max_bytes)}; split the article "
                    "or raise max_bytes",
                )
                seen_any = True
                continue
            if number == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM) :]
            if not raw.strip():
                continue
            seen_any = True
            yield _parse_json_line(raw, source, number)
    if not seen_any:
        yield _error(file_source, "the file is empty; write one JSON article a line in it")


def _capped_lines(handle: IO[bytes], limit: int) -> Iterator[tuple[int, bytes | None]]:
    """Numbered lines, with None for each line over ``limit`` bytes (never held whole)."""
    number = 0
    while line := handle.readline(limit + 1):
        number += 1
        ended = line.endswith(b"\n")
        if len(line) - (1 if ended else 0) <= limit:
            yield number, line
            continue
        while not ended:  # skip the rest of the long line, a chunk at a time
            rest = handle.readline(_SKIP_CHUNK)
            ended = not rest or rest.endswith(b"\n")
        yield number, None


def _parse_json_line(raw: bytes, source: str, number: int) -> Article | ArticleError:
    text = _decode(raw, source, first_line=number)
    if isinstance(text, ArticleError):
        return text
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        return _error(source, f"not valid JSON ({exc.msg} at column {exc.colno}); fix the line")
    except (ValueError, RecursionError) as exc:
        # ValueError: e.g. an integer too long to convert; RecursionError: absurd nesting.
        return _error(source, f"not valid JSON ({type(exc).__name__}); fix the line")
    try:
        return parse_json_record(record, source)
    except ArticleError as exc:
        return exc


def _decode(data: bytes, source: str, *, first_line: int) -> str | ArticleError:
    if b"\x00" in data:
        return _binary(source)
    try:
        return data.decode("utf-8-sig")  # a leading BOM is fine
    except UnicodeDecodeError as exc:
        line = first_line + data.count(b"\n", 0, exc.start)
        return _error(
            source,
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x} on line {line}); re-save the file "
            "as UTF-8",
        )


def _binary(source: str) -> ArticleError:
    return _error(
        source,
        "looks like a binary file (it contains NUL bytes); article files must be UTF-8 text "
        "(if it is UTF-16 text, re-save it as UTF-8)",
    )


def _too_big(source: str, size: int, limit: int) -> ArticleError:
    return _error(
        source,
        f"the file is {_size(size)}, over the limit of {_size(limit)}; split it into "
        "smaller articles or raise max_bytes",
    )


def _size(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{n:,} bytes"


def _unsupported(path: Path) -> ArticleError:
    kind = f"'{path.suffix}'" if path.suffix else "a name without an extension"
    return _error(
        str(path),
        f"unsupported file type ({kind}); article files must be .txt (tagged) or .jsonl",
    )


# --- discovery -----------------------------------------------------------------------------


def discover(paths: Iterable[Path | str]) -> tuple[list[Path], list[ArticleError]]:
    """The article files under ``paths`` (files and folders, recursively), sorted.

    Hidden files and folders are skipped inside folders; a file named explicitly is taken
    as is, but must have an article suffix. Nothing is read here.
    """
    found: set[Path] = set()
    errors: list[ArticleError] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            found.update(_walk(path, errors))
        elif path.is_file():
            if path.suffix.lower() in ARTICLE_SUFFIXES:
                found.add(path)
            else:
                errors.append(_unsupported(path))
        elif path.exists():
            errors.append(_error(str(path), "not a regular file or folder; name article files"))
        else:
            errors.append(_error(str(path), "no such file or folder; check the path"))
    return sorted(found), errors


def _walk(root: Path, errors: list[ArticleError]) -> Iterator[Path]:
    # Iterative, with each folder's (device, inode) remembered, so symlink loops end.
    pending = [root]
    visited: set[tuple[int, int]] = set()
    while pending:
        folder = pending.pop()
        try:
            info = folder.stat()
            if (info.st_dev, info.st_ino) in visited:
                continue
            visited.add((info.st_dev, info.st_ino))
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    if entry.is_dir():
                        pending.append(Path(entry.path))
                    elif entry.is_file() and _is_article_name(entry.name):
                        yield Path(entry.path)
        except OSError as exc:
            reason = exc.strerror or exc
            message = f"cannot list the folder ({reason}); check its permissions"
            errors.append(_error(str(folder), message))


def _is_article_name(name: str) -> bool:
    return name.lower().endswith(ARTICLE_SUFFIXES)

"""Property tests: whatever the input, the parser answers with an Article or an ArticleError."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.errors import ArticleError
from assistant.types import Article
from index.articles import parse_json_record, parse_tagged, read_file

# A deadline catches a parser that goes quadratic or hangs; generous, as the machine is shared.
# No example database: it would be written into the shared working tree.
FAST = settings(
    max_examples=200,
    deadline=2000,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

TAGS = ["TITLE", "PUBLISHED_DATE", "URL", "AUTHOR", "SUMMARY", "HIGHLIGHTS", "CONTENT"]
FRAGMENTS = st.sampled_from(
    [f"<{t}>" for t in TAGS]
    + [f"</{t}>" for t in TAGS]
    + ["<title>", "\n", "\r\n", "- ", "2025-01-17", "January 17, 2025", "\ufeff", " ", "x"]
)
TAG_SOUP = st.lists(FRAGMENTS | st.text(max_size=8), max_size=40).map("".join)
NO_TAGS = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="<"), max_size=80)
FIELD_NAMES = ["title", "published_date", "url", "author", "summary", "highlights", "content"]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=10,
)
FIELD_VALUES = (
    st.sampled_from(["", " ", "2025-01-17", "- a\n- b"]) | st.text(max_size=30) | JSON_VALUES
)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("articles_props")


def parsed_or_error(text: str) -> Article | ArticleError:
    try:
        return parse_tagged(text, source="p.txt")
    except ArticleError as exc:
        return exc


@FAST
@given(st.text())
def test_parse_tagged_on_any_text(text: str) -> None:
    assert isinstance(parsed_or_error(text), Article | ArticleError)


@FAST
@given(TAG_SOUP)
def test_parse_tagged_on_tag_soup(text: str) -> None:
    result = parsed_or_error(text)
    if isinstance(result, Article):
        assert result.title and result.content
        assert result.title == result.title.strip()
        assert len(result.id) == 16 and len(result.content_hash) == 64
    else:
        assert str(result).startswith("p.txt: ") and result.path == "p.txt"


@FAST
@given(
    title=NO_TAGS.filter(str.strip),
    content=NO_TAGS.filter(str.strip),
    url=NO_TAGS,
    highlights=st.lists(NO_TAGS.filter(str.strip), max_size=4),
)
def test_tagged_and_json_agree(title: str, content: str, url: str, highlights: list[str]) -> None:
    bullets = "".join(f"- {h.replace(chr(10), ' ').replace(chr(13), ' ')}\n" for h in highlights)
    text = (
        f"<CONTENT>{content}</CONTENT>\n<URL>{url}</URL>\n<TITLE>{title}</TITLE>\n"
        f"<HIGHLIGHTS>\n{bullets}</HIGHLIGHTS>"
    )
    article = parse_tagged(text)
    assert article.title == " ".join(title.split())
    assert article.content.split() == content.split()
    assert len(article.highlights) <= len(highlights)
    record = {"title": title, "content": content, "url": url, "highlights": bullets}
    assert parse_json_record(record).content_hash == article.content_hash


@FAST
@given(st.fixed_dictionaries({}, optional={name: FIELD_VALUES for name in [*FIELD_NAMES, "x"]}))
def test_parse_json_record_on_any_object(record: dict) -> None:
    try:
        article = parse_json_record(record)
    except ArticleError:
        return
    assert article.title and article.content


@FAST
@given(
    data=st.binary(max_size=400) | TAG_SOUP.map(str.encode),
    suffix=st.sampled_from([".txt", ".jsonl"]),
    max_bytes=st.sampled_from([50, 10_000]),
)
def test_read_file_on_any_bytes(scratch: Path, data: bytes, suffix: str, max_bytes: int) -> None:
    path = scratch / f"article{suffix}"
    path.write_bytes(data)
    items = list(read_file(path, max_bytes=max_bytes))
    assert items, "read_file must answer for every file"
    assert all(isinstance(item, Article | ArticleError) for item in items)
    if suffix == ".txt":
        assert len(items) == 1


@FAST
@given(st.lists(FIELD_VALUES.map(json.dumps) | st.sampled_from(["", "{", "[1"]), max_size=8))
def test_read_file_jsonl_one_item_per_line(scratch: Path, lines: list[str]) -> None:
    path = scratch / "lines.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    items = list(read_file(path))
    non_blank = sum(1 for line in lines if line.strip())
    assert len(items) == max(non_blank, 1)
    assert all(isinstance(item, Article | ArticleError) for item in items)

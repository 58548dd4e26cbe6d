"""The article parser: tagged .txt, JSON Lines, bad input, discovery."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from pathlib import Path

import pytest

from assistant.errors import ArticleError
from assistant.settings import BUNDLED_ARTICLES, REPO_ROOT
from assistant.types import Article
from index.articles import (
    ARTICLE_SUFFIXES,
    discover,
    parse_json_record,
    parse_tagged,
    read_file,
)

SEED = BUNDLED_ARTICLES / "000_460c06224ffb2416.txt"
NEWSQA_ARTICLES = REPO_ROOT.parent / "shared" / "newsqa-2025" / "articles"


def tagged(**sections: str) -> str:
    return "\n".join(f"<{name.upper()}>{body}</{name.upper()}>" for name, body in sections.items())


def only(items: list[Article | ArticleError]) -> Article | ArticleError:
    assert len(items) == 1, items
    return items[0]


def write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


# --- the formats ---------------------------------------------------------------------------


def test_seed_parses_with_every_field() -> None:
    article = only(list(read_file(SEED)))
    assert isinstance(article, Article)
    assert article.title == "Russia and Iran move to strengthen military ties"
    assert article.published == dt.date(2025, 1, 17)
    assert article.url == "https://www.bbc.com/news/articles/c87dd4n4jd0o"
    assert article.author == "Robert Plummer"
    assert article.summary.startswith("Russia and Iran have strengthened their military ties")
    assert article.summary.endswith("China and North Korea.")
    assert len(article.highlights) == 5
    assert article.highlights[0].startswith('The two countries signed a 20-year "strategic')
    assert all(not h.startswith("-") for h in article.highlights)
    assert article.content.startswith("Russia and Iran have agreed")
    assert article.content.endswith("said Putin.")
    assert article.source == str(SEED)
    assert article.outlet == "bbc.com"
    assert article.warnings == ()
    url_hash = hashlib.sha256(article.url.encode()).hexdigest()
    assert article.id == url_hash[:16]
    assert len(article.content_hash) == 64


@pytest.mark.skipif(not NEWSQA_ARTICLES.is_dir(), reason="newsqa-2025 is not checked out")
def test_newsqa_article_id_is_its_file_name_hash() -> None:
    path = NEWSQA_ARTICLES / "00000_1612876e3bb5d356.txt"
    article = only(list(read_file(path)))
    assert isinstance(article, Article)
    assert article.id == "1612876e3bb5d356"
    assert article.published == dt.date(2015, 5, 14)
    assert article.author == ""  # this one has no AUTHOR tag


def test_tags_in_any_order_and_optional_ones_missing() -> None:
    text = tagged(content="\n  Body text.\n", published_date=" 2025-02-03 ", title=" A  title ")
    article = parse_tagged(text)
    assert (article.title, article.content) == ("A title", "Body text.")
    assert article.published == dt.date(2025, 2, 3)
    assert (article.url, article.author, article.summary, article.highlights) == ("", "", "", ())


def test_id_without_url_hashes_title_and_content() -> None:
    article = parse_tagged(tagged(title="T", content="C"))
    assert article.id == hashlib.sha256(b"T\nC").hexdigest()[:16]


def test_content_keeps_its_text_but_collapses_long_blank_runs() -> None:
    body = "First.\r\n\r\n\r\n\r\n\r\n  Second, indented.\n\n\nThird."
    article = parse_tagged(tagged(title="T", content=body))
    assert article.content == "First.\n\n\n  Second, indented.\n\n\nThird."


def test_content_may_hold_other_tags_verbatim() -> None:
    article = parse_tagged(tagged(title="T", content="a <TITLE>b</TITLE> <URL> c"))
    assert article.content == "a <TITLE>b</TITLE> <URL> c"


@pytest.mark.parametrize(
    "written",
    [
        "2025-01-17",
        "2025-01-17T10:00:00Z",
        "2025-01-17T23:30:00-05:00",
        "2025-01-17 10:00",
        "January 17, 2025",
        "Jan 17, 2025",
        "17 Jan 2025",
        "17 January 2025",
        "Friday, January 17, 2025",
        "Fri, 17 Jan 2025 10:00:00 GMT",
    ],
)
def test_common_date_forms(written: str) -> None:
    article = parse_tagged(tagged(title="T", published_date=written, content="C"))
    assert article.published == dt.date(2025, 1, 17)
    assert article.warnings == ()


@pytest.mark.parametrize("written", ["xyz", "17/01/2025", "2025-13-45"])
def test_unparseable_date_keeps_the_article_with_a_warning(written: str) -> None:
    article = parse_tagged(tagged(title="T", published_date=written, content="C"))
    assert article.published is None
    assert article.content == "C"
    (warning,) = article.warnings
    assert f"unparseable PUBLISHED_DATE {written!r}" in warning
    assert "YYYY-MM-DD" in warning


def test_missing_date_is_a_warning_not_an_error() -> None:
    article = parse_tagged(tagged(title="T", content="C"))
    assert article.published is None
    assert any("no PUBLISHED_DATE" in w for w in article.warnings)


def test_text_outside_the_tags_is_ignored_with_a_warning() -> None:
    article = parse_tagged("junk here\n" + tagged(title="T", content="C"))
    assert article.content == "C"
    assert any("outside the tags" in w and "junk here" in w for w in article.warnings)


def test_highlights_without_bullets_are_one_per_line() -> None:
    article = parse_tagged(tagged(title="T", highlights="\nOne\n\nTwo\n", content="C"))
    assert article.highlights == ("One", "Two")


def test_content_hash_changes_with_any_field() -> None:
    base = {"title": "T", "published_date": "2025-01-01", "url": "http://x.org/a"}
    base |= {"author": "A", "summary": "S", "highlights": "- H", "content": "C"}
    first = parse_tagged(tagged(**base))
    hashes = {first.content_hash}
    for name, value in base.items():
        edited = parse_tagged(tagged(**(base | {name: value + "2"})))
        hashes.add(edited.content_hash)
    assert len(hashes) == len(base) + 1
    assert parse_tagged(tagged(**base), source="elsewhere").content_hash == first.content_hash


def test_json_record_matches_the_tagged_article() -> None:
    seed = parse_tagged(SEED.read_text(encoding="utf-8"))
    record = {
        "title": seed.title,
        "published_date": "2025-01-17",
        "url": seed.url,
        "author": seed.author,
        "summary": seed.summary,
        "highlights": list(seed.highlights),
        "content": seed.content,
    }
    article = parse_json_record(record, source="x.jsonl:1")
    assert article.content_hash == seed.content_hash
    assert article.id == seed.id
    assert article.source == "x.jsonl:1"
    as_string = parse_json_record(record | {"highlights": "- a\n- b"})
    assert as_string.highlights == ("a", "b")


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (tagged(content="C"), "no <TITLE> section"),
        (tagged(title="T"), "no <CONTENT> section"),
        ("just some prose", "no <TITLE> section"),
        (tagged(title="  ", content="C"), "title is empty"),
        (tagged(title="T", content=" \n\n "), "content is empty"),
        ("<TITLE>T\n<CONTENT>C</CONTENT>", "<TITLE> on line 1 is never closed; add </TITLE>"),
        ("<TITLE>T</TITLE>\n<CONTENT>C", "<CONTENT> on line 2 is never closed"),
        (
            "<TITLE>T\n<URL>u</URL></TITLE><CONTENT>C</CONTENT>",
            "<TITLE> on line 1 is not closed before <URL>",
        ),
        ("</URL>" + tagged(title="T", content="C"), "</URL> on line 1 has no matching <URL>"),
        (tagged(title="T", content="C") + "\n<TITLE>U</TITLE>", "<TITLE> appears a second time"),
    ],
)
def test_bad_tagged_text_says_what_to_fix(text: str, expected: str) -> None:
    with pytest.raises(ArticleError, match="^a.txt: ") as caught:
        parse_tagged(text, source="a.txt")
    assert expected in str(caught.value)
    assert caught.value.path == "a.txt"


def test_invalid_utf8_file(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", tagged(title="T", content="caf").encode() + b"\xe9\n")
    error = only(list(read_file(path)))
    assert isinstance(error, ArticleError)
    assert "not valid UTF-8" in str(error) and "re-save" in str(error)
    assert str(path) in str(error)


def test_utf8_bom_is_fine(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", b"\xef\xbb\xbf" + tagged(title="T", content="C").encode())
    article = only(list(read_file(path)))
    assert isinstance(article, Article) and article.title == "T"


@pytest.mark.parametrize("suffix", ARTICLE_SUFFIXES)
def test_binary_file(tmp_path: Path, suffix: str) -> None:
    path = write(tmp_path / f"a{suffix}", "<TITLE>T</TITLE>".encode("utf-16"))
    error = only(list(read_file(path)))
    assert isinstance(error, ArticleError) and "binary" in str(error)


@pytest.mark.parametrize("data", [b"", b"\n \n", b"\xef\xbb\xbf"])
@pytest.mark.parametrize("suffix", ARTICLE_SUFFIXES)
def test_empty_file(tmp_path: Path, suffix: str, data: bytes) -> None:
    error = only(list(read_file(write(tmp_path / f"a{suffix}", data))))
    assert isinstance(error, ArticleError) and "the file is empty" in str(error)


def test_file_over_the_size_limit(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", tagged(title="T", content="x" * 500))
    error = only(list(read_file(path, max_bytes=100)))
    assert isinstance(error, ArticleError)
    assert "over the limit of 100 bytes" in str(error) and "max_bytes" in str(error)
    assert isinstance(only(list(read_file(path, max_bytes=1000))), Article)


def test_unsupported_or_missing_file(tmp_path: Path) -> None:
    pdf = write(tmp_path / "a.pdf", tagged(title="T", content="C"))
    error = only(list(read_file(pdf)))
    assert isinstance(error, ArticleError) and "unsupported file type ('.pdf')" in str(error)
    missing = only(list(read_file(tmp_path / "gone.txt")))
    assert isinstance(missing, ArticleError) and "no such file" in str(missing)
    folder = only(list(read_file(tmp_path)))
    assert isinstance(folder, ArticleError)


def test_jsonl_bad_lines_among_good_ones(tmp_path: Path) -> None:
    good = {"title": "T", "content": "C", "published_date": "2025-01-17"}
    lines = [
        json.dumps(good),
        "{not json",
        "",
        json.dumps(good | {"url": "http://x.org/2"}),
        json.dumps(["a", "list"]),
        json.dumps({"title": "T"}),
        json.dumps(good | {"title": 3}),
        json.dumps(good | {"content": "\ud800"}),  # a lone surrogate, as a JSON escape
        "NOT-UTF8",
        "[" * 100_000,
        json.dumps(good | {"highlights": [1]}),
        json.dumps(good | {"url": "http://x.org/3", "published_date": "soon"}),
    ]
    data = "\n".join(lines).encode().replace(b"NOT-UTF8", b'{"title": "caf\xe9"}')
    path = write(tmp_path / "many.jsonl", data)
    items = list(read_file(path))
    kinds = ["A" if isinstance(item, Article) else "E" for item in items]
    assert kinds == list("AEAEEEEEEEA")
    assert all(isinstance(item, Article | ArticleError) for item in items)
    messages = [str(item) for item in items if isinstance(item, ArticleError)]
    expected = [
        ":2: not valid JSON",
        ":5: expected a JSON object",
        ":6: no 'content' field",
        ":7: field 'title' must be a string, got a number",
        ":8: field 'content' holds an invalid character",
        ":9: not valid UTF-8 (byte 0xe9 on line 9)",
        ":10: not valid JSON",
        ":11: field 'highlights' must be a list of strings",
    ]
    for message, fragment in zip(messages, expected, strict=True):
        assert message.startswith(str(path)) and fragment in message
    assert [item.source for item in items if isinstance(item, Article)] == [
        f"{path}:1",
        f"{path}:4",
        f"{path}:12",
    ]
    assert items[-1].warnings and items[-1].published is None


def test_jsonl_line_limit_skips_only_the_long_line(tmp_path: Path) -> None:
    record = json.dumps({"title": "T", "content": "C"})
    long_line = json.dumps({"title": "T", "content": "x" * 5000})
    path = write(tmp_path / "a.jsonl", "\ufeff" + "\n".join([record, long_line, record]))
    items = list(read_file(path, max_bytes=1000))
    assert [type(item) for item in items] == [Article, ArticleError, Article]
    assert f"{path}:2: the line is over the limit of 1,000 bytes" in str(items[1])
    assert items[2].source == f"{path}:3"


# --- discovery -----------------------------------------------------------------------------


def test_discover_expands_folders_and_reports_bad_paths(tmp_path: Path) -> None:
    for name in ["b.txt", "a.jsonl", "sub/c.TXT", "notes.md", ".hidden.txt", ".git/d.txt"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).touch()
    explicit_pdf = write(tmp_path / "x.pdf", "")
    files, errors = discover([tmp_path, str(tmp_path / "b.txt"), tmp_path / "nope", explicit_pdf])
    assert files == [tmp_path / "a.jsonl", tmp_path / "b.txt", tmp_path / "sub" / "c.TXT"]
    assert len(errors) == 2
    assert "no such file or folder" in str(errors[0]) and "nope" in str(errors[0])
    assert "unsupported file type ('.pdf')" in str(errors[1])


def test_discover_ten_thousand_files_quickly(tmp_path: Path) -> None:
    for folder in range(10):
        sub = tmp_path / f"f{folder}"
        sub.mkdir()
        for i in range(1000):
            (sub / f"{i}.txt").touch()
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "skip.txt").touch()
    start = time.perf_counter()
    files, errors = discover([tmp_path])
    elapsed = time.perf_counter() - start
    assert len(files) == 10_000 and errors == []
    assert files == sorted(files)
    assert elapsed < 2.0

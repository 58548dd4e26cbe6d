"""The records that flow through the assistant: Article -> Chunk -> Passage -> Answer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

__all__ = ["Article", "Chunk", "Passage", "Citation", "Answer", "DateWindow", "Filters", "outlet_of"]

ChunkKind = Literal["content", "summary", "highlights"]


def outlet_of(url: str | None) -> str:
    """The outlet of an article is the domain of its URL, without a leading ``www.``."""
    if not url:
        return ""
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


@dataclass(frozen=True)
class Article:
    """One news article as parsed from a file.

    ``id`` is the first 16 hex digits of sha256(url) when there is a URL (the convention of
    the newsqa-2025 files), else of sha256(title + content), so the same story keeps its id
    across edits of its text only when it has a URL.
    """

    id: str
    title: str
    content: str
    url: str = ""
    author: str = ""
    published: dt.date | None = None
    summary: str = ""
    highlights: tuple[str, ...] = ()
    source: str = ""
    content_hash: str = ""
    warnings: tuple[str, ...] = ()

    @property
    def outlet(self) -> str:
        return outlet_of(self.url)


@dataclass(frozen=True)
class Chunk:
    """A passage of an article sized for the embedder.

    ``text`` is the passage as shown to people and the LLM; ``embed_text`` is what gets
    embedded (title and date first, so a passage that never names its subject still
    retrieves). ``start``/``end`` are character offsets into the article section named by
    ``kind``.
    """

    id: str
    article_id: str
    kind: ChunkKind
    position: int
    text: str
    embed_text: str
    start: int
    end: int


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with what the answer and the UI need to show it."""

    chunk_id: str
    article_id: str
    text: str
    title: str
    url: str
    outlet: str
    published: dt.date | None
    kind: str = "content"
    start: int = 0
    end: int = 0
    score: float = 0.0
    also_reporting: tuple[tuple[str, str, str], ...] = ()  # (title, outlet, url)
    # The chunks joined into this passage, in text order; empty for a single chunk.
    chunk_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class DateWindow:
    """An inclusive published-date range; either end may be open."""

    start: dt.date | None = None
    end: dt.date | None = None
    label: str = ""

    def contains(self, day: dt.date | None) -> bool:
        if day is None:
            return self.start is None and self.end is None
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class Filters:
    """What the caller restricts retrieval to."""

    since: dt.date | None = None
    until: dt.date | None = None
    outlets: tuple[str, ...] = ()
    exclude_articles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Citation:
    n: int
    title: str
    url: str
    outlet: str
    published_date: dt.date | None
    passage: str
    score: float
    article_id: str = ""

    def to_json(self) -> dict:
        return {
            "n": self.n,
            "title": self.title,
            "url": self.url,
            "outlet": self.outlet,
            "published_date": self.published_date.isoformat() if self.published_date else None,
            "passage": self.passage,
            "score": self.score,
        }


@dataclass(frozen=True)
class Answer:
    text: str
    citations: tuple[Citation, ...] = ()
    passages: tuple[Passage, ...] = ()
    date_window: DateWindow | None = None
    timings: dict[str, float] = field(default_factory=dict)
    # grounded: at least one citation points to a passage shown to the model.
    # attributed: the model gave none, and the checker found the passage the answer is in.
    grounded: bool = True
    attributed: bool = False
    refused: bool = False
    # Share of the question's words found in the best cited passage (see chain.support).
    support: float = 0.0
    question: str = ""

    def to_json(self) -> dict:
        window = None
        if self.date_window is not None:
            window = [
                self.date_window.start.isoformat() if self.date_window.start else None,
                self.date_window.end.isoformat() if self.date_window.end else None,
            ]
        return {
            "question": self.question,
            "answer": self.text,
            "citations": [c.to_json() for c in self.citations],
            # What the model was shown, in order: [n] in the answer is sources[n-1].
            "sources": [
                {"chunk_id": p.chunk_id, "chunk_ids": list(p.chunk_ids or (p.chunk_id,)),
                 "article_id": p.article_id, "title": p.title,
                 "url": p.url, "published_date": p.published.isoformat() if p.published else None}
                for p in self.passages
            ],
            "date_window": window,
            "timings": {
                k: self.timings.get(k) for k in ("retrieval_s", "first_token_s", "total_s")
            },
        }

"""Conversations kept server-side in SQLite, so they survive a restart of the app.

One file (``settings.data_dir / "conversations.sqlite"``) holds every conversation and its
turns: the question, the answer text as the model wrote it (with its ``[n]`` markers), the
cited sources as JSON and a little metadata (date window, timings), which is all the app
needs to show an old answer again exactly as it was.

One connection is shared by the app's worker threads behind a lock: SQLite serialises
writers anyway, and the writes here are tiny.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.sqlite import open_database

__all__ = ["ConversationStore", "Conversation", "ConversationSummary", "Turn", "TITLE_CHARS"]

TITLE_CHARS = 80

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    citations TEXT NOT NULL,
    meta TEXT NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (conversation_id, position)
);
CREATE INDEX IF NOT EXISTS conversations_recent ON conversations(updated_at DESC);
"""


@dataclass(frozen=True)
class Turn:
    question: str
    answer: str
    citations: tuple[dict[str, Any], ...] = ()
    meta: dict[str, Any] | None = None
    created_at: float = 0.0


@dataclass(frozen=True)
class ConversationSummary:
    id: str
    title: str
    updated_at: float
    turns: int


@dataclass(frozen=True)
class Conversation:
    id: str
    title: str
    created_at: float
    updated_at: float
    turns: tuple[Turn, ...]

    @property
    def history(self) -> list[tuple[str, str]]:
        """The (question, answer) pairs, as ``Assistant.stream_answer(history=)`` takes them."""
        return [(t.question, t.answer) for t in self.turns]


def _title(text: str) -> str:
    title = " ".join(text.split())
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1].rstrip() + "…"


class ConversationStore:
    """Create, append to, list and load conversations; safe to share between threads."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._db = open_database(self.path, _SCHEMA, what="conversation store",
                                 pragmas=("foreign_keys=ON",))
        self._lock = threading.Lock()

    def create(self, title: str) -> str:
        """A new, empty conversation; returns its id. ``title`` is cut to one short line."""
        conversation_id = uuid.uuid4().hex
        now = time.time()
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO conversations(id, title, created_at, updated_at) VALUES(?, ?, ?, ?)",
                (conversation_id, _title(title) or "Untitled", now, now),
            )
        return conversation_id

    def append(
        self,
        conversation_id: str,
        question: str,
        answer: str,
        citations: Sequence[dict[str, Any]] = (),
        meta: dict[str, Any] | None = None,
    ) -> Turn:
        """Add one turn at the end of the conversation (KeyError if there is no such one)."""
        now = time.time()
        turn = Turn(question, answer, tuple(citations), meta, now)
        with self._lock, self._db:
            found = self._db.execute(
                "SELECT COALESCE(MAX(t.position), -1) FROM conversations c LEFT JOIN turns t"
                " ON t.conversation_id = c.id WHERE c.id = ? GROUP BY c.id",
                (conversation_id,),
            ).fetchone()
            if found is None:
                raise KeyError(conversation_id)
            self._db.execute(
                "INSERT INTO turns(conversation_id, position, question, answer, citations, meta,"
                " created_at) VALUES(?, ?, ?, ?, ?, ?, ?)",
                (conversation_id, found[0] + 1, question, answer,
                 json.dumps(list(citations)), json.dumps(meta or {}), now),
            )
            self._db.execute(
                "UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id)
            )
        return turn

    def recent(self, limit: int = 50) -> list[ConversationSummary]:
        """The conversations that have at least one turn, most recently active first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT c.id, c.title, c.updated_at, COUNT(t.id) FROM conversations c"
                " JOIN turns t ON t.conversation_id = c.id GROUP BY c.id"
                " ORDER BY c.updated_at DESC, c.rowid DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [ConversationSummary(*row) for row in rows]

    def load(self, conversation_id: str) -> Conversation | None:
        """The conversation with its turns in order, or None when there is no such one."""
        with self._lock:
            head = self._db.execute(
                "SELECT id, title, created_at, updated_at FROM conversations WHERE id = ?",
                (conversation_id,),
            ).fetchone()
            if head is None:
                return None
            rows = self._db.execute(
                "SELECT question, answer, citations, meta, created_at FROM turns"
                " WHERE conversation_id = ? ORDER BY position",
                (conversation_id,),
            ).fetchall()
        turns = tuple(
            Turn(q, a, tuple(json.loads(c)), json.loads(m) or None, at) for q, a, c, m, at in rows
        )
        return Conversation(*head, turns=turns)

    def close(self) -> None:
        with self._lock:
            self._db.close()

"""Opening the project's SQLite files (index manifest, conversations) the same way."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from assistant.errors import IndexError_

__all__ = ["open_database"]


def open_database(path: Path, schema: str, *, what: str, pragmas: tuple[str, ...] = ()) -> sqlite3.Connection:
    """A connection shared between threads (callers hold their own lock), in WAL mode,
    with ``schema`` applied; an unwritable place is an IndexError_ that says what to do."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, check_same_thread=False, timeout=60)
        for pragma in ("journal_mode=WAL", *pragmas):
            db.execute(f"PRAGMA {pragma}")
        db.executescript(schema)
    except (OSError, sqlite3.Error) as exc:
        raise IndexError_(
            f"cannot open the {what} at {path} ({exc}): check that the folder is writable "
            "and the disk has space, or set ASSISTANT_DATA_DIR elsewhere"
        ) from exc
    return db

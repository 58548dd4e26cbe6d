"""The index: Chroma for vectors, SQLite for the manifest and the lexical (BM25) index.

Why two stores, and how they stay in step
-----------------------------------------
Chroma holds one record per chunk (vector, passage text, metadata). Chroma has no local
BM25, so the lexical side is SQLite FTS5 (BM25 ranking built in, porter stemming), in the
same SQLite file as the manifest of ingested articles. One SQLite transaction updates an
article's manifest row and its lexical rows together, so those two can never disagree;
no full rebuild of the lexical index is ever needed, and it persists as it is written.

Chroma is written between two SQLite commits, crash-safely:

1. ``begin``: the article is marked ``pending`` in the manifest (committed).
2. Its old chunks are deleted from Chroma and its new chunks upserted, under
   deterministic ids (``{article}:{kind}:{position}``), so a replay writes the same records.
3. ``commit``: lexical rows replaced and the article marked ``done`` (one transaction).

A process killed anywhere in between leaves the article ``pending``; the next run
(``recover()``) deletes whatever Chroma holds for it and ingests it again. So after any
crash and a rerun, every article is in the index exactly once.

Several processes, one Chroma server
------------------------------------
With ``ASSISTANT_CHROMA_URL`` many app processes (on many machines) share one Chroma
server, and each keeps its own SQLite file: a local lexical index that must not go stale
when another process ingests. So Chroma also holds the shared manifest, a second
collection ``{collection}.manifest`` with one record per article: its content hash, state
(``done`` or ``deleted``, a tombstone) and ``seq``, the writer's clock in microseconds.
A writer publishes ``done`` after the article's vectors are in and ``deleted`` after they
are gone, both before its own commit of step 3, so a kill never leaves an article done
here but unpublished. Every process ``sync()``s before it searches (at most every
``sync_seconds``): it reads the records whose ``seq`` is past what it has seen, less five
minutes for clock skew between machines, and rebuilds the lexical rows of each article
whose hash differs from its own from the chunks Chroma holds (each chunk's metadata
carries the header that was embedded with it, so the rebuilt rows equal the writer's).
Applying a record twice changes nothing, so the overlap costs only a read. The embedded
store runs the same code; there the only writer is the process itself, and a lock file
(``index.store_lock``) keeps other processes from writing while it has the store open.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.errors import ConfigError, EmptyIndexError, IndexError_, IndexUnavailableError
from assistant.sqlite import open_database
from assistant.terms import content_terms
from assistant.types import Article, Chunk, Filters, Passage
from index.common_terms import CommonTerms
from index.store_lock import StoreLock

__all__ = ["ChunkStore", "ManifestEntry", "IndexStats", "close_chroma", "date_number", "open_chroma"]

_TOKENIZER = "porter unicode61"
# From this share of chunks inside a date filter up, dense search filters Chroma's nearest
# ids itself rather than passing Chroma a ``where`` (see ``ChunkStore.dense_search``): at
# 0.02 it asks for 100 times k ids, which Chroma returns in ~25 ms at 100k chunks.
_POSTFILTER_SHARE = 0.02
_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    source TEXT NOT NULL,
    title TEXT NOT NULL,
    url TEXT NOT NULL,
    outlet TEXT NOT NULL,
    published TEXT,
    n_chunks INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY,
    id TEXT UNIQUE NOT NULL,
    article_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    position INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    published_num INTEGER,
    outlet TEXT NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_id);
CREATE INDEX IF NOT EXISTS chunks_published ON chunks(published_num);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(body, tokenize='{tokenizer}');
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
""".replace("{tokenizer}", _TOKENIZER)



log = logging.getLogger(__name__)

_SKEW_US = 300 * 1_000_000
_FETCH = 200


def _now_seq() -> int:
    return time.time_ns() // 1000


def date_number(day: dt.date | None) -> int | None:
    """A date as the number YYYYMMDD: readable, and ordered for range filters."""
    return day.year * 10_000 + day.month * 100 + day.day if day else None


def _number_to_date(value: Any) -> dt.date | None:
    if not isinstance(value, int) or value <= 0:
        return None
    return dt.date(value // 10_000, value // 100 % 100, value % 100)


@dataclass(frozen=True)
class ManifestEntry:
    id: str
    content_hash: str
    source: str
    state: str


@dataclass(frozen=True)
class IndexStats:
    articles: int
    chunks: int
    first_published: str | None
    last_published: str | None
    outlets: dict[str, int]

    def to_json(self) -> dict:
        return {
            "articles": self.articles,
            "chunks": self.chunks,
            "first_published": self.first_published,
            "last_published": self.last_published,
            "outlets": self.outlets,
        }


def open_chroma(chroma_dir: Path, chroma_url: str | None):
    """An embedded Chroma client in ``chroma_dir``, or an HTTP client for ``chroma_url``."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False)
    if chroma_url:
        from urllib.parse import urlsplit

        import httpx

        # Ask first: a client whose constructor fails leaves its HTTP session open.
        with httpx.Client(timeout=10) as probe:
            answer = probe.get(chroma_url.rstrip("/") + "/api/v2/heartbeat")
        if answer.is_error:
            raise ConfigError(
                f"{chroma_url} answered {answer.status_code} to Chroma's heartbeat: set "
                "ASSISTANT_CHROMA_URL to a Chroma server (`chroma run`), or unset it to use "
                "the embedded store"
            )
        from chromadb.api.shared_system_client import SharedSystemClient

        parts = urlsplit(chroma_url)
        before = set(SharedSystemClient._identifier_to_system)
        client = chromadb.HttpClient(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 8000,
            ssl=parts.scheme == "https",
            settings=settings,
        )
        client._news_assistant_systems = set(SharedSystemClient._identifier_to_system) - before
        return client
    chroma_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(chroma_dir), settings=settings)


def _chunk_metadata(article: Article, chunk: Chunk) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "article_id": article.id,
        "title": article.title,
        "url": article.url,
        "outlet": article.outlet,
        "author": article.author,
        "published": article.published.isoformat() if article.published else "",
        "kind": chunk.kind,
        "position": chunk.position,
        "start": chunk.start,
        "end": chunk.end,
        "source": article.source,
        # What was embedded before the passage: lets another process rebuild the exact
        # lexical row from Chroma alone (module doc).
        "header": chunk.embed_text[: len(chunk.embed_text) - len(chunk.text)],
    }
    number = date_number(article.published)
    if number is not None:  # absent, not null: range filters then leave undated articles out
        meta["published_num"] = number
    return meta


class ChunkStore:
    """Chroma collection + SQLite manifest and lexical index for one collection.

    ``common_share``: query words found in more than this share of the chunks are left out
    of lexical searches (``index.common_terms``); 0 searches every word.
    """

    def __init__(
        self,
        data_dir: Path,
        collection: str = "news",
        *,
        chroma_url: str | None = None,
        client: Any = None,
        sync_seconds: float = 2.0,
        common_share: float = 0.0,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.collection_name = collection
        self._where = chroma_url or "the embedded Chroma store"
        # Only an embedded store this object opens is this process's alone to guard; a
        # server, or a client passed in, is shared by design (index.store_lock). One lock
        # for the folder: every collection in it lives in the one Chroma directory.
        self._dir_lock = None
        if chroma_url is None and client is None:
            self._dir_lock = StoreLock(self.data_dir / "chroma.lock")
        try:
            self._open(collection, chroma_url, client, sync_seconds, common_share)
        except BaseException:
            if self._dir_lock is not None:
                self._dir_lock.release()
            raise

    def _open(self, collection: str, chroma_url: str | None, client: Any,
              sync_seconds: float, common_share: float) -> None:
        self._db = open_database(self.data_dir / f"{collection}.sqlite", _SCHEMA,
                                 what="index", pragmas=("synchronous=NORMAL",))
        self._common = CommonTerms(self._db, "chunks_fts", _TOKENIZER)
        self.common_share = common_share
        self._rows_seen = (-1, 0)
        self._lock = threading.RLock()
        self._sync_seconds = sync_seconds
        self._synced_at = float("-inf")
        self._owns_client = client is None
        with self._reaching_chroma():
            self._client = client or open_chroma(self.data_dir / "chroma", chroma_url)
            self._collection = self._client.get_or_create_collection(
                collection, embedding_function=None, metadata={"hnsw:space": "cosine"}
            )
            self._shared = self._client.get_or_create_collection(
                f"{collection}.manifest", embedding_function=None
            )

    @contextmanager
    def _reaching_chroma(self) -> Iterator[None]:
        """Turn a Chroma server that does not answer into an error that says what to do."""
        try:
            yield
        except Exception as exc:
            if not _unreachable(exc):
                raise
            raise IndexUnavailableError(
                f"cannot reach {self._where} ({type(exc).__name__}: {exc}); start the Chroma "
                "server (`chroma run --path DIR --host 127.0.0.1 --port 8000`) and ask again: "
                "nothing was lost, and the app reconnects by itself"
            ) from exc

    # -- manifest ---------------------------------------------------------------------
    def manifest(self) -> dict[str, ManifestEntry]:
        with self._lock:
            rows = self._db.execute("SELECT id, content_hash, source, state FROM articles")
            return {r[0]: ManifestEntry(*r) for r in rows}

    def version(self) -> int:
        """A number that changes whenever the index content changes (for caches)."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key='version'").fetchone()
        return int(row[0]) if row else 0

    def _bump_version(self) -> None:
        self._db.execute(
            "INSERT INTO meta(key, value) VALUES('version', '1') ON CONFLICT(key) "
            "DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )

    # -- writing ----------------------------------------------------------------------
    def writing(self) -> AbstractContextManager[None]:
        """This process alone writes the embedded store for the block, or IndexBusyError at
        once if another has it open (index.store_lock); a Chroma server needs no hold.
        Reentrant: ``write`` and ``remove`` hold it too, for callers that do not."""
        return self._dir_lock.writing() if self._dir_lock is not None else nullcontext()

    def write(self, items: Sequence[tuple[Article, Sequence[Chunk]]], embeddings: Any) -> None:
        """Replace each article's chunks with the given ones, crash-safely (module doc)."""
        if not items:
            return
        with self.writing():
            self._write(items, embeddings)

    def _write(self, items: Sequence[tuple[Article, Sequence[Chunk]]], embeddings: Any) -> None:
        ids = [a.id for a, _ in items]
        with self._lock, self._db:
            now = time.time()
            self._db.executemany(
                "INSERT INTO articles(id, content_hash, source, title, url, outlet, published,"
                " n_chunks, state, updated_at) VALUES(?, '', ?, ?, ?, ?, ?, 0, 'pending', ?)"
                " ON CONFLICT(id) DO UPDATE SET state='pending', updated_at=excluded.updated_at",
                [
                    (a.id, a.source, a.title, a.url, a.outlet, _iso(a.published), now)
                    for a, _ in items
                ],
            )
        chunks = [(a, c) for a, cs in items for c in cs]
        with self._reaching_chroma():
            self._delete_vectors(ids, keep={c.id for _, chunks in items for c in chunks})
            self._upsert_vectors(chunks, embeddings)
        # Published before the local commit: a kill in between leaves the article pending
        # here, so the rerun redoes and republishes it (module doc).
        self._publish([(a.id, _shared_record(a, len(cs))) for a, cs in items])
        with self._lock, self._db:
            self._delete_lexical(ids)
            self._insert_lexical([
                (c.id, a.id, c.kind, c.position, c.start, c.end, date_number(a.published),
                 a.outlet, c.text, c.embed_text)
                for a, c in chunks
            ])
            self._db.executemany(
                "UPDATE articles SET content_hash=?, source=?, title=?, url=?, outlet=?,"
                " published=?, n_chunks=?, state='done', updated_at=? WHERE id=?",
                [
                    (a.content_hash, a.source, a.title, a.url, a.outlet, _iso(a.published),
                     len(cs), time.time(), a.id)
                    for a, cs in items
                ],
            )
            self._bump_version()

    def remove(self, article_ids: Iterable[str]) -> int:
        ids = list(article_ids)
        if not ids:
            return 0
        with self.writing():
            self._remove(ids)
        return len(ids)

    def _remove(self, ids: list[str]) -> None:
        with self._lock, self._db:
            self._db.executemany(
                "UPDATE articles SET state='pending' WHERE id=?", [(i,) for i in ids]
            )
        with self._reaching_chroma():
            self._delete_vectors(ids)
        self._publish([(i, {"state": "deleted"}) for i in ids])
        with self._lock, self._db:
            self._delete_lexical(ids)
            self._db.executemany("DELETE FROM articles WHERE id=?", [(i,) for i in ids])
            self._bump_version()

    def _publish(self, records: list[tuple[str, dict[str, Any]]]) -> None:
        """Tell the other processes sharing this Chroma what changed (module doc)."""
        seq = _now_seq()
        with self._reaching_chroma():
            for start in range(0, len(records), 1000):
                part = records[start : start + 1000]
                self._shared.upsert(
                    ids=[i for i, _ in part],
                    embeddings=[[1.0] for _ in part],
                    metadatas=[{**meta, "seq": seq} for _, meta in part],
                )

    # -- keeping the lexical index in step with other writers ------------------------------
    def sync(self, *, force: bool = False) -> int:
        """Apply what other processes published; returns how many articles changed here."""
        if not force and time.monotonic() - self._synced_at < self._sync_seconds:
            return 0
        self._synced_at = time.monotonic()
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key='synced_seq'").fetchone()
        mark = int(row[0]) if row else 0
        with self._reaching_chroma():
            records = self._shared_since(mark - _SKEW_US)
            if not records:
                return 0
            candidates = self._differing(records)
            fetched = self._chunks_of([i for i, m in candidates if m.get("state") == "done"])
        seen = max(mark, *(int(m.get("seq", 0)) for m in records.values()))
        if not candidates and seen == mark:
            return 0  # only the overlap window, read again: nothing to write
        try:
            with self._lock, self._db:
                # Again under the lock: this process may have begun writing one since.
                changed = self._differing(dict(candidates))
                self._apply(changed, fetched)
                self._db.execute(
                    "INSERT INTO meta(key, value) VALUES('synced_seq', ?) ON CONFLICT(key) "
                    "DO UPDATE SET value = excluded.value",
                    (str(seen),),
                )
                if changed:
                    self._bump_version()
        except sqlite3.Error as exc:
            raise IndexError_(
                f"cannot update the local index in {self.data_dir} ({exc}): check that the "
                "folder is writable and the disk has space, then run the same command again"
            ) from exc
        return len(changed)

    def _differing(self, records: dict[str, dict]) -> list[tuple[str, dict]]:
        """The shared records that would change this process's rows."""
        with self._lock:
            rows = self._rows_for_ids(
                "SELECT id, content_hash, source, state FROM articles WHERE id IN", list(records))
        local = {r[0]: ManifestEntry(*r) for r in rows}
        return [(i, m) for i, m in records.items() if _differs(local.get(i), m)]

    def _rows_for_ids(
        self, select: str, ids: Sequence[str], where: Sequence[str] = (), params: Sequence = ()
    ) -> list[tuple]:
        """Rows of ``select`` (ending in ``IN``) for ``ids``, batched under SQLite's cap on
        bound variables, with the extra ``where`` conditions; the caller holds the lock."""
        rows: list[tuple] = []
        for start in range(0, len(ids), 500):
            part = list(ids[start : start + 500])
            sql = " AND ".join([f"{select} ({','.join('?' * len(part))})", *where])
            rows += self._db.execute(sql, [*part, *params]).fetchall()
        return rows

    def _sync_for_reading(self) -> None:
        """Searching goes on with this process's rows when they cannot be brought up to
        date locally; a server that does not answer still stops it (nothing to search)."""
        try:
            self.sync()
        except IndexUnavailableError:
            raise
        except IndexError_ as exc:
            log.warning("searching without the latest shared changes: %s", exc)

    def _shared_since(self, seq: int) -> dict[str, dict]:
        out: dict[str, dict] = {}
        offset = 0
        while True:
            got = self._shared.get(where={"seq": {"$gte": seq}}, include=["metadatas"],
                                   limit=5000, offset=offset)
            out.update(zip(got["ids"], got["metadatas"]))
            if len(got["ids"]) < 5000:
                return out
            offset += 5000

    def _chunks_of(self, article_ids: list[str]) -> dict[str, list[tuple[str, str, dict]]]:
        out: dict[str, list[tuple[str, str, dict]]] = {i: [] for i in article_ids}
        for start in range(0, len(article_ids), _FETCH):
            got = self._collection.get(where=_article_filter(article_ids[start : start + _FETCH]),
                                       include=["documents", "metadatas"])
            for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"]):
                out[str(meta["article_id"])].append((cid, doc, meta))
        return out

    def _apply(self, changed: list[tuple[str, dict]], fetched: dict[str, list]) -> None:
        """Local manifest and lexical rows as the shared records say (inside a transaction)."""
        self._delete_lexical([i for i, _ in changed])
        self._db.executemany("DELETE FROM articles WHERE id=?", [(i,) for i, _ in changed])
        now = time.time()
        for article_id, record in changed:
            if record.get("state") != "done":
                continue
            rows = fetched.get(article_id, [])
            self._insert_lexical([
                (cid, article_id, m.get("kind", "content"), m.get("position", 0),
                 m.get("start", 0), m.get("end", 0), m.get("published_num"),
                 m.get("outlet", ""), doc, str(m.get("header", "")) + doc)
                for cid, doc, m in rows
            ])
            self._db.execute(
                "INSERT INTO articles(id, content_hash, source, title, url, outlet, published,"
                " n_chunks, state, updated_at) VALUES(?, ?, ?, ?, ?, ?, ?, ?, 'done', ?)",
                (article_id, record.get("content_hash", ""), record.get("source", ""),
                 record.get("title", ""), record.get("url", ""), record.get("outlet", ""),
                 record.get("published") or None, len(rows), now),
            )

    def recover(self) -> list[str]:
        """Undo what a killed run left half-written; returns the article ids it cleared."""
        with self._lock:
            pending = [r[0] for r in self._db.execute("SELECT id FROM articles WHERE state='pending'")]
        self.remove(pending)
        return pending

    def _delete_vectors(self, article_ids: list[str], keep: set[str] = frozenset()) -> None:
        for start in range(0, len(article_ids), 500):
            batch = article_ids[start : start + 500]
            found = self._collection.get(where=_article_filter(batch), include=[])["ids"]
            stale = [i for i in found if i not in keep]
            if stale:
                self._collection.delete(ids=stale)

    def _upsert_vectors(self, chunks: list[tuple[Article, Chunk]], embeddings: Any) -> None:
        step = 2000
        for start in range(0, len(chunks), step):
            part = chunks[start : start + step]
            self._collection.upsert(
                ids=[c.id for _, c in part],
                embeddings=embeddings[start : start + step],
                documents=[c.text for _, c in part],
                metadatas=[_chunk_metadata(a, c) for a, c in part],
            )

    def _insert_lexical(self, rows: list[tuple]) -> None:
        """Chunk rows and their BM25 rows: (id, article id, kind, position, start, end,
        published number, outlet, text, FTS body), inside the caller's transaction."""
        self._db.executemany(
            "INSERT INTO chunks(id, article_id, kind, position, start, \"end\","
            " published_num, outlet, text) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [row[:9] for row in rows],
        )
        self._db.executemany(
            "INSERT INTO chunks_fts(rowid, body) SELECT rowid, ? FROM chunks WHERE id = ?",
            [(row[9], row[0]) for row in rows],
        )

    def _delete_lexical(self, article_ids: list[str]) -> None:
        marks = ",".join("?" * len(article_ids))
        self._db.execute(
            f"DELETE FROM chunks_fts WHERE rowid IN (SELECT rowid FROM chunks WHERE article_id IN ({marks}))",
            article_ids,
        )
        self._db.execute(f"DELETE FROM chunks WHERE article_id IN ({marks})", article_ids)

    # -- reading ----------------------------------------------------------------------
    def count_chunks(self) -> int:
        with self._reaching_chroma():
            return self._collection.count()

    def require_content(self) -> None:
        if self.count_chunks() == 0:
            raise EmptyIndexError(
                "the index is empty: run `assistant ingest PATH` first (or add articles in the "
                "app's Collection tab)"
            )

    def stats(self) -> IndexStats:
        self._sync_for_reading()
        with self._lock:
            n, first, last = self._db.execute(
                "SELECT COUNT(*), MIN(published), MAX(published) FROM articles WHERE state='done'"
            ).fetchone()
            outlets = dict(
                self._db.execute(
                    "SELECT outlet, COUNT(*) FROM articles WHERE state='done' GROUP BY outlet"
                    " ORDER BY COUNT(*) DESC, outlet"
                ).fetchall()
            )
        return IndexStats(n, self.count_chunks(), first, last, outlets)

    def latest_published(self, until: dt.date) -> dt.date | None:
        """The newest publication date in the index on or before ``until`` (None: none dated)."""
        self._sync_for_reading()
        with self._lock:
            (number,) = self._db.execute(
                "SELECT MAX(published_num) FROM chunks WHERE published_num <= ?",
                (date_number(until),),
            ).fetchone()
        return _number_to_date(number)

    def published_dates(self, article_ids: Sequence[str]) -> dict[str, dt.date | None]:
        """Each indexed article's publication date (None: undated), by id; ids not in the
        index are left out."""
        self._sync_for_reading()
        with self._lock:
            rows = self._rows_for_ids("SELECT id, published FROM articles WHERE id IN",
                                      list(article_ids), ["state='done'"])
        return {i: dt.date.fromisoformat(day) if day else None for i, day in rows}

    def dense_search(self, vector: Sequence[float], k: int, filters: Filters) -> list[Passage]:
        """The ``k`` chunks nearest to ``vector`` among those ``filters`` allow.

        Chroma applies a ``where`` before its vector search, at a cost that grows with the
        collection (234 ms at 100k chunks, BENCHMARKS.md), and every question has one: no
        article after ``as_of``. Nearest ids alone are cheap (4 ms for 650 at 100k), so
        unless the filter is very narrow (share counted here in SQLite), Chroma is asked
        for twice the ids that should hold ``k`` allowed ones, and the rest are dropped
        here; Chroma's ``where`` stays for very narrow filters and as the fallback. Dates
        that let every chunk through (a question asked today) need no filter at all.
        """
        if self.count_chunks() == 0:
            return []
        where = _chroma_where(filters)
        # An empty local index (not caught up with a server) cannot judge: Chroma's where can.
        inside, total = self._inside_dates(filters) if where is not None else (0, 0)
        if total:
            if inside == 0:
                return []
            if inside == total and not (filters.outlets or filters.exclude_articles):
                where = None  # the dates let every chunk through: one plain query
            elif inside >= _POSTFILTER_SHARE * total:
                nearest = self._nearest_allowed(vector, k, filters, inside, total)
                if nearest is not None:
                    return self.passages([i for i, _ in nearest], [s for _, s in nearest])
        with self._reaching_chroma():
            result = self._collection.query(
                query_embeddings=[list(vector)],
                n_results=k,
                where=where,
                include=["documents", "metadatas", "distances"],
            )
        return [
            _passage(chunk_id, doc, meta, 1.0 - float(dist))
            for chunk_id, doc, meta, dist in zip(
                result["ids"][0], result["documents"][0], result["metadatas"][0],
                result["distances"][0],
            )
        ]

    def _inside_dates(self, filters: Filters) -> tuple[int, int]:
        """(chunks inside the filter's dates, all chunks), counted in the local index."""
        where, params = _filter_sql(filters, dates_only=True)
        self._sync_for_reading()
        with self._lock:
            total = self._local_chunks()
            if not where:
                return total, total
            inside = self._db.execute(
                "SELECT count(*) FROM chunks c WHERE " + " AND ".join(where), params
            ).fetchone()[0]
        return inside, total

    def _nearest_allowed(
        self, vector: Sequence[float], k: int, filters: Filters, inside: int, total: int
    ) -> list[tuple[str, float]] | None:
        """(id, score) of the ``k`` nearest allowed chunks, or None if too few were fetched."""
        fetch = min(total, math.ceil(2 * k * total / inside) + k)
        with self._reaching_chroma():
            result = self._collection.query(
                query_embeddings=[list(vector)], n_results=max(fetch, k), include=["distances"]
            )
        ids, distances = result["ids"][0], result["distances"][0]
        where, params = _filter_sql(filters)
        with self._lock:
            rows = self._rows_for_ids("SELECT c.id FROM chunks c WHERE c.id IN", ids, where, params)
        allowed = {r[0] for r in rows}
        nearest = [(i, 1.0 - float(d)) for i, d in zip(ids, distances) if i in allowed][:k]
        return nearest if len(nearest) == k or len(ids) < fetch else None

    def _local_chunks(self) -> int:
        """Chunks in the local SQLite index (callers hold the lock)."""
        version = self.version()
        if self._rows_seen[0] != version:  # counting 100k rows takes ~10 ms: once a version
            self._rows_seen = (version, self._db.execute("SELECT count(*) FROM chunks").fetchone()[0])
        return self._rows_seen[1]

    def lexical_search(self, query: str, k: int, filters: Filters) -> list[Passage]:
        terms = list(dict.fromkeys(content_terms(query)))
        if not terms:
            return []
        self._sync_for_reading()
        with self._lock:
            if self.common_share:
                terms = self._common.selective(terms, self._local_chunks(), self.common_share)
            sql, params = _lexical_sql(" OR ".join(f'"{t}"' for t in terms), k, filters)
            try:
                rows = self._db.execute(sql, params).fetchall()
            except sqlite3.OperationalError:
                return []
        return self.passages([r[0] for r in rows], scores=[-r[1] for r in rows])

    def term_rarity(self, words: Sequence[str]) -> dict[str, float]:
        """Each word's inverse document frequency in the lexical index, log(chunks / holding)."""
        if not words:
            return {}
        self._sync_for_reading()
        with self._lock:
            total = self._local_chunks()
            counts = self._common.document_counts(list(words))
        return {w: math.log((total + 1) / (n + 1)) for w, n in zip(words, counts)}

    def passages(self, chunk_ids: list[str], scores: Sequence[float] | None = None) -> list[Passage]:
        """Passages for chunk ids, in the order given."""
        if not chunk_ids:
            return []
        with self._reaching_chroma():
            got = self._collection.get(ids=chunk_ids, include=["documents", "metadatas"])
        by_id = {i: (d, m) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"])}
        scores = scores or [0.0] * len(chunk_ids)
        return [
            _passage(i, *by_id[i], s) for i, s in zip(chunk_ids, scores) if i in by_id
        ]

    def vectors(self, chunk_ids: Sequence[str]) -> list[list[float]]:
        """The stored embeddings of those chunks that exist, in no particular order."""
        if not chunk_ids:
            return []
        with self._reaching_chroma():
            got = self._collection.get(ids=list(chunk_ids), include=["embeddings"])
        return [[float(x) for x in v] for v in got["embeddings"]]

    def close(self) -> None:
        with self._lock:
            self._db.close()
            if self._owns_client:
                close_chroma(self._client)
            if self._dir_lock is not None:
                self._dir_lock.release()


def close_chroma(client: Any) -> None:
    """Close a client from ``open_chroma``, HTTP sessions included."""
    # chromadb's HTTP client never closes its httpx sessions (one per internal System it
    # makes); open_chroma noted which Systems were this client's, so close theirs here.
    from chromadb.api.shared_system_client import SharedSystemClient

    systems = [SharedSystemClient._identifier_to_system.get(i)
               for i in getattr(client, "_news_assistant_systems", ())]
    client.close()
    for identifier in getattr(client, "_news_assistant_systems", ()):
        SharedSystemClient._identifier_to_system.pop(identifier, None)
    for system in systems:
        for component in getattr(system, "_instances", {}).values():
            session = getattr(component, "_session", None)
            if hasattr(session, "close"):
                session.close()


def _unreachable(exc: BaseException) -> bool:
    """Whether an error from the Chroma client means the server did not answer."""
    import httpx  # chromadb's HTTP client is httpx; already imported by then

    if isinstance(exc, (httpx.TransportError, ConnectionError, TimeoutError)):
        return True
    # chromadb wraps a failed first contact in a bare ValueError
    return isinstance(exc, ValueError) and "connect to" in str(exc).lower()


def _article_filter(ids: list[str]) -> dict:
    return {"article_id": ids[0]} if len(ids) == 1 else {"article_id": {"$in": ids}}


def _shared_record(article: Article, n_chunks: int) -> dict[str, Any]:
    return {
        "state": "done",
        "content_hash": article.content_hash,
        "source": article.source,
        "title": article.title,
        "url": article.url,
        "outlet": article.outlet,
        "published": _iso(article.published) or "",
        "n_chunks": n_chunks,
    }


def _differs(local: ManifestEntry | None, record: dict) -> bool:
    """Whether a shared record would change this process's rows (never mid-write ones)."""
    if local is not None and local.state != "done":
        return False  # this process is writing it, or will recover it
    if record.get("state") == "deleted":
        return local is not None
    return local is None or local.content_hash != record.get("content_hash")


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _passage(chunk_id: str, text: str, meta: dict, score: float) -> Passage:
    return Passage(
        chunk_id=chunk_id,
        article_id=str(meta.get("article_id", "")),
        text=text,
        title=str(meta.get("title", "")),
        url=str(meta.get("url", "")),
        outlet=str(meta.get("outlet", "")),
        published=_number_to_date(meta.get("published_num")),
        kind=str(meta.get("kind", "content")),
        start=int(meta.get("start", 0)),
        end=int(meta.get("end", 0)),
        score=score,
    )


def _chroma_where(filters: Filters) -> dict | None:
    clauses: list[dict] = []
    if filters.since:
        clauses.append({"published_num": {"$gte": date_number(filters.since)}})
    if filters.until:
        clauses.append({"published_num": {"$lte": date_number(filters.until)}})
    if filters.outlets:
        clauses.append({"outlet": {"$in": list(filters.outlets)}})
    if filters.exclude_articles:
        clauses.append({"article_id": {"$nin": list(filters.exclude_articles)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _filter_sql(filters: Filters, *, dates_only: bool = False) -> tuple[list[str], list]:
    """SQL conditions on ``chunks c`` that mean what ``_chroma_where`` means to Chroma."""
    where: list[str] = []
    params: list[Any] = []
    if filters.since:
        where.append("c.published_num >= ?")
        params.append(date_number(filters.since))
    if filters.until:
        where.append("c.published_num <= ?")
        params.append(date_number(filters.until))
    if dates_only:
        return where, params
    if filters.outlets:
        where.append(f"c.outlet IN ({','.join('?' * len(filters.outlets))})")
        params.extend(filters.outlets)
    if filters.exclude_articles:
        where.append(f"c.article_id NOT IN ({','.join('?' * len(filters.exclude_articles))})")
        params.extend(filters.exclude_articles)
    return where, params


def _lexical_sql(match: str, k: int, filters: Filters) -> tuple[str, list]:
    where, params = _filter_sql(filters)
    sql = (
        "SELECT c.id, bm25(chunks_fts) AS s FROM chunks_fts JOIN chunks c"
        " ON c.rowid = chunks_fts.rowid WHERE " + " AND ".join(["chunks_fts MATCH ?", *where])
        + " ORDER BY s LIMIT ?"
    )
    return sql, [match, *params, k]

"""Incremental, idempotent, crash-safe ingestion of article files into the index.

Three stages run at once so that parsing, chunking and index writes hide behind the
embedder, which is the slow part: a reader thread (files -> articles -> chunks, skipping
unchanged articles), the calling thread (embedding), and a writer thread (Chroma +
SQLite). Queues between them are short, so memory stays flat on any corpus size.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import ArticleError, IndexError_
from assistant.types import Article, Chunk
from index.articles import discover, read_file
from index.store import ChunkStore, ManifestEntry

__all__ = ["IngestReport", "Failure", "ingest", "embed_array"]

_LINE_SUFFIX = re.compile(r":\d+$")  # "file.jsonl:12" names line 12 of file.jsonl
Progress = Callable[[int, int | None], None]
_DONE = object()


@dataclass(frozen=True)
class Failure:
    file: str
    reason: str


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks: int = 0
    failed: list[Failure] = field(default_factory=list)
    warnings: list[Failure] = field(default_factory=list)
    recovered: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_json(self) -> dict:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "chunks": self.chunks,
            "failed": [{"file": f.file, "reason": f.reason} for f in self.failed],
        }


def embed_array(embeddings: Any, texts: list[str]) -> np.ndarray:
    """Embed with the fast array path when the embedder has one (MiniLM), else LangChain's."""
    encode = getattr(embeddings, "encode_array", None)
    if encode is not None:
        return np.asarray(encode(texts), dtype=np.float32)
    return np.asarray(embeddings.embed_documents(texts), dtype=np.float32)


Batch = list[tuple[Article, list[Chunk], bool]]  # (article, chunks, is_update)


class _Reader(threading.Thread):
    """Files -> new or changed articles, chunked, in batches of about ``batch_chunks``."""

    def __init__(self, files, manifest, chunker, report, out, batch_chunks, tick, max_bytes):
        super().__init__(daemon=True, name="ingest-reader")
        self.files, self.manifest, self.chunker = files, manifest, chunker
        self.report, self.out, self.batch_chunks, self.tick = report, out, batch_chunks, tick
        self.max_bytes = max_bytes
        self.seen: dict[str, str] = {}  # article id -> source, for duplicates and pruning
        self.error: BaseException | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            batch: Batch = []
            size = 0
            for path in self.files:
                if self.stop.is_set():
                    return
                for item in read_file(path, max_bytes=self.max_bytes):
                    if self.stop.is_set():
                        return
                    entry = self._accept(item, path)
                    if entry is None:
                        self.tick(1)
                        continue
                    batch.append(entry)
                    size += len(entry[1])
                    if size >= self.batch_chunks:
                        self.out.put(batch)
                        batch, size = [], 0
            if batch:
                self.out.put(batch)
        except BaseException as exc:  # handed to the main thread, which re-raises it
            self.error = exc
        finally:
            self.out.put(_DONE)

    def _accept(self, item: Article | ArticleError, path: Path):
        if isinstance(item, ArticleError):
            self.report.failed.append(Failure(item.path or str(path), str(item)))
            return None
        for warning in item.warnings:
            self.report.warnings.append(Failure(item.source, warning))
        first = self.seen.get(item.id)
        if first is not None:
            self.report.failed.append(Failure(
                item.source,
                f"duplicate article (same URL) as {first}, which was kept: remove one of the two",
            ))
            return None
        self.seen[item.id] = item.source
        known: ManifestEntry | None = self.manifest.get(item.id)
        if known is not None and known.content_hash == item.content_hash and known.state == "done":
            self.report.unchanged += 1
            return None
        try:
            chunks = self.chunker.chunk(item)
        except ArticleError as exc:
            self.report.failed.append(Failure(item.source, str(exc)))
            return None
        if not chunks:
            self.report.failed.append(Failure(item.source, "no text to index after cleaning"))
            return None
        return (item, chunks, known is not None)


class _Writer(threading.Thread):
    def __init__(self, store: ChunkStore, report: IngestReport, tick) -> None:
        super().__init__(daemon=True, name="ingest-writer")
        self.store, self.report, self.tick = store, report, tick
        self.inbox: queue.Queue = queue.Queue(maxsize=2)
        self.error: BaseException | None = None

    def run(self) -> None:
        while (job := self.inbox.get()) is not _DONE:
            if self.error is not None:
                continue  # drain, so the producer never blocks on a dead writer
            batch, vectors = job
            try:
                self.store.write([(a, c) for a, c, _ in batch], vectors)
            except BaseException as exc:
                self.error = exc
                continue
            for _, chunks, is_update in batch:
                self.report.chunks += len(chunks)
                if is_update:
                    self.report.updated += 1
                else:
                    self.report.added += 1
            self.tick(len(batch))


def ingest(
    paths: Iterable[Path | str],
    store: ChunkStore,
    chunker: Any,
    embeddings: Any,
    *,
    prune: bool = False,
    progress: Progress | None = None,
    batch_chunks: int = 512,
    max_bytes: int = 10_000_000,
) -> IngestReport:
    """Bring the index in line with the article files under ``paths``.

    Unchanged articles are skipped, edited ones replace their chunks, and with ``prune``
    articles whose files are gone are removed. Bad files are reported in the result and
    skipped; every good file is still ingested. Beside another process that has the
    embedded store open it stops at once (IndexBusyError), before any file is read.
    """
    with store.writing():
        return _ingest([Path(p) for p in paths], store, chunker, embeddings, prune=prune,
                       progress=progress, batch_chunks=batch_chunks, max_bytes=max_bytes)


def _ingest(paths: list[Path], store: ChunkStore, chunker: Any, embeddings: Any, *,
            prune: bool, progress: Progress | None, batch_chunks: int,
            max_bytes: int) -> IngestReport:
    started = time.perf_counter()
    report = IngestReport()
    report.recovered = len(store.recover())
    store.sync(force=True)  # what other processes ingested need not be embedded again
    files, errors = discover(paths)
    report.failed.extend(Failure(e.path or "", str(e)) for e in errors)
    tick = _ticker(progress, len(files) if all(f.suffix == ".txt" for f in files) else None)

    reader = _Reader(files, store.manifest(), chunker, report, queue.Queue(maxsize=2),
                     batch_chunks, tick, max_bytes)
    writer = _Writer(store, report, tick)
    reader.start()
    writer.start()
    try:
        while (batch := reader.out.get()) is not _DONE:
            if writer.error is not None:
                break
            texts = [c.embed_text for _, chunks, _ in batch for c in chunks]
            writer.inbox.put((batch, embed_array(embeddings, texts)))
    finally:
        reader.stop.set()
        while reader.is_alive():  # a reader blocked on a full queue needs room to see stop
            _drain(reader.out)
            reader.join(0.05)
        writer.inbox.put(_DONE)
        writer.join()
    for error in (reader.error, writer.error):
        if error is not None:
            raise _as_index_error(error)
    if prune:
        report.removed = store.remove(_gone(store.manifest(), reader.seen, paths))
    report.seconds = time.perf_counter() - started
    return report


def _drain(q: queue.Queue) -> None:
    try:
        while True:
            q.get_nowait()
    except queue.Empty:
        pass


def _ticker(progress: Progress | None, total: int | None) -> Callable[[int], None]:
    done = 0
    lock = threading.Lock()

    def tick(n: int) -> None:
        nonlocal done
        with lock:
            done += n
            if progress is not None:
                progress(done, total)

    return tick


def _gone(manifest: dict[str, ManifestEntry], seen: dict[str, str], roots: Sequence[Path]) -> list[str]:
    """Articles not seen in this run whose file is gone or lies under a scanned root."""
    resolved = [r.resolve() for r in roots]
    gone = []
    for article_id, entry in manifest.items():
        if article_id in seen:
            continue
        file = Path(_LINE_SUFFIX.sub("", entry.source))
        if not file.exists() or any(_within(file.resolve(), r) for r in resolved):
            gone.append(article_id)
    return gone


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _as_index_error(error: BaseException) -> BaseException:
    if isinstance(error, (IndexError_, KeyboardInterrupt)):
        return error
    return IndexError_(
        f"ingestion stopped: {error}. Articles written before this point are intact; fix the "
        "cause (disk space, permissions) and run the same command again to finish"
    )

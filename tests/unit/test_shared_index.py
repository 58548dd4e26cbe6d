"""Several processes sharing one Chroma: each one's lexical index follows the others.

Two ChunkStores with their own SQLite files (their own data directories, as on two
machines) over one Chroma client stand for two app processes sharing a Chroma server.
"""

from __future__ import annotations

import sqlite3
import pytest

from assistant import Assistant, IndexUnavailableError
from assistant.testing import HashingEmbeddings, ScriptedLLM, word_count_tokens
from assistant.types import Filters
from index.store import ChunkStore
from tests.unit.test_ingest import N_ARTICLES

NO_FILTERS = Filters()


@pytest.fixture
def chroma(tmp_path):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    return chromadb.PersistentClient(path=str(tmp_path / "server"),
                                     settings=ChromaSettings(anonymized_telemetry=False))


@pytest.fixture
def process(settings, chroma, tmp_path):
    """An Assistant with its own data directory on the shared Chroma."""
    made: list[ChunkStore] = []

    def make(name: str, sync_seconds: float = 0.0) -> Assistant:
        s = settings.model_copy(update={"data_dir": tmp_path / name})
        store = ChunkStore(s.data_dir, s.collection, client=chroma, sync_seconds=sync_seconds)
        made.append(store)
        return Assistant(s, embeddings=HashingEmbeddings(), count_tokens=word_count_tokens,
                         llm=ScriptedLLM(), store=store)

    yield make
    for store in made:
        store.close()


def _rows(a: Assistant) -> list[tuple]:
    db = sqlite3.connect(a.settings.data_dir / f"{a.settings.collection}.sqlite")
    try:
        return db.execute(
            "SELECT c.id, c.article_id, c.kind, c.position, c.start, c.\"end\", c.published_num,"
            " c.outlet, c.text, f.body FROM chunks c JOIN chunks_fts f ON f.rowid = c.rowid"
            " ORDER BY c.id"
        ).fetchall()
    finally:
        db.close()


def _texts(a: Assistant, query: str) -> str:
    return " ".join(p.text for p in a.store.lexical_search(query, 20, NO_FILTERS))


def test_a_reader_finds_what_another_process_ingested(process, corpus):
    writer, reader = process("writer"), process("reader")
    assert reader.store.lexical_search("Grindavik eruption", 5, NO_FILTERS) == []
    writer.ingest([corpus])
    hits = reader.store.lexical_search("Grindavik eruption", 5, NO_FILTERS)
    assert hits and "Grindavik" in hits[0].text
    assert reader.stats().to_json() == writer.stats().to_json()
    assert reader.stats().articles == N_ARTICLES


def test_rebuilt_rows_equal_the_writers_own(process, corpus):
    writer, reader = process("writer"), process("reader")
    writer.ingest([corpus])
    reader.store.sync(force=True)
    assert _rows(reader) == _rows(writer)
    assert len(_rows(reader)) == writer.store.count_chunks()


def test_edits_and_prunes_reach_the_reader(process, corpus):
    writer, reader = process("writer"), process("reader")
    writer.ingest([corpus])
    assert "seventh time" in _texts(reader, "Grindavik eruption")
    volcano = corpus / "003_volcano.txt"
    volcano.write_text(volcano.read_text().replace("seventh time", "eighth time"))
    writer.ingest([corpus])
    texts = _texts(reader, "Grindavik eruption")
    assert "eighth time" in texts and "seventh time" not in texts
    volcano.unlink()
    writer.ingest([corpus], prune=True)
    assert "Grindavik" not in _texts(reader, "Grindavik eruption")
    assert reader.stats().articles == N_ARTICLES - 1
    assert _rows(reader) == _rows(writer)


def test_what_one_process_ingested_is_not_embedded_again_by_another(process, corpus):
    first, second = process("first"), process("second")
    first.ingest([corpus])
    report = second.ingest([corpus])
    assert (report.added, report.updated, report.chunks) == (0, 0, 0)
    assert report.unchanged == N_ARTICLES


def test_sync_is_throttled_and_bumps_the_cache_version_only_on_change(process, corpus):
    writer, reader = process("writer"), process("reader", sync_seconds=3600)
    reader.store.sync(force=True)
    version = reader.store.version()
    writer.ingest([corpus])
    assert reader.store.lexical_search("Grindavik eruption", 5, NO_FILTERS) == []
    assert reader.store.sync(force=True) == N_ARTICLES
    assert reader.store.version() > version
    version = reader.store.version()
    assert reader.store.sync(force=True) == 0  # the overlap window is read again, unchanged
    assert reader.store.version() == version


def test_a_late_record_from_a_slower_clock_is_still_applied(process, corpus, monkeypatch):
    import index.store as store_module

    writer, reader = process("writer"), process("reader")
    writer.ingest([corpus / "001_gulf_naming.txt"])
    reader.store.sync(force=True)
    clock = store_module._now_seq
    # Another writer whose clock runs a minute behind publishes after the reader synced.
    monkeypatch.setattr(store_module, "_now_seq", lambda: clock() - 60_000_000)
    writer.ingest([corpus / "003_volcano.txt"])
    assert "Grindavik" in _texts(reader, "Grindavik eruption")


def test_a_reader_never_touches_an_article_it_is_writing_itself(process, corpus):
    writer, reader = process("writer"), process("reader")
    writer.ingest([corpus])
    reader.store.sync(force=True)
    db = reader.store._db
    with db:
        db.execute("UPDATE articles SET state='pending', content_hash='mine'")
    volcano = corpus / "003_volcano.txt"
    volcano.write_text(volcano.read_text().replace("seventh time", "eighth time"))
    writer.ingest([corpus])
    assert reader.store.sync(force=True) == 0


def test_an_unreachable_chroma_server_is_a_clear_error(process, corpus, monkeypatch):
    import httpx

    a = process("app")
    a.ingest([corpus])

    def refuse(*args, **kwargs):
        raise httpx.ConnectError("Connection refused")

    monkeypatch.setattr(a.store._collection, "query", refuse)
    with pytest.raises(IndexUnavailableError, match="start the Chroma server"):
        a.store.dense_search([0.1] * 256, 3, NO_FILTERS)


def test_other_errors_from_chroma_are_not_disguised(process, monkeypatch):
    a = process("app")

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(a.store._collection, "count", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        a.store.count_chunks()



def test_a_url_that_is_not_a_chroma_server_is_a_config_error(tmp_path):
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from assistant import ConfigError

    class NotChroma(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server name
            self.send_error(404)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), NotChroma)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        with pytest.raises(ConfigError, match="answered 404 to Chroma's heartbeat"):
            ChunkStore(tmp_path / "data", chroma_url=url)
    finally:
        server.shutdown()
        server.server_close()

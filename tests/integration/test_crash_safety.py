"""SIGKILL in the middle of ingestion, then a rerun: every article exactly once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter

import pytest

pytestmark = pytest.mark.slow

N = 240

_INGEST = """
import sys, time
from pathlib import Path
from assistant import Assistant, Settings
from assistant.testing import HashingEmbeddings, word_count_tokens

class SlowEmbeddings(HashingEmbeddings):
    # Slow enough that the kill lands between batches and inside them.
    def embed_documents(self, texts):
        time.sleep(float(sys.argv[3]))
        return super().embed_documents(texts)

a = Assistant(Settings(data_dir=Path(sys.argv[1])), embeddings=SlowEmbeddings(),
              count_tokens=word_count_tokens)
from index.ingest import ingest
report = ingest([Path(sys.argv[2])], a.store, a.chunker, a.embeddings, batch_chunks=16)
print(report.added, report.unchanged, len(report.failed))
"""


def _write_articles(folder):
    folder.mkdir()
    for i in range(N):
        body = " ".join(f"Sentence {j} of story {i} about topic {i % 7}." for j in range(40))
        (folder / f"{i:04d}.txt").write_text(
            f"<TITLE>Story {i}</TITLE><PUBLISHED_DATE>2025-03-{i % 28 + 1:02d}</PUBLISHED_DATE>"
            f"<URL>https://crash.test/{i}</URL><CONTENT>{body}</CONTENT>"
        )


def _done_count(db) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=1) as con:
            return con.execute("SELECT COUNT(*) FROM articles WHERE state='done'").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_sigkill_mid_ingestion_then_rerun_leaves_each_article_once(tmp_path):
    from assistant import Settings
    from index.store import ChunkStore, close_chroma, open_chroma

    articles, data = tmp_path / "articles", tmp_path / "data"
    settings = Settings(data_dir=data)  # embedded, or the server CI's second pass names
    db = data / f"{settings.collection}.sqlite"
    _write_articles(articles)
    cmd = [sys.executable, "-c", _INGEST, str(data), str(articles)]
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    proc = subprocess.Popen([*cmd, "0.05"], env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while _done_count(db) < N // 4 and time.monotonic() < deadline:
        assert proc.poll() is None, "ingestion ended before it could be killed"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 0 < _done_count(db) < N

    rerun = subprocess.run([*cmd, "0"], env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    added, unchanged, failed = map(int, rerun.stdout.split())
    assert added + unchanged == N and failed == 0 and unchanged > 0

    client = open_chroma(data / "chroma", settings.chroma_url)
    got = client.get_collection(settings.collection).get(include=["metadatas"])
    per_article = Counter(m["article_id"] for m in got["metadatas"])
    assert len(got["ids"]) == len(set(got["ids"]))
    with sqlite3.connect(db) as con:
        manifest = dict(con.execute("SELECT id, n_chunks FROM articles WHERE state='done'"))
        states = con.execute("SELECT DISTINCT state FROM articles").fetchall()
        lexical = con.execute("SELECT COUNT(*) FROM chunks_fts").fetchone()[0]
    assert states == [("done",)] and len(manifest) == N
    assert per_article == Counter(manifest)  # every article, each with exactly its chunks
    assert lexical == len(got["ids"])

    # Another process sharing this Chroma rebuilds the same index from the shared manifest.
    other = ChunkStore(tmp_path / "other", settings.collection, client=client)
    try:
        other.sync(force=True)
        assert other.stats().articles == N
        assert other._db.execute("SELECT COUNT(*) FROM chunks_fts").fetchone()[0] == lexical
    finally:
        other.close()
        close_chroma(client)

"""A real Chroma server (``chroma run``): two app processes share it, and it may go away.

Each test starts its own server on a free loopback port, so these run in both of CI's
passes, whatever ASSISTANT_CHROMA_URL says.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant import Assistant, IndexUnavailableError
from assistant.testing import ScriptedLLM, free_port
from assistant.types import Filters
from assistant.ui_format import friendly_error
from tests.conftest import FIXTURES, SEED

pytestmark = pytest.mark.integration
QUESTION = "What did the Grindavik eruption do?"


class ChromaServer:
    def __init__(self, path: Path, log: Path) -> None:
        self.path, self.log, self.port = path, log, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout_s: float = 60) -> None:
        chroma = Path(sys.executable).parent / "chroma"
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(chroma), "run", "--path", str(self.path), "--host", "127.0.0.1",
                 "--port", str(self.port)],
                stdout=out, stderr=subprocess.STDOUT,
                env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()[-2000:]
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"chroma run did not listen in {timeout_s}s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def server(tmp_path):
    s = ChromaServer(tmp_path / "chroma-server", tmp_path / "chroma.log")
    s.start()
    yield s
    s.stop()


@pytest.fixture
def process(make_assistant, server):
    """An app process of its own (own data directory) on the test's Chroma server."""

    def make(data_dir: Path) -> Assistant:
        return make_assistant(ScriptedLLM(["A fissure eruption near Grindavik [1]."]),
                              data_dir=data_dir, chroma_url=server.url, collection="news",
                              index_sync_seconds=0)

    return make


def test_two_processes_share_one_server(server, tmp_path, process):
    writer = process(tmp_path / "writer")
    reader = process(tmp_path / "reader")
    report = writer.ingest([SEED, FIXTURES])
    assert report.added == 7 and not report.failed
    assert reader.stats().articles == 7
    assert reader.store.count_chunks() == writer.store.count_chunks() == report.chunks
    hits = reader.store.lexical_search("Grindavik eruption", 3, Filters())
    assert hits and "Grindavik" in hits[0].text
    assert reader.answer(QUESTION).citations
    assert reader.ingest([SEED, FIXTURES]).unchanged == 7


def test_server_going_away_is_explained_and_the_same_app_recovers(server, tmp_path, process):
    app = process(tmp_path / "app")
    app.ingest([SEED, FIXTURES])
    assert app.answer(QUESTION).citations

    server.stop()
    with pytest.raises(IndexUnavailableError) as caught:
        app.answer(QUESTION)
    shown = friendly_error(caught.value)
    assert "not reachable" in shown and "chroma run" in shown

    server.start()  # same path, same port: the app's client finds it again by itself
    reply = app.answer(QUESTION)
    assert reply.citations and not reply.refused


def test_a_server_that_is_down_at_start_is_a_clear_error_then_recovers(server, tmp_path, process):
    server.stop()
    app = process(tmp_path / "app")
    with pytest.raises(IndexUnavailableError, match="start the Chroma server"):
        app.stats()
    server.start()
    assert app.stats().articles == 0


def test_cli_reports_an_unreachable_server_with_its_exit_code(tmp_path):
    env = {**os.environ, "ASSISTANT_CHROMA_URL": f"http://127.0.0.1:{free_port()}",
           "ASSISTANT_DATA_DIR": str(tmp_path / "data")}
    out = subprocess.run([sys.executable, "-m", "assistant.cli", "stats"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 3, out.stderr
    assert "chroma run" in out.stderr and "Traceback" not in out.stderr

"""The embedded index takes many readers or one writer, across processes (index.store_lock)."""

import subprocess
import sys
from contextlib import contextmanager

import pytest

from assistant import IndexBusyError
from index.store import ChunkStore
from index.store_lock import StoreLock
from tests.conftest import ROOT

_HOLD = """
import sys
from index.store_lock import StoreLock
lock = StoreLock(sys.argv[1])
writing = lock.writing()  # kept: a dropped generator would leave its block at once
if sys.argv[2] == "write":
    writing.__enter__()
print("held", flush=True)
sys.stdin.readline()
"""


@contextmanager
def another_process_holding(path, mode):
    """A second Python process holding ``path`` shared ("read") or exclusive ("write")."""
    with subprocess.Popen([sys.executable, "-c", _HOLD, str(path), mode], cwd=ROOT,
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout.readline().strip() == "held"
            yield proc.pid
        finally:
            proc.stdin.close()  # its readline returns: it exits, and the kernel drops its lock
            proc.wait(timeout=30)


def test_one_process_opens_and_writes_through_several_holds(tmp_path):
    first, second = StoreLock(tmp_path / "x.lock"), StoreLock(tmp_path / "x.lock")
    with first.writing(), second.writing():
        pass
    first.release()
    first.release()  # twice is harmless
    with second.writing():
        pass
    second.release()


def test_readers_share_and_a_writer_is_refused_naming_the_reader(tmp_path):
    path = tmp_path / "x.lock"
    with another_process_holding(path, "read") as pid:
        mine = StoreLock(path)  # reading beside a reader is fine
        with pytest.raises(IndexBusyError, match=rf"pid {pid}: .*upload"), mine.writing():
            pass
        mine.release()
    mine = StoreLock(path)
    with mine.writing():  # the reader has gone
        pass
    mine.release()


def test_nobody_opens_what_another_process_writes(tmp_path):
    path = tmp_path / "x.lock"
    with another_process_holding(path, "write") as pid, pytest.raises(
            IndexBusyError, match=rf"pid {pid}: .* is writing"):
        StoreLock(path)
    StoreLock(path).release()


def test_the_store_holds_its_lock_while_open_and_ingest_asks_for_it_first(
        make_assistant, corpus):
    a = make_assistant(chroma_url=None)
    a.ingest([corpus])
    lock = a.settings.data_dir / "chroma.lock"
    with another_process_holding(lock, "read"):
        with pytest.raises(IndexBusyError, match="has the index in"):
            a.ingest([corpus])
        assert a.answer("How much gas could Russia supply to Iran per year?").passages
    a.close()
    with another_process_holding(lock, "write"), pytest.raises(IndexBusyError,
                                                               match="is writing the index"):
        ChunkStore(a.settings.data_dir, "another-collection")  # the same Chroma folder
    ChunkStore(a.settings.data_dir, a.settings.collection).close()


def test_a_file_system_that_cannot_lock_is_warned_about_not_refused(tmp_path, monkeypatch,
                                                                    caplog):
    import errno
    import fcntl

    def no_locks(fd, mode):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "lockf", no_locks)
    lock = StoreLock(tmp_path / "x.lock")
    with lock.writing():
        pass
    lock.release()
    assert "cannot lock the index" in caplog.text

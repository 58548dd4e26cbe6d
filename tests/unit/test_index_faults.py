"""A full disk or a read-only index during ingestion: a clear error, the previous index
intact, and the same command finishes the job once the cause is gone.

SQLite's own limits make the faults real rather than mocked: ``max_page_count`` makes
the file full (SQLITE_FULL, what a full disk gives) and ``query_only`` makes it refuse
writes (SQLITE_READONLY), whoever the tests run as, root included.
"""

from __future__ import annotations

import errno
import shutil

import pytest

from assistant import IndexError_
from assistant.types import Filters
from tests.unit.test_ingest import N_ARTICLES

FIRST = ["001_gulf_naming.txt", "003_volcano.txt"]


@pytest.fixture
def halves(corpus, tmp_path):
    first = tmp_path / "first"
    first.mkdir()
    for name in FIRST:
        shutil.copy(corpus / name, first)
    return first, corpus


def _snapshot(a) -> tuple:
    rows = a.store._db.execute(
        "SELECT c.id, c.text FROM chunks c JOIN chunks_fts f ON f.rowid = c.rowid ORDER BY c.id"
    ).fetchall()
    return a.stats().to_json(), a.store.count_chunks(), rows


def _finish_and_check(a, corpus) -> None:
    report = a.ingest([corpus])
    assert not report.failed
    assert a.stats().articles == N_ARTICLES
    assert a.store._db.execute("SELECT DISTINCT state FROM articles").fetchall() == [("done",)]
    lexical = a.store._db.execute("SELECT COUNT(*) FROM chunks_fts").fetchone()[0]
    assert lexical == a.store.count_chunks()


@pytest.mark.parametrize(
    ("pragma", "message"),
    [("max_page_count = {pages}", "full"), ("query_only = ON", "readonly")],
    ids=["disk-full", "read-only"],
)
def test_an_unwritable_index_stops_ingestion_clearly_and_loses_nothing(
    make_assistant, halves, pragma, message
):
    first, everything = halves
    a = make_assistant()
    a.ingest([first])
    before = _snapshot(a)
    pages = a.store._db.execute("PRAGMA page_count").fetchone()[0]
    a.store._db.execute(f"PRAGMA {pragma.format(pages=pages)}")

    with pytest.raises(IndexError_, match=message) as caught:
        a.ingest([everything])
    assert "run the same command again" in str(caught.value) or "writable" in str(caught.value)

    a.store._db.execute("PRAGMA query_only = OFF")
    a.store._db.execute("PRAGMA max_page_count = 1073741823")
    hits = a.store.lexical_search("Grindavik eruption", 3, Filters())
    assert hits and "Grindavik" in hits[0].text  # what was there still answers
    _finish_and_check(a, everything)
    assert _snapshot(a)[0]["articles"] > before[0]["articles"]


def test_a_full_disk_under_chroma_leaves_the_article_to_be_redone(make_assistant, halves,
                                                                   monkeypatch):
    first, everything = halves
    a = make_assistant()
    a.ingest([first])
    before = _snapshot(a)
    collection = a.store._collection

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(collection, "upsert", no_space)
    with pytest.raises(IndexError_, match="No space left"):
        a.ingest([everything])
    monkeypatch.undo()
    assert _snapshot(a) == before  # nothing half-written is visible as done

    _finish_and_check(a, everything)


def test_an_unwritable_data_folder_is_refused_before_anything_starts(settings, tmp_path):
    from index.store import ChunkStore

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    with pytest.raises(IndexError_, match="ASSISTANT_DATA_DIR"):
        ChunkStore(blocker / "data", client=object())
    with pytest.raises(IndexError_, match="ASSISTANT_DATA_DIR"):
        ChunkStore(blocker / "data")  # embedded: its lock file is the first thing made

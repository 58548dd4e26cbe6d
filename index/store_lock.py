"""Who may have the embedded index open at once: any number of readers, or one writer.

Embedded Chroma keeps a copy of the vector index in each process's memory. A second
process writing the same folder leaves a reader's copy pointing at records that have
moved, and the reader's next search dies (``chromadb InternalError: Error finding id``);
two writers can corrupt the folder. So a process holds a shared lock on
``<data_dir>/chroma.lock`` while it has the index open, and an exclusive one while it
writes (one lock for the folder: its collections share one Chroma directory). Neither
waits: a conflict is an :class:`IndexBusyError` at once, naming the other process,
because an ingest of the whole set can take an hour.

The locks are POSIX record locks (``fcntl.lockf``), which belong to the process: the
stores of one process share one Chroma client and one lock, and turning the shared lock
into the exclusive one and back is atomic, so no other writer slips in between. Their
catch, that closing any descriptor of the file drops all the process's locks on it, is
why each process keeps one descriptor per lock file (``_HELD``), counted by its users.
The kernel drops the locks of a process that dies, so a killed ingest blocks nothing.
A Chroma server (``ASSISTANT_CHROMA_URL``) needs none of this: it serves many processes.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import IndexBusyError, IndexError_

try:
    import fcntl
except ImportError:  # Windows: no POSIX locks; the README's one-process rule stands alone
    fcntl = None  # type: ignore[assignment]

__all__ = ["StoreLock"]

log = logging.getLogger(__name__)


@dataclass
class _Held:
    fd: int
    users: int = 0
    writers: int = 0


_HELD: dict[str, _Held] = {}
_GUARD = threading.Lock()


class StoreLock:
    """A shared hold on one index's lock file from ``__init__`` to :meth:`release`, made
    exclusive inside :meth:`writing`."""

    def __init__(self, path: Path) -> None:
        self.path = str(Path(path).resolve())
        self._released = False
        with _GUARD:
            held = _HELD.get(self.path)
            if held is None:
                held = _HELD[self.path] = _Held(_take(self.path))
            held.users += 1

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Exclusive for the block, unless another process has the index open."""
        with _GUARD:
            held = _HELD[self.path]
            if held.writers == 0 and not _lock(held.fd, "LOCK_EX"):
                raise IndexBusyError(
                    f"another process{_holders(self.path)} has the index in "
                    f"{Path(self.path).parent} open, and the embedded store takes a writer "
                    "only when no other process has it open: stop that process or add the "
                    "articles through it (the app's upload), or run a Chroma server "
                    "(ASSISTANT_CHROMA_URL) for several processes"
                )
            held.writers += 1
        try:
            yield
        finally:
            with _GUARD:
                held.writers -= 1
                if held.writers == 0:
                    _lock(held.fd, "LOCK_SH", wait=True)  # a downgrade: never waits

    def release(self) -> None:
        with _GUARD:
            if self._released:
                return
            self._released = True
            held = _HELD[self.path]
            held.users -= 1
            if held.users == 0:
                del _HELD[self.path]
                os.close(held.fd)  # drops the process's lock


def _take(path: str) -> int:
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise IndexError_(
            f"cannot open the index's lock file {path} ({exc}): check that the folder is "
            "writable and the disk has space, or set ASSISTANT_DATA_DIR elsewhere"
        ) from exc
    if not _lock(fd, "LOCK_SH"):
        os.close(fd)
        raise IndexBusyError(
            f"another process{_holders(path)} is writing the index in {Path(path).parent}; "
            "ask again when it has finished (`assistant ingest` prints when it is done), or "
            "run a Chroma server (ASSISTANT_CHROMA_URL) to read and write from several "
            "processes at once"
        )
    return fd


def _lock(fd: int, mode: str, *, wait: bool = False) -> bool:
    """Take ``fcntl.<mode>`` on ``fd``; False only when another process holds a conflicting
    lock. Where the file system cannot lock (some network mounts), warn and go on unlocked:
    one writer at a time then rests with the person, as the README says."""
    if fcntl is None:
        return True
    try:
        fcntl.lockf(fd, getattr(fcntl, mode) | (0 if wait else fcntl.LOCK_NB))
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return False
        log.warning("cannot lock the index (%s); going on without: run one writer at a time",
                    exc)
    return True


def _holders(path: str) -> str:
    """' (pid N: its command)' for the other processes locking ``path``, where Linux says."""
    try:
        inode = os.stat(path).st_ino
        with open("/proc/locks") as locks:
            pids = {int(f[4]) for line in locks if len(f := line.split()) > 5
                    and f[1] == "POSIX" and f[5].rsplit(":", 1)[-1] == str(inode)}
    except (OSError, ValueError):
        return ""
    pids.discard(os.getpid())
    return "".join(f" (pid {pid}: {_command(pid)})" for pid in sorted(pids)[:3])


def _command(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            command = f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "?"
    return " ".join(command.split())[:80]

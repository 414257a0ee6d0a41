"""One collector per database file.

Two collectors writing one file would each believe they are its only writer
(the writer numbers envelopes and keeps counters as the single writer), so
the server holds an exclusive lock on `<database>.lock` while it runs. The
kernel drops the lock with the process, even a killed one, so a stale file
never blocks a restart; the file's text names the holder, so the second
collector can say which process to stop.
"""

from __future__ import annotations

import fcntl
import os


class DatabaseInUse(Exception):
    """Another running collector holds the database's lock file."""


class LockFile:
    def __init__(self, fd: int):
        self._fd = fd

    def release(self) -> None:
        if self._fd >= 0:
            # Emptied first: a file naming no holder is never mistaken for one.
            os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = -1


def lock_path(db_path: str) -> str:
    return db_path + ".lock"


def acquire(db_path: str, owner: str = "") -> LockFile:
    """The lock of `db_path`, or DatabaseInUse naming who holds it."""
    path = lock_path(db_path)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 1000, 0).decode(errors="replace").strip() or "a process that has not said who it is"
        os.close(fd)
        raise DatabaseInUse(
            f"{os.path.abspath(db_path)} is already in use by another collector ({holder}). "
            "Stop that one first (Ctrl-C in its terminal, or kill its pid), or give this one its own file with "
            "--db other.db (COLLECTOR_DB)."
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()}{', ' + owner if owner else ''}\n".encode(), 0)
    return LockFile(fd)

"""The read connection: query functions run on a small pool of threads.

Each reader thread has its own read-only connection (WAL: readers never
block the writer process, and it never blocks them), so pages and the API
never wait on the event loop or on each other's SQLite calls.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from . import schema

# How long a thread may keep the GIL while another waits for it. A reader
# thread gives the GIL up at every sqlite3 step; under ingest load the event
# loop then keeps it for Python's default 5 ms before the reader gets it
# back, so a page's reads and Python crept along in 5 ms slices. At 0.5 ms
# (make bench's readers beside 32 connections of transactions, four
# alternating pairs) their p99 went 108-127 -> 76-87 ms; ingest alone, with
# no thread waiting, is unchanged.
SWITCH_INTERVAL = 0.0005


def share_the_gil() -> None:
    """For a server process: reader threads get the GIL back sooner."""
    sys.setswitchinterval(SWITCH_INTERVAL)


class Reader:
    """Runs query functions on a small pool of threads, off the event loop."""

    def __init__(self, path: str, threads: int = 4):
        self.path = path
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sqlite-reader")

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = schema.connect(self.path, readonly=True)
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
        return conn

    async def run(self, fn, *args):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: _tolerant(fn, self._conn(), args))

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def _lenient_text(value: bytes) -> str:
    return value.decode("utf-8", "replace")


def _tolerant(fn, conn: sqlite3.Connection, args: tuple):
    """fn(conn, *args); again with invalid UTF-8 replaced if a TEXT value
    holds some (another program, or a blob folded into group_concat, can
    store it), rather than decoding every value in Python every time."""
    try:
        return fn(conn, *args)
    except sqlite3.OperationalError as e:
        if not str(e).startswith("Could not decode to UTF-8"):
            raise
    conn.text_factory = _lenient_text
    try:
        return fn(conn, *args)
    finally:
        conn.text_factory = str

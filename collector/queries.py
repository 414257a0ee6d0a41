"""Read-side SQL: what the API, the UI and the CLI ask of the database.

Readers use their own read-only connections (WAL: they never block the
writer, and it never blocks them), one per reader thread.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

from . import schema


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
        return await loop.run_in_executor(self._pool, lambda: fn(self._conn(), *args))

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def _dicts(cursor) -> list[dict]:
    return [dict(row) for row in cursor]


def list_traces(conn, limit: int = 50, offset: int = 0) -> list[dict]:
    return _dicts(
        conn.execute(
            "SELECT * FROM traces ORDER BY start_timestamp DESC LIMIT ? OFFSET ?",
            (limit, offset),
        )
    )


def trace_rows(conn, trace_id: str) -> dict | None:
    summary = conn.execute("SELECT * FROM traces WHERE trace_id = ?", (trace_id,)).fetchone()
    if summary is None:
        return None
    return {
        "summary": dict(summary),
        "spans": _dicts(conn.execute("SELECT * FROM spans WHERE trace_id = ? ORDER BY start_timestamp", (trace_id,))),
        "errors": _dicts(
            conn.execute(
                "SELECT event_id, trace_id, span_id, level, exception_type, exception_value, message,"
                " transaction_name, timestamp, platform, environment, release, sdk_name, sdk_version,"
                " user_id, user_email, user_username, user_ip FROM events WHERE trace_id = ? ORDER BY timestamp",
                (trace_id,),
            )
        ),
        "logs": _dicts(conn.execute("SELECT * FROM logs WHERE trace_id = ? ORDER BY timestamp", (trace_id,))),
    }


def event_json(conn, event_id: str) -> str | None:
    """The stored JSON of an error or a transaction."""
    event_id = event_id.replace("-", "").lower()
    for table in ("events", "transactions"):
        row = conn.execute(f"SELECT data FROM {table} WHERE event_id = ?", (event_id,)).fetchone()
        if row is not None:
            return row[0]
    return None


def stats(conn) -> dict:
    tables = {
        name: conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
        for name in schema.TABLES
        if name not in ("envelopes", "rejections", "item_failures")
    }
    return {
        "envelopes": conn.execute("SELECT count(*) FROM envelopes").fetchone()[0],
        "rows": tables,
        "rejected_requests": conn.execute("SELECT count(*) FROM rejections").fetchone()[0],
        "failed_items": conn.execute("SELECT count(*) FROM item_failures").fetchone()[0],
        "rejections": _dicts(
            conn.execute(
                "SELECT status, reason, count(*) AS count, max(received_at) AS last_seen FROM rejections"
                " GROUP BY status, reason ORDER BY last_seen DESC LIMIT 20"
            )
        ),
        "failures": _dicts(
            conn.execute(
                "SELECT item_type, reason, count(*) AS count FROM item_failures"
                " GROUP BY item_type, reason ORDER BY count DESC LIMIT 20"
            )
        ),
        "content_encodings": {
            (row[0] or "identity"): row[1]
            for row in conn.execute("SELECT content_encoding, count(*) FROM envelopes GROUP BY content_encoding")
        },
    }

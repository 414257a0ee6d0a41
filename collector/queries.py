"""Read-side SQL: what the API, the UI and the CLI ask of the database.

Readers use their own read-only connections (WAL: they never block the
writer, and it never blocks them), one per reader thread.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

import orjson

from . import schema
from .traces import assemble, span_view


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
    # Zipping plain tuples with the column names takes half the time of
    # dict(sqlite3.Row): it matters for a 10,000-span trace.
    cursor.row_factory = None
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor]


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
    # Counted by the writer as it writes (see the counters table).
    counters = dict(conn.execute("SELECT name, value FROM counters").fetchall())
    tables = {
        name: counters.get(f"rows:{name}", 0) for name in schema.TABLES if name not in ("envelopes", "rejections", "item_failures", "counters")
    }
    return {
        "envelopes": counters.get("rows:envelopes", 0),
        "rows": tables,
        "rejected_requests": counters.get("rows:rejections", 0),
        "failed_items": counters.get("rows:item_failures", 0),
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
        "content_encodings": {name.partition(":")[2]: value for name, value in counters.items() if name.startswith("encoding:")},
    }


# --- pages ----------------------------------------------------------------------


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_traces(conn, filters: dict, limit: int, offset: int) -> list[dict]:
    """The trace list, filtered. The JSON list columns of `traces` are
    matched as text: one pass over a narrow table, no span scans."""
    where, args = [], []
    for column, key, quoted in (("users", "user", False), ("environments", "environment", True), ("releases", "release", True), ("sdks", "sdk", False)):
        value = filters.get(key)
        if value:
            where.append(f"{column} LIKE ? ESCAPE '\\'")
            args.append(_like(f'"{value}"' if quoted else value))
    if filters.get("has_errors"):
        where.append("error_count > 0")
    if filters.get("min_duration_ms"):
        where.append("(end_timestamp - start_timestamp) * 1000 >= ?")
        args.append(filters["min_duration_ms"])
    sql = "SELECT * FROM traces" + (" WHERE " + " AND ".join(where) if where else "")
    sql += " ORDER BY start_timestamp DESC LIMIT ? OFFSET ?"
    return _dicts(conn.execute(sql, (*args, limit, offset)))


def find_id(conn, value: str) -> tuple[str, str] | None:
    """What an id the user pasted names: ("trace", id), ("event", id) or ("span", trace_id#span)."""
    value = value.strip().replace("-", "").lower()
    if conn.execute("SELECT 1 FROM traces WHERE trace_id = ?", (value,)).fetchone():
        return "trace", value
    if conn.execute("SELECT 1 FROM events WHERE event_id = ?", (value,)).fetchone():
        return "event", value
    row = conn.execute("SELECT trace_id FROM transactions WHERE event_id = ?", (value,)).fetchone()
    if row:
        return "trace", row[0]
    # Segment span ids are indexed; any other span id costs a scan of spans.
    row = conn.execute("SELECT trace_id FROM spans WHERE span_id = ? AND is_segment = 1 LIMIT 1", (value,)).fetchone()
    row = row or conn.execute("SELECT trace_id FROM spans WHERE span_id = ? LIMIT 1", (value,)).fetchone()
    if row:
        return "span", f"{row[0]}#span-{value}"
    return None


def event_row(conn, event_id: str) -> dict | None:
    row = conn.execute("SELECT * FROM events WHERE event_id = ?", (event_id.replace("-", "").lower(),)).fetchone()
    return dict(row) if row else None


def attachments_of(conn, event_id: str) -> list[dict]:
    return _dicts(conn.execute("SELECT rowid AS id, filename, content_type, attachment_type, size FROM attachments WHERE event_id = ?", (event_id,)))


def error_groups(conn, limit: int = 200) -> list[dict]:
    return _dicts(
        conn.execute(
            "SELECT fingerprint, max(title) AS title, count(*) AS count, min(timestamp) AS first_seen,"
            " max(timestamp) AS last_seen, count(DISTINCT coalesce(user_email, user_id, user_username)) AS users,"
            " group_concat(DISTINCT sdk_name) AS sdks, max(event_id) AS latest_event_id"
            " FROM events GROUP BY fingerprint ORDER BY last_seen DESC LIMIT ?",
            (limit,),
        )
    )


def user_activity(conn, key: str, limit: int = 200) -> dict:
    """Traces and errors of one user, matched on id, email or username."""
    spans = _dicts(
        conn.execute(
            "SELECT DISTINCT trace_id FROM spans WHERE is_segment = 1 AND (user_id = ? OR user_email = ? OR user_username = ?) LIMIT ?",
            (key, key, key, limit),
        )
    )
    trace_ids = [r["trace_id"] for r in spans]
    errors = _dicts(
        conn.execute(
            "SELECT event_id, trace_id, title, level, timestamp, sdk_name, user_id, user_email, user_username"
            " FROM events WHERE user_id = ? OR user_email = ? OR user_username = ? ORDER BY timestamp DESC LIMIT ?",
            (key, key, key, limit),
        )
    )
    trace_ids += [e["trace_id"] for e in errors if e["trace_id"] and e["trace_id"] not in trace_ids]
    marks = ",".join("?" * len(trace_ids))
    traces = _dicts(conn.execute(f"SELECT * FROM traces WHERE trace_id IN ({marks}) ORDER BY start_timestamp DESC", trace_ids)) if trace_ids else []
    return {"traces": traces, "errors": errors}


def list_users(conn, limit: int = 200) -> list[dict]:
    """Users seen recently, on segments and errors, with what reported them."""
    return _dicts(
        conn.execute(
            "SELECT coalesce(user_email, user_id, user_username) AS key, max(user_id) AS id,"
            " max(user_email) AS email, max(user_username) AS username, count(*) AS seen,"
            " max(ts) AS last_seen, group_concat(DISTINCT sdk_name) AS sdks FROM ("
            "  SELECT user_id, user_email, user_username, sdk_name, start_timestamp AS ts FROM spans"
            "   WHERE is_segment = 1 AND coalesce(user_email, user_id, user_username) IS NOT NULL"
            "  UNION ALL SELECT user_id, user_email, user_username, sdk_name, timestamp FROM events"
            "   WHERE coalesce(user_email, user_id, user_username) IS NOT NULL)"
            " GROUP BY key ORDER BY last_seen DESC LIMIT ?",
            (limit,),
        )
    )


# --- the doctor ---------------------------------------------------------------------

MAX_DOCTOR_TRACES = 500
# Backend segments this far around a trace may be the other half of it.
TWIN_WINDOW = 60.0


def _load_traces(conn, trace_ids) -> dict:
    out = {}
    for trace_id in trace_ids:
        rows = trace_rows(conn, trace_id)
        if rows is not None:
            out[trace_id] = assemble(trace_id, rows)
    return out


def _request_headers(conn, segments: list[dict]) -> dict:
    ids = [s["event_id"] for s in segments if s.get("event_id")]
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    headers_by_event = {}
    for event_id, headers in conn.execute(
        f"SELECT event_id, json_extract(data, '$.request.headers') FROM transactions WHERE event_id IN ({marks})", ids
    ):
        parsed = orjson.loads(headers) if headers else {}
        # The protocol allows a list of [name, value] pairs as well as an object.
        if isinstance(parsed, list):
            parsed = {p[0]: p[1] for p in parsed if isinstance(p, list) and len(p) == 2}
        headers_by_event[event_id] = parsed if isinstance(parsed, dict) else {}
    return {s["span_id"]: headers_by_event.get(s.get("event_id"), {}) for s in segments}


def _server_segments(conn, trace_ids: list[str]) -> list[dict]:
    if not trace_ids:
        return []
    marks = ",".join("?" * len(trace_ids))
    rows = conn.execute(
        f"SELECT * FROM spans WHERE trace_id IN ({marks}) AND is_segment = 1 AND op LIKE 'http.server%'", trace_ids
    )
    return [span_view(dict(r)) for r in rows]


def doctor_rows(conn, since: float | None, trace_id: str | None = None, trace: dict | None = None) -> dict:
    """What doctor.diagnose() needs: one trace (pass `trace` if already
    assembled) with the backend segments around it, or every trace touched
    since `since` with SDK last-seen times and client reports."""
    if trace_id:
        trace = trace or _load_traces(conn, [trace_id]).get(trace_id)
        traces = {trace_id: trace} if trace else {}
        times = [s["start_timestamp"] for s in (trace or {}).get("spans", ()) if s["start_timestamp"] is not None]
        nearby = []
        if times:
            nearby = [
                r[0]
                for r in conn.execute(
                    "SELECT trace_id FROM traces WHERE start_timestamp BETWEEN ? AND ? LIMIT ?",
                    (min(times) - TWIN_WINDOW, max(times) + TWIN_WINDOW, MAX_DOCTOR_TRACES),
                )
            ]
        candidates = _server_segments(conn, nearby)
        last_seen, reports = [], []
    else:
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT trace_id FROM traces WHERE last_seen >= ? ORDER BY last_seen DESC LIMIT ?",
                (since or 0, MAX_DOCTOR_TRACES),
            )
        ]
        traces = _load_traces(conn, ids)
        candidates = [
            s for t in traces.values() for s in t["spans"] if s["is_segment"] and (s["op"] or "").startswith("http.server")
        ]
        last_seen = _dicts(
            conn.execute(
                "SELECT sdk_name, max(received_at) AS last_seen, count(*) AS envelopes FROM envelopes"
                " WHERE sdk_name IS NOT NULL GROUP BY sdk_name"
            )
        )
        reports = _dicts(
            conn.execute(
                "SELECT sdk_name, reason, category, sum(quantity) AS quantity FROM client_reports"
                " WHERE coalesce(timestamp, 0) >= ? GROUP BY sdk_name, reason, category",
                (since or 0,),
            )
        )
    return {
        "since": since,
        "traces": traces,
        "candidates": candidates,
        "requests": _request_headers(conn, candidates),
        "sdk_last_seen": last_seen,
        "client_reports": reports,
    }

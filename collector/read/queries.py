"""Read-side SQL: what the API, the UI and the CLI ask of the database.

Readers use their own read-only connections (WAL: they never block the
writer, and it never blocks them), one per reader thread.
"""

from __future__ import annotations

import time

from ..storage import schema
from ..protocol.jsonshape import loads, pairs_dict, typed
from ..protocol.urls import SERVER_OP, is_server_segment
from .traces import assemble, span_view

# Column types by table, for rows shown as they are stored (see jsonshape.typed).
TYPES = {
    name: {c: t for c, t in spec["columns"].items() if t in (str, float, int)} for name, spec in schema.TABLES.items()
}


def _dicts(cursor) -> list[dict]:
    # Zipping plain tuples with the column names takes half the time of
    # dict(sqlite3.Row): it matters for a 10,000-span trace.
    cursor.row_factory = None
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor]


def _typed(cursor, types: dict) -> list[dict]:
    """Rows a page shows as they are stored, each column of `types` of that type."""
    return [typed(row, types) for row in _dicts(cursor)]


# What one trace page or API call reads at most: a 1.6 MB envelope can hold
# 360,000 spans, and the page of a 10,000-span trace must still show it whole.
MAX_TRACE_PAGE_SPANS = 10_000
MAX_TRACE_ERRORS = 1_000
MAX_TRACE_LOGS = 1_000


def id_forms(value: str) -> tuple[str, ...]:
    """The forms an id pasted or linked in any case may be stored in: as
    given (links carry the stored form), lower case without dashes (what
    ingest stores), upper case (older versions stored ids as sent). A
    mixed-case id an older version stored is found only in the case it was
    sent in: finding it in any case would cost a scan of the table."""
    if not isinstance(value, str):
        return (value,)  # an id read from the database, as stored
    given = value.strip()
    bare = given.replace("-", "")
    return tuple(dict.fromkeys((given, bare.lower(), bare, bare.upper())))


def _lookup(conn, sql: str, value: str):
    """The first row `sql` (with one placeholder, the id) finds for a form of
    the id: at most four indexed lookups, one when the id is as stored."""
    for form in id_forms(value):
        row = conn.execute(sql, (form,)).fetchone()
        if row is not None:
            return row
    return None


def _capped(conn, sql: str, args: tuple, cap: int, count_sql: str) -> tuple[list[dict], int]:
    """Up to `cap` rows of `sql`, and how many there are in all."""
    rows = _dicts(conn.execute(sql + " LIMIT ?", (*args, cap + 1)))
    if len(rows) <= cap:
        return rows, len(rows)
    return rows[:cap], conn.execute(count_sql, args).fetchone()[0]


def trace_rows(conn, trace_id: str, limit: int = MAX_TRACE_PAGE_SPANS, offset: int = 0) -> dict | None:
    """One page of a trace's spans, by start time (parents start before their
    children), with its errors and logs, each capped and counted."""
    summary = _lookup(conn, "SELECT * FROM traces WHERE trace_id = ?", trace_id)
    if summary is None:
        return None
    stored_id = summary["trace_id"]  # as stored: it may not be text
    summary = typed(dict(summary), TYPES["traces"])
    spans = _dicts(
        conn.execute(
            "SELECT * FROM spans WHERE trace_id = ? ORDER BY start_timestamp LIMIT ? OFFSET ?", (stored_id, limit + 1, offset)
        )
    )
    errors, error_count = _capped(
        conn,
        "SELECT event_id, trace_id, span_id, level, exception_type, exception_value, message,"
        " transaction_name, timestamp, platform, environment, release, sdk_name, sdk_version,"
        " user_id, user_email, user_username, user_ip FROM events WHERE trace_id = ? ORDER BY timestamp",
        (stored_id,),
        MAX_TRACE_ERRORS,
        "SELECT count(*) FROM events WHERE trace_id = ?",
    )
    logs, log_count = _capped(
        conn, "SELECT * FROM logs WHERE trace_id = ? ORDER BY timestamp", (stored_id,), MAX_TRACE_LOGS,
        "SELECT count(*) FROM logs WHERE trace_id = ?",
    )
    more = len(spans) > limit
    del spans[limit:]
    return {
        "summary": summary,
        "trace_id": summary["trace_id"],
        "spans": spans,
        "offset": offset,
        "next_offset": offset + limit if more else None,
        # The summary counts spans as they are written; never say fewer than were read.
        "span_count": max(summary["span_count"] or 0, offset + len(spans) + more),
        "errors": errors,
        "error_count": error_count,
        "logs": logs,
        "log_count": log_count,
    }


def event_json(conn, event_id: str) -> str | bytes | None:
    """The stored JSON of an error or a transaction."""
    for table in ("events", "transactions"):
        row = _lookup(conn, f"SELECT data FROM {table} WHERE event_id = ?", event_id)
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
        "rejections": _typed(
            conn.execute(
                "SELECT status, reason, count(*) AS count, max(received_at) AS last_seen FROM rejections"
                " GROUP BY status, reason ORDER BY last_seen DESC LIMIT 20"
            ),
            {"status": int, "reason": str, "count": int, "last_seen": float},
        ),
        "failures": _typed(
            conn.execute(
                "SELECT item_type, reason, count(*) AS count FROM item_failures"
                " GROUP BY item_type, reason ORDER BY count DESC LIMIT 20"
            ),
            {"item_type": str, "reason": str, "count": int},
        ),
        "content_encodings": {name.partition(":")[2]: value for name, value in counters.items() if name.startswith("encoding:")},
    }


# --- pages ----------------------------------------------------------------------


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# A trace that claims to start more than a day from now (milliseconds taken
# for seconds, a clock gone wrong) is listed after all others, newest received
# first, rather than on top of the newest-first list for ever.
FUTURE_SLACK = 86400.0


def _horizon() -> float:
    return time.time() + FUTURE_SLACK


def search_traces(conn, filters: dict, limit: int, offset: int) -> list[dict]:
    """The trace list, filtered, newest first. The JSON list columns of
    `traces` are matched as text: one pass over a narrow table, no span scans."""
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
    horizon = _horizon()
    # Walks the start_timestamp index; text, NULL and far-future starts fail the test.
    known = ["start_timestamp <= ?", *where]
    known_rows = _dicts(
        conn.execute(
            f"SELECT * FROM traces WHERE {' AND '.join(known)} ORDER BY start_timestamp DESC LIMIT ? OFFSET ?",
            (horizon, *args, limit, offset),
        )
    )
    if len(known_rows) == limit:
        return known_rows
    # How many believable starts came before this page: then the rest.
    if known_rows:
        before = offset + len(known_rows)
    else:
        count = f"SELECT count(*) FROM traces WHERE {' AND '.join(known)}"
        before = conn.execute(count, (horizon, *args)).fetchone()[0]
    unknown = ["coalesce(start_timestamp <= ?, 0) = 0", *where]
    return known_rows + _dicts(
        conn.execute(
            f"SELECT * FROM traces WHERE {' AND '.join(unknown)} ORDER BY last_seen DESC LIMIT ? OFFSET ?",
            (horizon, *args, limit - len(known_rows), max(0, offset - before)),
        )
    )


def find_id(conn, value: str) -> tuple[str, str] | None:
    """What an id the user pasted names: ("trace", id), ("event", id) or ("span", trace_id#span)."""
    row = _lookup(conn, "SELECT trace_id FROM traces WHERE trace_id = ?", value)
    if row:
        return "trace", row[0]
    row = _lookup(conn, "SELECT event_id FROM events WHERE event_id = ?", value)
    if row:
        return "event", row[0]
    row = _lookup(conn, "SELECT trace_id FROM transactions WHERE event_id = ?", value)
    if row:
        return "trace", row[0]
    # Segment span ids are indexed; any other span id costs a scan of spans.
    row = _lookup(conn, "SELECT trace_id, span_id FROM spans WHERE span_id = ? AND is_segment = 1 LIMIT 1", value)
    row = row or _lookup(conn, "SELECT trace_id, span_id FROM spans WHERE span_id = ? LIMIT 1", value)
    if row:
        return "span", (row[0], row[1])
    return None


def event_row(conn, event_id: str) -> dict | None:
    row = _lookup(conn, "SELECT * FROM events WHERE event_id = ?", event_id)
    return typed(dict(row), TYPES["events"]) if row else None


def attachments_of(conn, event_id: str) -> list[dict]:
    return _typed(
        conn.execute(
            "SELECT rowid AS id, filename, content_type, attachment_type, size FROM attachments WHERE event_id = ?", (event_id,)
        ),
        {"filename": str, "content_type": str, "attachment_type": str, "size": int},
    )


GROUP_TYPES = {
    "fingerprint": str, "title": str, "count": int, "first_seen": float, "last_seen": float, "users": int, "sdks": str,
    "latest_event_id": str,
}


def error_groups(conn, limit: int = 200) -> list[dict]:
    # A group whose events all claim to come from the far future sorts last.
    return _typed(
        conn.execute(
            "SELECT fingerprint, max(title) AS title, count(*) AS count, min(timestamp) AS first_seen,"
            " max(CASE WHEN timestamp <= ? THEN timestamp END) AS last_seen,"
            " count(DISTINCT coalesce(user_email, user_id, user_username)) AS users,"
            " group_concat(DISTINCT sdk_name) AS sdks, max(event_id) AS latest_event_id"
            " FROM events GROUP BY fingerprint ORDER BY last_seen DESC LIMIT ?",
            (_horizon(), limit),
        ),
        GROUP_TYPES,
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
    horizon = _horizon()
    errors = _typed(
        conn.execute(
            "SELECT event_id, trace_id, title, level, timestamp, sdk_name, user_id, user_email, user_username"
            " FROM events WHERE user_id = ? OR user_email = ? OR user_username = ?"
            " ORDER BY coalesce(timestamp <= ?, 0) DESC, timestamp DESC LIMIT ?",
            (key, key, key, horizon, limit),
        ),
        TYPES["events"],
    )
    trace_ids += [e["trace_id"] for e in errors if e["trace_id"] and e["trace_id"] not in trace_ids]
    marks = ",".join("?" * len(trace_ids))
    traces = _dicts(
        conn.execute(
            f"SELECT * FROM traces WHERE trace_id IN ({marks})"
            " ORDER BY coalesce(start_timestamp <= ?, 0) DESC, start_timestamp DESC",
            (*trace_ids, horizon),
        )
    ) if trace_ids else []
    return {"traces": traces, "errors": errors}


def list_users(conn, limit: int = 200) -> list[dict]:
    """Users seen recently, on segments and errors, with what reported them."""
    return _typed(
        conn.execute(
            "SELECT coalesce(user_email, user_id, user_username) AS key, max(user_id) AS id,"
            " max(user_email) AS email, max(user_username) AS username, count(*) AS seen,"
            " max(CASE WHEN ts <= ? THEN ts END) AS last_seen, group_concat(DISTINCT sdk_name) AS sdks FROM ("
            "  SELECT user_id, user_email, user_username, sdk_name, start_timestamp AS ts FROM spans"
            "   WHERE is_segment = 1 AND coalesce(user_email, user_id, user_username) IS NOT NULL"
            "  UNION ALL SELECT user_id, user_email, user_username, sdk_name, timestamp FROM events"
            "   WHERE coalesce(user_email, user_id, user_username) IS NOT NULL)"
            " GROUP BY key ORDER BY last_seen DESC LIMIT ?",
            (_horizon(), limit),
        ),
        {"key": str, "id": str, "email": str, "username": str, "seen": int, "last_seen": float, "sdks": str},
    )


# --- the doctor ---------------------------------------------------------------------

MAX_DOCTOR_TRACES = 500
# Rows (spans, errors, logs) the doctor reads in all: 500 traces of up to
# 10,000 spans each would be millions.
MAX_DOCTOR_ROWS = 50_000
MAX_CANDIDATES = 5_000
# Backend segments this far around a trace may be the other half of it.
TWIN_WINDOW = 60.0


def _load_traces(conn, trace_ids) -> dict:
    out, budget = {}, MAX_DOCTOR_ROWS
    for trace_id in trace_ids:
        if budget <= 0:
            break
        rows = trace_rows(conn, trace_id, min(MAX_TRACE_PAGE_SPANS, budget))
        if rows is not None:
            out[trace_id] = assemble(rows["trace_id"], rows)
            budget -= len(rows["spans"]) + len(rows["errors"]) + len(rows["logs"])
    return out


def _request_headers(conn, segments: list[dict]) -> dict:
    """The request headers of each segment's transaction, by span id."""
    ids = list({s["event_id"] for s in segments if s.get("event_id")})
    headers_by_event = {}
    for chunk in range(0, len(ids), 500):
        part = ids[chunk : chunk + 500]
        # json_type first: json_extract gives a string as text, not as JSON.
        for event_id, kind, headers in conn.execute(
            "SELECT event_id, json_type(data, '$.request.headers'), json_extract(data, '$.request.headers') FROM"
            f" (SELECT event_id, CASE WHEN json_valid(data) THEN data END AS data FROM transactions"
            f" WHERE event_id IN ({','.join('?' * len(part))}))",
            part,
        ):
            parsed = loads(headers) if kind in ("object", "array") else None
            headers_by_event[event_id] = pairs_dict(parsed)
    return {s["span_id"]: headers_by_event.get(s.get("event_id"), {}) for s in segments}


def _server_segments(conn, trace_ids: list[str]) -> list[dict]:
    if not trace_ids:
        return []
    marks = ",".join("?" * len(trace_ids))
    rows = conn.execute(
        f"SELECT * FROM spans WHERE trace_id IN ({marks}) AND is_segment = 1 AND op LIKE '{SERVER_OP}%' LIMIT ?",
        (*trace_ids, MAX_CANDIDATES),
    )
    return [span_view(r) for r in _dicts(rows)]


def doctor_rows(conn, since: float | None, trace_id: str | None = None, trace: dict | None = None) -> dict:
    """What doctor.diagnose() needs: one trace (pass `trace` if already
    assembled) with the backend segments around it, or every trace touched
    since `since` with SDK last-seen times and client reports."""
    if trace_id:
        trace = trace or next(iter(_load_traces(conn, [trace_id]).values()), None)
        traces = {trace["trace_id"]: trace} if trace else {}
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
            s for t in traces.values() for s in t["spans"] if is_server_segment(s)
        ]
        last_seen = _typed(
            conn.execute(
                "SELECT sdk_name, max(received_at) AS last_seen, count(*) AS envelopes FROM envelopes"
                " WHERE sdk_name IS NOT NULL GROUP BY sdk_name"
            ),
            {"sdk_name": str, "last_seen": float, "envelopes": int},
        )
        # total(), not sum(): quantities near 2**63 must not overflow.
        reports = _typed(
            conn.execute(
                "SELECT sdk_name, reason, category, total(quantity) AS quantity FROM client_reports"
                " WHERE coalesce(timestamp, 0) >= ? GROUP BY sdk_name, reason, category",
                (since or 0,),
            ),
            {"sdk_name": str, "reason": str, "category": str, "quantity": int},
        )
    return {
        "since": since,
        "traces": traces,
        "candidates": candidates,
        "requests": _request_headers(conn, candidates),
        "sdk_last_seen": last_seen,
        "client_reports": reports,
    }

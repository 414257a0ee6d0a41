"""Read-side SQL: what the API, the UI and the CLI ask of the database.

Each function takes a read-only connection (storage/reader.py runs them on
reader threads) and returns plain dicts, typed as the schema says whatever
an older version stored. The doctor's reads are in doctor_queries.py.
"""

from __future__ import annotations

import time

from ..protocol.jsonshape import typed
from ..storage import schema, span_packs

# Column types by table, for rows shown as they are stored (see jsonshape.typed).
TYPES = {
    name: {c: t for c, t in spec["columns"].items() if t in (str, float, int)} for name, spec in schema.TABLES.items()
}


def dicts(cursor) -> list[dict]:
    # Zipping plain tuples with the column names takes half the time of
    # dict(sqlite3.Row): it matters for a 10,000-span trace.
    cursor.row_factory = None
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def typed_rows(cursor, types: dict) -> list[dict]:
    """Rows a page shows as they are stored, each column of `types` of that type."""
    return [typed(row, types) for row in dicts(cursor)]


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
    rows = dicts(conn.execute(sql + " LIMIT ?", (*args, cap + 1)))
    if len(rows) <= cap:
        return rows, len(rows)
    return rows[:cap], conn.execute(count_sql, args).fetchone()[0]


def _unsummarized(conn, trace_id: str) -> dict | None:
    """A trace known only by its logs or errors: summaries are made of spans
    and events, so a trace that holds only logs has no `traces` row."""
    for table in ("logs", "events"):
        row = _lookup(conn, f"SELECT trace_id FROM {table} WHERE trace_id = ? LIMIT 1", trace_id)
        if row is not None:
            return {"trace_id": row[0], "span_count": 0}
    return None


def trace_spans(conn, trace_id) -> list[dict]:
    """Every span of a trace (as stored), unpacked, in the order written."""
    rows = []
    for *shared, packed in conn.execute(f"{span_packs.SELECT_PACKS} WHERE trace_id = ? ORDER BY id", (trace_id,)):
        rows += span_packs.unpack(shared, packed)
    return rows


def _by_start(span: dict) -> tuple:
    # SQLite's ORDER BY start_timestamp, whatever another program stored:
    # NULL first, then numbers, then text.
    value = span["start_timestamp"]
    if value is None:
        return (0, 0)
    if isinstance(value, (int, float)):
        return (1, value)
    return (2, str(value))


def trace_rows(conn, trace_id: str, limit: int = MAX_TRACE_PAGE_SPANS, offset: int = 0) -> dict | None:
    """One page of a trace's spans, by start time (parents start before their
    children), with its errors and logs, each capped and counted."""
    summary = _lookup(conn, "SELECT * FROM traces WHERE trace_id = ?", trace_id) or _unsummarized(conn, trace_id)
    if summary is None:
        return None
    stored_id = summary["trace_id"]  # as stored: it may not be text
    summary = typed(dict(summary), TYPES["traces"])
    spans = sorted(trace_spans(conn, stored_id), key=_by_start)[offset : offset + limit + 1]
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
        conn,
        "SELECT * FROM logs WHERE trace_id = ? ORDER BY timestamp",
        (stored_id,),
        MAX_TRACE_LOGS,
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
        name: counters.get(f"rows:{name}", 0)
        for name in schema.TABLES
        if name not in ("envelopes", "rejections", "item_failures", "counters")
    }
    return {
        "envelopes": counters.get("rows:envelopes", 0),
        "rows": tables,
        "rejected_requests": counters.get("rows:rejections", 0),
        "failed_items": counters.get("rows:item_failures", 0),
        "rejections": typed_rows(
            conn.execute(
                "SELECT status, reason, count(*) AS count, max(received_at) AS last_seen FROM rejections"
                " GROUP BY status, reason ORDER BY last_seen DESC LIMIT 20"
            ),
            {"status": int, "reason": str, "count": int, "last_seen": float},
        ),
        "failures": typed_rows(
            conn.execute(
                "SELECT item_type, reason, count(*) AS count FROM item_failures"
                " GROUP BY item_type, reason ORDER BY count DESC LIMIT 20"
            ),
            {"item_type": str, "reason": str, "count": int},
        ),
        "content_encodings": {
            name.partition(":")[2]: value for name, value in counters.items() if name.startswith("encoding:")
        },
    }


# --- pages ----------------------------------------------------------------------


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# A trace that claims to start more than a day from now (milliseconds taken
# for seconds, a clock gone wrong) is listed after all others, newest received
# first, rather than on top of the newest-first list for ever.
FUTURE_SLACK = 86400.0


def believable_until() -> float:
    """Starts later than this are not believable: sorted as unknown."""
    return time.time() + FUTURE_SLACK


def trace_filter_clauses(filters: dict) -> tuple[list[str], list]:
    """The WHERE clauses of the trace list's filters, on the narrow traces table."""
    where, args = [], []
    for column, key, quoted in (
        ("users", "user", False),
        ("environments", "environment", True),
        ("releases", "release", True),
        ("sdks", "sdk", False),
    ):
        value = filters.get(key)
        if value:
            where.append(f"{column} LIKE ? ESCAPE '\\'")
            args.append(_like(f'"{value}"' if quoted else value))
    if filters.get("has_errors"):
        where.append("error_count > 0")
    if filters.get("min_duration_ms"):
        where.append("(end_timestamp - start_timestamp) * 1000 >= ?")
        args.append(filters["min_duration_ms"])
    # A Noise (health checks, preflights) hides the traces its rules name by their root.
    if filters.get("noise"):
        condition, noise_args = filters["noise"].sql("root_name")
        where.append(condition)
        args += noise_args
    return where, args


# How many of the newest traces are looked at to count the hidden ones: the
# count costs a bounded read however large the file.
NOISE_COUNT_WINDOW = 10_000


def count_noise(conn, filters: dict) -> dict:
    """How many of the newest NOISE_COUNT_WINDOW traces (the list's other
    filters applied) `filters["noise"]` hides, and how many were looked at.
    Each distinct root name is judged once, in Python (`Noise.hides`, which
    agrees with `Noise.sql`): the SQL condition on 10,000 rows was most of
    the trace list's time (39 ms with 12,000 traces stored, then 7), its
    names being mostly a few routes; the names come from the
    (start_timestamp, root_name) index alone (4-5.5 ms with 13,630)."""
    others, args = trace_filter_clauses({**filters, "noise": None})
    where = f" WHERE {' AND '.join(others)}" if others else ""
    newest = f"SELECT root_name FROM traces{where} ORDER BY start_timestamp DESC LIMIT ?"
    names = conn.execute(f"SELECT root_name, count(*) FROM ({newest}) GROUP BY root_name", (*args, NOISE_COUNT_WINDOW))
    hides = filters["noise"].hides
    hidden = looked = 0
    for name, n in names:
        looked += n
        if hides(name):
            hidden += n
    return {"hidden": hidden, "looked_at": looked, "window": NOISE_COUNT_WINDOW}


def search_traces(conn, filters: dict, limit: int, offset: int) -> list[dict]:
    """The trace list, filtered, newest first. The JSON list columns of
    `traces` are matched as text: one pass over a narrow table, no span scans."""
    where, args = trace_filter_clauses(filters)
    horizon = believable_until()
    # Walks the start_timestamp index; text, NULL and far-future starts fail the test.
    known = ["start_timestamp <= ?", *where]
    known_rows = dicts(
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
    return known_rows + dicts(
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
    # Segment span ids are indexed; any other span id costs a scan of the
    # narrow span_ids table (an index of every span id cost ingest 40%).
    row = _lookup(conn, "SELECT trace_id, span_id FROM span_packs WHERE span_id = ? AND is_segment = 1 LIMIT 1", value)
    row = row or _lookup(
        conn,
        "SELECT p.trace_id, ?1 AS span_id FROM span_ids AS i JOIN span_packs AS p ON p.id = i.pack"
        " WHERE instr(i.span_ids, ' ' || ?1 || ' ') > 0 LIMIT 1",
        value,
    )
    if row:
        return "span", (row[0], row[1])
    return None


def event_row(conn, event_id: str) -> dict | None:
    row = _lookup(conn, "SELECT * FROM events WHERE event_id = ?", event_id)
    return typed(dict(row), TYPES["events"]) if row else None


def attachments_of(conn, event_id: str) -> list[dict]:
    return typed_rows(
        conn.execute(
            "SELECT rowid AS id, filename, content_type, attachment_type, size FROM attachments WHERE event_id = ?",
            (event_id,),
        ),
        {"filename": str, "content_type": str, "attachment_type": str, "size": int},
    )

"""What each tool reads, as one function run on a reader thread.

Each takes a read-only connection (storage/reader.py runs it) and goes
through the read functions the API and pages use (read/queries, read/traces,
read/doctor, read/logs, read/journey), so an agent sees what /api shows.
Two searches the API has no form of (traces by name, single error events by
text) are the narrow SQL below, on the same indexed columns.
"""

from __future__ import annotations

from ..read import doctor, journey, logs, queries, traces
from ..read.doctor import queries as doctor_queries
from ..read.queries import TYPES, _like, dicts, id_forms, trace_filter_clauses, typed_rows


def trace_list(conn, filters: dict, text: str, limit: int, offset: int) -> dict:
    """Trace summaries newest first, filtered as /api/traces is; with `text`,
    those whose root span's name holds it, newest received first. One more
    row is read to know whether there is another page."""
    if text:
        where, args = trace_filter_clauses(filters)
        where.append("root_name LIKE ? ESCAPE '\\'")
        sql = f"SELECT * FROM traces WHERE {' AND '.join(where)} ORDER BY last_seen DESC LIMIT ? OFFSET ?"
        rows = dicts(conn.execute(sql, (*args, _like(text), limit + 1, offset)))
    else:
        rows = queries.search_traces(conn, filters, limit + 1, offset)
    return {"traces": [traces.summary_view(r) for r in rows[:limit]], "more": len(rows) > limit}


def trace_detail(conn, trace_id: str, limit: int, offset: int) -> dict | None:
    """One page of a trace as the trace page draws it (traces.waterfall), with
    the doctor's findings for it; None when no such trace is stored."""
    rows = queries.trace_rows(conn, trace_id, limit, offset)
    if rows is None:
        return None
    assembled = traces.assemble(rows["trace_id"], rows)
    checked = doctor_queries.doctor_rows(conn, None, assembled["trace_id"], assembled)
    findings = doctor.diagnose(checked)["findings"]
    return {
        "view": traces.waterfall(assembled, checked["requests"], findings),
        "findings": findings,
        "offset": offset,
        "next_offset": rows["next_offset"],
    }


ERROR_COLUMNS = (
    "event_id, trace_id, span_id, level, title, exception_type, exception_value, message, transaction_name,"
    " timestamp, environment, release, sdk_name, sdk_version, user_id, user_email, user_username, user_ip"
)


def error_events(conn, filters: dict, limit: int, offset: int) -> dict:
    """Error events newest first: `text` in the title, exception, message or
    transaction; `sdk` a substring of its name; `user` its id, email or
    username; `trace_id`, `level` as given."""
    where, args = [], []
    if filters.get("text"):
        columns = ("title", "exception_value", "message", "transaction_name", "exception_type")
        where.append("(" + " OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c in columns) + ")")
        args += [_like(filters["text"])] * len(columns)
    if filters.get("sdk"):
        where.append("sdk_name LIKE ? ESCAPE '\\'")
        args.append(_like(filters["sdk"]))
    if filters.get("user"):
        where.append("(user_id = ? OR user_email = ? OR user_username = ?)")
        args += [filters["user"]] * 3
    if filters.get("level"):
        where.append("lower(level) = lower(?)")
        args.append(filters["level"])
    if filters.get("trace_id"):
        forms = id_forms(filters["trace_id"])
        where.append(f"trace_id IN ({','.join('?' * len(forms))})")
        args += forms
    sql = (
        f"SELECT {ERROR_COLUMNS} FROM events"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + " ORDER BY timestamp DESC LIMIT ? OFFSET ?"
    )
    rows = typed_rows(conn.execute(sql, (*args, limit + 1, offset)), TYPES["events"])
    return {"errors": rows[:limit], "more": len(rows) > limit}


def log_records(conn, filters: dict, limit: int, offset: int) -> dict:
    """Logs as /api/logs lists them (q, level, sdk, trace_id, user), newest first."""
    rows = logs.search_logs(conn, filters, limit + 1, offset)
    return {"logs": rows[:limit], "more": len(rows) > limit}


def findings(conn, trace_id: str | None, since: float | None) -> dict:
    """The doctor's report: for one trace, or for every trace seen since `since`."""
    return doctor.diagnose(doctor_queries.doctor_rows(conn, since, trace_id or None))


def user_journey(conn, key: str, limit: int, oldest_first: bool) -> dict:
    """What /api/users/{key} answers."""
    return journey.user_journey(conn, key, limit, oldest_first)

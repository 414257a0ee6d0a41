"""The logs list: every log record, newest first, searched and filtered.

Logs carry their user only in their attributes (`user.id`, `user.email`,
`user.name`), so the user filter reads the attributes' JSON. The list walks
the `logs(timestamp)` index newest first and stops at the page's end: a
filter costs the rows it skips, never a sort of the whole table.
"""

from __future__ import annotations

from ..protocol.jsonshape import as_str, loads_dict, typed
from .queries import TYPES, _like, dicts, id_forms

# The attributes a log names its user by (Sentry's log attribute names).
USER_ATTRIBUTES = ("user.id", "user.email", "user.name")
# Stored attributes are JSON written by ingest; an older or hand-edited row
# may not be, and json_extract() would raise on it.
_ATTRIBUTES = "CASE WHEN json_valid(attributes) THEN attributes END"


def _where(filters: dict) -> tuple[list[str], list]:
    """SQL conditions and their arguments for the filters that are set."""
    where, args = [], []
    if filters.get("q"):
        where.append("(body LIKE ? ESCAPE '\\' OR attributes LIKE ? ESCAPE '\\')")
        args += [_like(filters["q"])] * 2
    if filters.get("level"):
        where.append("lower(level) = lower(?)")
        args.append(filters["level"])
    if filters.get("sdk"):
        where.append("sdk_name LIKE ? ESCAPE '\\'")
        args.append(_like(filters["sdk"]))
    if filters.get("trace_id"):
        forms = id_forms(filters["trace_id"])
        where.append(f"trace_id IN ({','.join('?' * len(forms))})")
        args += forms
    if filters.get("user"):
        # CAST: an SDK may send user.id as a number, and 42 = '42' is false in SQL.
        matches = [f"CAST(json_extract({_ATTRIBUTES}, '$.\"{name}\"') AS TEXT) = ?" for name in USER_ATTRIBUTES]
        where.append(f"({' OR '.join(matches)})")
        args += [filters["user"]] * len(USER_ATTRIBUTES)
    return where, args


def log_view(row: dict) -> dict:
    """One log as the API and the page show it: typed columns, parsed
    attributes, and the user those attributes name."""
    row = typed(row, {**TYPES["logs"], "id": int})
    attributes = loads_dict(row.pop("attributes")) or {}
    user = {key.removeprefix("user."): as_str(attributes[key]) for key in USER_ATTRIBUTES if key in attributes}
    return {**row, "attributes": attributes, "user": user or None}


def search_logs(conn, filters: dict, limit: int, offset: int) -> list[dict]:
    """Logs matching `filters` (q, level, sdk, trace_id, user), newest first."""
    where, args = _where(filters)
    sql = (
        "SELECT rowid AS id, trace_id, span_id, timestamp, level, severity_number, body, attributes,"
        " sdk_name, sdk_version, environment, release FROM logs"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + " ORDER BY timestamp DESC, rowid DESC LIMIT ? OFFSET ?"
    )
    return [log_view(r) for r in dicts(conn.execute(sql, (*args, limit, offset)))]

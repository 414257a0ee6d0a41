"""Dropped data: items the collector could not store (or stored although
Sentry would drop them) and requests it refused, newest first, grouped by
reason; the trace a failed item belonged to, read from its kept bytes.

Both tables only grow by appending, so rowid order is arrival order and
"newest first" walks the rowid backwards without an index.
"""

from __future__ import annotations

import re
from collections import defaultdict

from ..protocol.jsonshape import as_dict, as_str, loads_dict, typed
from .queries import dicts

# The newest this many of each are listed and checked by the doctor; the
# counts by reason cover every row.
MAX_LISTED = 500
MAX_REASONS = 50
# In a payload cut short (a kept prefix is not whole JSON), the first
# trace id it names: a transaction's contexts.trace or any of its spans.
_TRACE_ID = re.compile(
    rb'"trace_id"\s*:\s*"([0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12})"'
)
# Reasons that differ only in numbers ("item of 2712345 bytes") are one reason.
_NUMBER = re.compile(r"\d+")

FAILURE_TYPES = {
    "id": int,
    "item_index": int,
    "item_type": str,
    "reason": str,
    "size": int,
    "kept": int,
    "received_at": float,
    "sdk_name": str,
    "sdk_version": str,
    "endpoint": str,
}
REJECTION_TYPES = {"id": int, "received_at": float, "endpoint": str, "status": int, "reason": str, "user_agent": str}


def _bare_id(value) -> str | None:
    # As ingest stores ids: lower case, no dashes.
    text = as_str(value)
    return text.replace("-", "").lower() if text else None


def trace_of(payload: bytes | None) -> str | None:
    """The trace id a failed item's kept bytes name, when they are JSON (whole
    or the start of it): contexts.trace.trace_id, else a top-level or span's
    trace_id."""
    if not payload:
        return None
    payload = bytes(payload)
    whole = loads_dict(payload)
    if whole is not None:
        found = as_dict(as_dict(whole.get("contexts")).get("trace")).get("trace_id") or whole.get("trace_id")
        return _bare_id(found)
    match = _TRACE_ID.search(payload)
    return _bare_id(match.group(1).decode()) if match else None


def reason_kind(reason: str | None) -> str:
    """The reason with its numbers hidden, to group by."""
    return _NUMBER.sub("N", reason or "no reason given")


def failed_items(conn, since: float | None = None, limit: int = MAX_LISTED) -> list[dict]:
    """Failed items, newest first, with their envelope's time and SDK, their
    size, how much of them was kept and the trace they name."""
    rows = dicts(
        conn.execute(
            "SELECT f.rowid AS id, f.item_index, f.item_type, f.reason, f.size, length(f.payload) AS kept,"
            " f.payload, e.received_at, e.sdk_name, e.sdk_version, e.endpoint"
            " FROM item_failures f LEFT JOIN envelopes e ON e.id = f.envelope_id"
            " WHERE coalesce(e.received_at, 0) >= ? ORDER BY f.rowid DESC LIMIT ?",
            (since or 0, limit),
        )
    )
    return [{**typed(r, FAILURE_TYPES), "payload": None, "trace_id": trace_of(r["payload"])} for r in rows]


def rejections(conn, since: float | None = None, limit: int = MAX_LISTED) -> list[dict]:
    """Requests answered 4xx, newest first."""
    rows = conn.execute(
        "SELECT rowid AS id, received_at, endpoint, status, reason, user_agent FROM rejections"
        " WHERE coalesce(received_at, 0) >= ? ORDER BY rowid DESC LIMIT ?",
        (since or 0, limit),
    )
    return [typed(r, REJECTION_TYPES) for r in dicts(rows)]


def by_reason(rows: list[dict]) -> list[dict]:
    """Rows grouped by reason (numbers aside), the group with the newest row first."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        groups[reason_kind(row["reason"])].append(row)
    return [{"reason": members[0]["reason"], "count": len(members), "rows": members} for members in groups.values()]


def totals(conn) -> dict:
    """How many rows each table holds, by reason: the page lists only the newest."""
    failures = conn.execute(
        "SELECT reason, count(*) FROM item_failures GROUP BY reason ORDER BY count(*) DESC LIMIT ?", (MAX_REASONS,)
    )
    refused = conn.execute(
        "SELECT reason, count(*) FROM rejections GROUP BY reason ORDER BY count(*) DESC LIMIT ?", (MAX_REASONS,)
    )
    return {
        "failed_items": _merged(failures),
        "rejections": _merged(refused),
    }


def _merged(pairs) -> dict:
    counts: dict[str, int] = defaultdict(int)
    for reason, count in pairs:
        counts[reason_kind(as_str(reason))] += count
    return dict(counts)


def dropped(conn) -> dict:
    """What /dropped shows: failed items and rejected requests, newest first, by reason."""
    return {"failed_items": failed_items(conn), "rejections": rejections(conn), "totals": totals(conn)}


def raw_payload(conn, rowid: int) -> dict | None:
    """A failed item's kept bytes (its start, at most 64 KiB) and what it was."""
    row = conn.execute("SELECT item_type, item_index, payload FROM item_failures WHERE rowid = ?", (rowid,)).fetchone()
    if row is None:
        return None
    return {"item_type": as_str(row[0]), "item_index": row[1], "payload": bytes(row[2] or b"")}

"""The stored rows of one trace, everything `export.py` turns back into
envelopes: spans, transactions, errors, logs, the attachments and session
updates that came with its events, the replays that recorded it and the
feedback given on it.

A trace is exported whole (what a colleague needs to see it again), so the
rows are not capped as a page's are; each table is read through an index
except `sessions`, `replays` and `feedback`, which are small (a row per
session update, replay segment or piece of feedback) and read in one pass.
"""

from __future__ import annotations

from .queries import dicts, id_forms, trace_spans
from .replays import MAX_TRACE_REPLAYS

# SQLite's default limit of host parameters is far above this.
IN_CHUNK = 500
# Ids in a replay's JSON column may be stored in any case, with dashes.
_REPLAY_TRACE_IDS = (
    "SELECT DISTINCT r.replay_id FROM replays AS r,"
    " json_each(CASE WHEN json_valid(r.trace_ids) THEN r.trace_ids ELSE '[]' END) AS t"
    " WHERE lower(replace(t.value, '-', '')) = ? LIMIT ?"
)


def stored_trace_id(conn, trace_id: str):
    """The trace id as stored, in whichever table first names it; None when unknown."""
    for form in id_forms(trace_id):
        for table in ("traces", "events", "logs"):
            row = conn.execute(f"SELECT trace_id FROM {table} WHERE trace_id = ? LIMIT 1", (form,)).fetchone()
            if row is not None:
                return row[0]
    return None


def _rows_in(conn, sql: str, column: str, values: list) -> list[dict]:
    """Rows of `sql` (ending in `WHERE`) whose `column` is one of `values`, read in chunks."""
    values = list(dict.fromkeys(v for v in values if v is not None))
    rows: list[dict] = []
    for start in range(0, len(values), IN_CHUNK):
        chunk = values[start : start + IN_CHUNK]
        rows += dicts(conn.execute(f"{sql} {column} IN ({','.join('?' * len(chunk))}) ORDER BY rowid", chunk))
    return rows


def _replays(conn, trace_id) -> tuple[list[dict], list[dict]]:
    """The segments and recordings of every replay that names the trace."""
    if not isinstance(trace_id, str):
        return [], []
    ids = [row[0] for row in conn.execute(_REPLAY_TRACE_IDS, (trace_id.lower(), MAX_TRACE_REPLAYS))]
    segments = _rows_in(conn, "SELECT * FROM replays WHERE", "replay_id", ids)
    recordings = _rows_in(conn, "SELECT * FROM replay_recordings WHERE", "replay_id", ids)
    return segments, recordings


def _feedback(conn, trace_id, error_ids: list) -> list[dict]:
    """Feedback naming the trace, or given on one of its errors (`user_report`
    names its event in `event_id`, newer feedback in `associated_event_id`)."""
    select = "SELECT rowid AS feedback_row, * FROM feedback WHERE"
    rows = dicts(conn.execute(f"{select} trace_id = ? ORDER BY rowid", (trace_id,)))
    rows += _rows_in(conn, f"{select} kind = 'user_report' AND", "event_id", error_ids)
    rows += _rows_in(conn, select, "associated_event_id", error_ids)
    # Feedback on an error of the trace usually names the trace too: once each.
    return list({row["feedback_row"]: row for row in rows}.values())


def trace_export_rows(conn, trace_id: str) -> dict | None:
    """Every stored row of the trace `export.py` needs, by table; None when
    no trace of that id (in any case) is stored."""
    stored = stored_trace_id(conn, trace_id)
    if stored is None:
        return None
    spans = trace_spans(conn, stored)
    segment_events = [s["event_id"] for s in spans if s["origin"] == "transaction" and s["is_segment"]]
    transactions = _rows_in(conn, "SELECT * FROM transactions WHERE", "event_id", segment_events)
    events = dicts(conn.execute("SELECT * FROM events WHERE trace_id = ? ORDER BY rowid", (stored,)))
    error_ids = [e["event_id"] for e in events]
    segments, recordings = _replays(conn, stored)
    return {
        "trace_id": stored,
        "spans": spans,
        "transactions": transactions,
        "events": events,
        "logs": dicts(conn.execute("SELECT * FROM logs WHERE trace_id = ? ORDER BY rowid", (stored,))),
        "attachments": _rows_in(
            conn, "SELECT * FROM attachments WHERE", "event_id", error_ids + [t["event_id"] for t in transactions]
        ),
        # A session update travels in the envelope of the error that ended it.
        "sessions": _rows_in(conn, "SELECT * FROM sessions WHERE", "envelope_id", [e["envelope_id"] for e in events]),
        "replays": segments,
        "recordings": recordings,
        "feedback": _feedback(conn, stored, error_ids),
    }

"""Replays: the list, one replay's summary, and the replays of a trace.

A replay is stored as one `replays` row per segment (its `replay_event`) and
one `replay_recordings` row per segment (the recording, kept as sent). A
summary merges the segments' rows: ids de-duplicated in segment order, the
user and SDK of the latest segment that names them. The pure merging is
`summarize`; the query functions take a read-only connection, as those in
queries.py do. Decoding recordings is replay_detail.py's.
"""

from __future__ import annotations

from ..protocol.jsonshape import as_dict, as_list, as_str, as_timestamp, loads, typed
from .queries import TYPES, believable_until, dicts, id_forms

# A replay with more segment rows than this is summarized from its first ones:
# the JS SDK cuts a segment every 5 minutes at most, for an hour at most.
MAX_SEGMENT_ROWS = 2_000
# A trace page lists at most this many replays.
MAX_TRACE_REPLAYS = 50

USER_FIELDS = (("id", "user_id"), ("email", "user_email"), ("username", "user_username"), ("ip_address", "user_ip"))


def _distinct_texts(rows: list[dict], key: str) -> list[str]:
    """The text values of a list field across rows, each once, in order."""
    seen: dict[str, None] = {}
    for row in rows:
        for value in as_list(row["json"].get(key)):
            text = as_str(value)
            if text:
                seen.setdefault(text, None)
    return list(seen)


def _latest(rows: list[dict], pick) -> dict | None:
    """What `pick` finds on the latest segment that has it."""
    for row in reversed(rows):
        found = pick(row)
        if found:
            return found
    return None


def _user(row: dict) -> dict | None:
    user = {field: row.get(column) for field, column in USER_FIELDS}
    return user if any(user.values()) else None


def _sdk(row: dict) -> dict | None:
    return {"name": row["sdk_name"], "version": row["sdk_version"]} if row.get("sdk_name") else None


def _segment_order(row: dict):
    segment = row.get("segment_id")
    return (segment is None, segment if segment is not None else 0, row.get("timestamp") or 0.0)


def summarize(replay_id: str, rows: list[dict], recorded_segments: int = 0) -> dict:
    """One replay from its segments' `replays` rows (typed, `json` parsed).

    `started` is the replay's own start (`replay_start_timestamp`, on its
    first segment), else the earliest segment time; `duration` runs from
    there to the latest segment time, None when there is nothing to measure.
    """
    rows = sorted(rows, key=_segment_order)
    starts = [as_timestamp(row["json"].get("replay_start_timestamp")) for row in rows]
    times = [row["timestamp"] for row in rows if row.get("timestamp") is not None]
    started = min([s for s in starts if s is not None] or times or [None], key=lambda t: t or 0.0)
    ended = max(times) if times else None
    duration = ended - started if started is not None and ended is not None and ended > started else None
    segment_ids = {row["segment_id"] for row in rows if row.get("segment_id") is not None}
    return {
        "replay_id": replay_id,
        "started": started,
        "duration": duration,
        "segments": max(len(segment_ids) or len(rows), recorded_segments),
        "error_ids": _distinct_texts(rows, "error_ids"),
        "trace_ids": _distinct_texts(rows, "trace_ids"),
        "urls": _distinct_texts(rows, "urls"),
        "user": _latest(rows, _user) or {field: None for field, _ in USER_FIELDS},
        "sdk": _latest(rows, _sdk) or {"name": None, "version": None},
    }


def details(rows: list[dict]) -> dict:
    """What the replay page shows beside the summary, from its latest segment."""
    rows = sorted(rows, key=_segment_order)

    def field(name):
        return _latest(rows, lambda row: row.get(name))

    return {
        "platform": field("platform"),
        "release": field("release"),
        "environment": field("environment"),
        "replay_type": _latest(rows, lambda row: as_str(row["json"].get("replay_type"))),
    }


def _parsed(row: dict) -> dict:
    typed_row = typed(row, TYPES["replays"])
    typed_row["json"] = as_dict(loads(row.get("data")))
    return typed_row


def stored_id(conn, replay_id: str) -> str | None:
    """The replay id as stored (ids are stored lower case without dashes;
    recordings alone may name a replay whose replay_event never came)."""
    for form in id_forms(replay_id):
        for table in ("replays", "replay_recordings"):
            row = conn.execute(f"SELECT replay_id FROM {table} WHERE replay_id = ? LIMIT 1", (form,)).fetchone()
            if row is not None:
                return row[0]
    return None


def segment_rows(conn, stored: str) -> list[dict]:
    """A replay's `replays` rows, typed, with their JSON parsed."""
    rows = dicts(
        conn.execute(
            "SELECT * FROM replays WHERE replay_id = ? ORDER BY segment_id, timestamp LIMIT ?",
            (stored, MAX_SEGMENT_ROWS),
        )
    )
    return [_parsed(row) for row in rows]


def recorded_segments(conn, stored: str) -> int:
    return conn.execute(
        "SELECT count(DISTINCT coalesce(segment_id, -rowid)) FROM replay_recordings WHERE replay_id = ?", (stored,)
    ).fetchone()[0]


def summary_of(conn, stored: str) -> dict:
    return summarize(as_str(stored) or "", segment_rows(conn, stored), recorded_segments(conn, stored))


def replay_summary(conn, replay_id: str) -> dict | None:
    """The list's fields of one replay, by its id in any case; None when unknown."""
    stored = stored_id(conn, replay_id)
    return summary_of(conn, stored) if stored is not None else None


def _user_clause(user: str | None) -> tuple[str, tuple]:
    if not user:
        return "", ()
    return " WHERE user_id = ? OR user_email = ? OR user_username = ?", (user, user, user)


def list_replays(conn, limit: int, offset: int, user: str | None = None) -> list[dict]:
    """Replays newest first (by their first segment); `user` matches a
    segment's user id, email or username. A replay that claims to start in
    the far future sorts last."""
    where, args = _user_clause(user)
    ids = conn.execute(
        f"SELECT replay_id FROM replays WHERE replay_id IN (SELECT replay_id FROM replays{where})"
        " GROUP BY replay_id ORDER BY coalesce(min(timestamp) <= ?, 0) DESC, min(timestamp) DESC, replay_id"
        " LIMIT ? OFFSET ?",
        (*args, believable_until(), limit, offset),
    ).fetchall()
    return [summary_of(conn, row[0]) for row in ids]


def trace_replays(conn, trace_id: str) -> list[dict]:
    """The replays whose segments name this trace. Trace ids sit in a JSON
    column: `replays` is small (a row per segment), so one pass over it."""
    forms = [form.lower() for form in id_forms(trace_id) if isinstance(form, str)]
    marks = ",".join("?" * len(forms))
    rows = conn.execute(
        "SELECT DISTINCT r.replay_id FROM replays AS r,"
        " json_each(CASE WHEN json_valid(r.trace_ids) THEN r.trace_ids ELSE '[]' END) AS t"
        f" WHERE lower(replace(t.value, '-', '')) IN ({marks}) LIMIT ?",
        (*forms, MAX_TRACE_REPLAYS),
    ).fetchall()
    replays = [summary_of(conn, row[0]) for row in rows]
    replays.sort(key=lambda r: r["started"] or 0.0)
    return replays

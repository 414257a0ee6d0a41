"""What an error links to beyond its trace: the replay that recorded it
and the feedback given on it."""

from __future__ import annotations

from ..protocol.jsonshape import as_dict, as_number, as_str, pairs_dict
from .queries import TYPES, typed_rows
from .replays import replay_summary

# An error's feedback is a handful of rows; this bounds a flood.
MAX_FEEDBACK = 50


def replay_id_of(event: dict) -> str | None:
    """The replay an error happened in: `contexts.replay.replay_id` (what
    Sentry's server and newer SDKs write), else the `replayId` tag (what
    @sentry/browser 11 sends, with no replay context)."""
    from_context = as_str(as_dict(as_dict(event.get("contexts")).get("replay")).get("replay_id"))
    return from_context or as_str(pairs_dict(event.get("tags")).get("replayId")) or None


def replay_offset(error_time, replay_started) -> float | None:
    """Seconds from the replay's start to the error, never negative (a
    buffered replay starts up to a minute before; clocks may disagree)."""
    error_time, replay_started = as_number(error_time), as_number(replay_started)
    if error_time is None or replay_started is None:
        return None
    return round(max(0.0, error_time - replay_started), 1)


def replay_link(conn, event: dict, error_time) -> dict | None:
    """The error's replay: its id, whether it is stored, and where in it the
    error happened. None when the error names no replay."""
    replay_id = replay_id_of(event)
    if replay_id is None:
        return None
    summary = replay_summary(conn, replay_id)
    if summary is None:
        return {"replay_id": replay_id, "stored": False, "offset": None}
    return {
        "replay_id": summary["replay_id"],
        "stored": True,
        "offset": replay_offset(error_time, summary["started"]),
    }


def feedback_on(conn, event_id: str) -> list[dict]:
    """Feedback on this error, oldest first: a `feedback` item names it in
    associated_event_id; a legacy `user_report` carries its event_id."""
    cursor = conn.execute(
        "SELECT kind, event_id, name, email, message, timestamp FROM feedback"
        " WHERE (kind = 'feedback' AND associated_event_id = ?) OR (kind = 'user_report' AND event_id = ?)"
        " ORDER BY timestamp LIMIT ?",
        (event_id, event_id, MAX_FEEDBACK),
    )
    return typed_rows(cursor, TYPES["feedback"])

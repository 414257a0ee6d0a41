"""One replay whole: its summary, the decoded rrweb events of every segment
in order, its mobile videos, the errors it saw and the feedback given on it.

Recordings are stored as sent and decoded here, on a reader thread. A
segment that cannot be decoded is reported with its reason and does not
stop the others.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..protocol.jsonshape import as_dict, as_number, as_str, typed
from ..protocol.replays import (
    MAX_RECORDING_BYTES,
    ReplayDecodeError,
    decode_recording,
    unpack_video_item,
)
from . import replays
from .queries import TYPES, dicts, id_forms, typed_rows

# What one replay's events may decode to in all: ten segments at Relay's
# limit. Past it, segments fail with the reason.
MAX_REPLAY_BYTES = 1000 * 1000 * 1000
MAX_REPLAY_ERRORS = 1_000
MAX_REPLAY_FEEDBACK = 200
# SQLite's default limit of host parameters is far above this.
IN_CHUNK = 500

VIDEO = "replay_video"


def decode_segments(segments: Iterable[tuple[int | None, bytes]], budget: int = MAX_REPLAY_BYTES):
    """The rrweb events of (segment id, recording payload) pairs, in the
    order given, and `[{"segment_id", "reason"}]` for those that failed."""
    events: list[dict] = []
    failures: list[dict] = []
    for segment_id, payload in segments:
        if budget <= 0:
            failures.append({"segment_id": segment_id, "reason": "the replay's earlier segments used its size limit"})
            continue
        try:
            segment = decode_recording(payload, min(MAX_RECORDING_BYTES, budget))
        except ReplayDecodeError as e:
            failures.append({"segment_id": segment_id, "reason": str(e)})
            continue
        budget -= segment.size
        events.extend(segment.events)
    return events, failures


def _video_timings(events: list[dict]) -> dict:
    """Each mobile segment's start and duration in seconds, by its segment
    id, from its rrweb `video` custom event (type 5; rrweb times are ms)."""
    timings = {}
    for event in events:
        data = as_dict(event.get("data"))
        if event.get("type") != 5 or data.get("tag") != "video":
            continue
        payload = as_dict(data.get("payload"))
        start, duration = as_number(event.get("timestamp")), as_number(payload.get("duration"))
        timing = (start / 1000 if start is not None else None, duration / 1000 if duration is not None else None)
        timings.setdefault(payload.get("segmentId"), timing)
    return timings


def time_videos(videos: list[dict], events: list[dict]) -> None:
    """Each video's start and duration, from the `video` event naming its
    segment (or the only one there is, for the only video)."""
    timings = _video_timings(events)
    only = next(iter(timings.values())) if len(timings) == 1 and len(videos) == 1 else (None, None)
    for video in videos:
        video["timestamp"], video["duration"] = timings.get(video["segment_id"], only)


def _recordings(conn, stored: str):
    """A replay's recordings, in segment order, each segment once (Replay
    sends a segment again when its upload seemed to fail)."""
    cursor = conn.execute(
        "SELECT segment_id, kind, payload FROM replay_recordings WHERE replay_id = ?"
        " ORDER BY segment_id IS NULL, segment_id, rowid",
        (stored,),
    )
    seen = set()
    for segment_id, kind, payload in cursor:
        if segment_id is not None and segment_id in seen:
            continue
        seen.add(segment_id)
        yield segment_id, as_str(kind), payload if isinstance(payload, bytes) else b""


def recordings(conn, stored: str, replay_id: str) -> dict:
    """Every segment's events (in order), failures and videos."""
    videos: list[dict] = []
    failures: list[dict] = []

    def segments():
        for segment_id, kind, payload in _recordings(conn, stored):
            if kind != VIDEO:
                yield segment_id, payload
                continue
            try:
                item = unpack_video_item(payload)
            except ReplayDecodeError as e:
                failures.append({"segment_id": segment_id, "reason": str(e)})
                continue
            if item.video is not None:
                url = f"/api/replays/{replay_id}/videos/{segment_id}"
                videos.append({"segment_id": segment_id, "url": url, "timestamp": None, "duration": None})
            if item.recording is not None:
                yield segment_id, item.recording

    events, decode_failures = decode_segments(segments())
    time_videos(videos, events)
    return {"events": events, "segment_failures": failures + decode_failures, "videos": videos}


def video_bytes(conn, replay_id: str, segment_id: int) -> bytes | None:
    """The mp4 of one mobile segment, or None."""
    stored = replays.stored_id(conn, replay_id)
    if stored is None:
        return None
    rows = conn.execute(
        "SELECT payload FROM replay_recordings WHERE replay_id = ? AND segment_id = ? AND kind = ? ORDER BY rowid",
        (stored, segment_id, VIDEO),
    )
    for (payload,) in rows:
        try:
            video = unpack_video_item(payload if isinstance(payload, bytes) else b"").video
        except ReplayDecodeError:
            continue
        if video is not None:
            return video
    return None


def _chunks(values: list[str]):
    for start in range(0, len(values), IN_CHUNK):
        yield values[start : start + IN_CHUNK]


def stored_error_ids(error_ids: list[str]) -> list[str]:
    """Error ids as ingest stores event ids: lower case, no dashes."""
    return list(dict.fromkeys(i.replace("-", "").lower() for i in error_ids))[:MAX_REPLAY_ERRORS]


def errors_of(conn, error_ids: list[str]) -> list[dict]:
    """The replay's errors that are stored, oldest first."""
    found = []
    for chunk in _chunks(stored_error_ids(error_ids)):
        marks = ",".join("?" * len(chunk))
        found += typed_rows(
            conn.execute(f"SELECT event_id, title, timestamp, trace_id FROM events WHERE event_id IN ({marks})", chunk),
            TYPES["events"],
        )
    found.sort(key=lambda e: e["timestamp"] or 0.0)
    return found


FEEDBACK_COLUMNS = "event_id, name, email, message, timestamp"
# Feedback names its replay in contexts.replay; `data` is JSON ingest wrote,
# checked all the same (an older file may hold anything).
FEEDBACK_REPLAY = (
    "lower(replace(CASE WHEN json_valid(data) THEN json_extract(data, '$.contexts.replay.replay_id') END, '-', ''))"
)


def feedback_of(conn, stored: str, error_ids: list[str]) -> list[dict]:
    """Feedback given on this replay, or on one of its errors. The feedback
    table is small (people write it): one pass over it."""
    ids = stored_error_ids(error_ids)[:IN_CHUNK]
    marks = ",".join("?" * len(ids)) or "NULL"
    forms = [form.lower() for form in id_forms(stored) if isinstance(form, str)] or [stored]
    rows = dicts(
        conn.execute(
            f"SELECT {FEEDBACK_COLUMNS} FROM feedback WHERE {FEEDBACK_REPLAY} IN ({','.join('?' * len(forms))})"
            f" OR associated_event_id IN ({marks}) ORDER BY timestamp LIMIT ?",
            (*forms, *ids, MAX_REPLAY_FEEDBACK),
        )
    )
    return [typed(row, TYPES["feedback"]) for row in rows]


def replay_detail(conn, replay_id: str) -> dict | None:
    """Everything the replay page and `GET /api/replays/{id}` show; None
    when no replay of that id (in any case) is stored."""
    stored = replays.stored_id(conn, replay_id)
    if stored is None:
        return None
    rows = replays.segment_rows(conn, stored)
    played = recordings(conn, stored, as_str(stored) or "")
    summary = replays.summarize(as_str(stored) or "", rows, replays.recorded_segments(conn, stored))
    return {
        **summary,
        **replays.details(rows),
        **played,
        "errors": errors_of(conn, summary["error_ids"]),
        "feedback": feedback_of(conn, stored, summary["error_ids"]),
    }


def trace_feedback(conn, trace_id: str) -> list[dict]:
    """Feedback given on a trace: named by its trace context, or on one of
    the trace's errors (events are indexed by trace; feedback is small)."""
    rows = dicts(
        conn.execute(
            f"SELECT {FEEDBACK_COLUMNS} FROM feedback WHERE trace_id = ?"
            " OR associated_event_id IN (SELECT event_id FROM events WHERE trace_id = ?) ORDER BY timestamp LIMIT ?",
            (trace_id, trace_id, MAX_REPLAY_FEEDBACK),
        )
    )
    return [typed(row, TYPES["feedback"]) for row in rows]


def trace_links(conn, trace_id: str) -> dict:
    """What the trace page shows of replays and feedback, for a trace id as stored."""
    return {"replays": replays.trace_replays(conn, trace_id), "feedback": trace_feedback(conn, trace_id)}

"""A user's journey as one timeline: rows of every kind to entries, in
order, bounded. Pure; journey.py reads the rows.

Every entry is {"kind", "time", "id", "sdk", …}: "sdk" is the SDK that
sent it (sentry.javascript.browser, sentry.javascript.react-native,
sentry.python…), so web, mobile and backend read apart on one line.
"""

from __future__ import annotations

from ..protocol.jsonshape import as_dict, as_int, as_list, as_number, as_str, as_timestamp, loads
from .aliases import Switch

KINDS = ("session", "replay", "trace", "error", "log", "feedback")


def _span(start, end) -> float | None:
    start, end = as_timestamp(start), as_timestamp(end)
    return end - start if start is not None and end is not None and end >= start else None


def trace_entries(summaries: list[dict], segments: list[dict]) -> list[dict]:
    """Trace summaries, each with the services (SDK or platform) its segments came from."""
    services: dict[str, list[str]] = {}
    for segment in segments:
        name = as_str(segment.get("sdk_name")) or as_str(segment.get("platform"))
        crossed = services.setdefault(as_str(segment.get("trace_id")) or "", [])
        if name and name not in crossed:
            crossed.append(name)
    entries = []
    for row in summaries:
        trace_id = as_str(row.get("trace_id"))
        crossed = services.get(trace_id or "", [])
        entries.append(
            {
                "kind": "trace",
                "time": as_timestamp(row.get("start_timestamp")),
                "id": trace_id,
                "name": as_str(row.get("root_name")),
                "services": crossed,
                "duration": _span(row.get("start_timestamp"), row.get("end_timestamp")),
                "sdk": ", ".join(crossed) or None,
            }
        )
    return entries


def _text_entries(kind: str, rows: list[dict], id_column: str, fields: tuple[str, ...]) -> list[dict]:
    """Entries whose fields are their rows' text columns of the same name."""
    return [
        {
            "kind": kind,
            "time": as_timestamp(row.get("timestamp")),
            "id": as_str(row.get(id_column)),
            **{name: as_str(row.get(name)) for name in fields},
            "sdk": as_str(row.get("sdk_name")),
        }
        for row in rows
    ]


def error_entries(rows: list[dict]) -> list[dict]:
    return _text_entries("error", rows, "event_id", ("title", "level", "trace_id"))


def _seq(row: dict) -> int:
    return as_int(as_dict(loads(row.get("data"))).get("seq")) or 0


def session_entries(rows: list[dict]) -> list[dict]:
    """One entry per session id: its state is its update of the highest `seq`
    (then the latest), its time when it started."""
    by_sid: dict[str, list[dict]] = {}
    for row in rows:
        sid = as_str(row.get("sid"))
        if sid:
            by_sid.setdefault(sid, []).append(row)
    entries = []
    for sid, updates in by_sid.items():
        state = max(updates, key=lambda r: (_seq(r), as_number(r.get("timestamp")) or 0.0))
        starts = [t for t in (as_timestamp(r.get("started")) for r in updates) if t is not None]
        entries.append(
            {
                "kind": "session",
                "time": min(starts, default=None),
                "id": sid,
                "status": as_str(state.get("status")),
                "errors": as_int(state.get("errors")),
                "release": as_str(state.get("release")),
                "environment": as_str(state.get("environment")),
                "did": as_str(state.get("did")),
                "sdk": as_str(state.get("sdk_name")),
            }
        )
    return entries


def replay_entries(rows: list[dict]) -> list[dict]:
    """One entry per replay: from its first segment's start to its last segment's time."""
    by_id: dict[str, list[dict]] = {}
    for row in rows:
        replay_id = as_str(row.get("replay_id"))
        if replay_id:
            by_id.setdefault(replay_id, []).append(row)
    entries = []
    for replay_id, segments in by_id.items():
        data = [as_dict(loads(s.get("data"))) for s in segments]
        starts = [as_timestamp(d.get("replay_start_timestamp")) for d in data]
        times = [as_timestamp(s.get("timestamp")) for s in segments]
        start = min((t for t in starts + times if t is not None), default=None)
        end = max((t for t in times if t is not None), default=None)
        urls = [as_str(u) for s in segments for u in as_list(loads(s.get("urls"))) if as_str(u)]
        entries.append(
            {
                "kind": "replay",
                "time": start,
                "id": replay_id,
                "duration": _span(start, end),
                "url": urls[0] if urls else None,
                "segments": len(segments),
                "sdk": next((as_str(s.get("sdk_name")) for s in segments if as_str(s.get("sdk_name"))), None),
            }
        )
    return entries


def log_entries(rows: list[dict]) -> list[dict]:
    return _text_entries("log", rows, "rowid", ("level", "body", "trace_id"))


def feedback_entries(rows: list[dict]) -> list[dict]:
    entries = _text_entries("feedback", rows, "event_id", ("message", "name", "email", "trace_id"))
    for entry, row in zip(entries, rows, strict=True):
        # A user_report's event_id is the error it is about; feedback names it apart.
        entry["event_id"] = as_str(row.get("associated_event_id")) or (
            as_str(row.get("event_id")) if row.get("kind") == "user_report" else None
        )
    return entries


def before_login(entries: list[dict], switch: Switch) -> list[dict]:
    """An alias's entries up to the moment it became the user, marked so."""
    return [{**e, "before_login": switch.alias} for e in entries if e["time"] is not None and e["time"] <= switch.at]


def mark_switches(entries: list[dict], switches: list[Switch]) -> None:
    """`switch` on the entry of the container where an alias became the user."""
    on = {s.container: s.as_json() for s in switches}
    for entry in entries:
        entry["switch"] = on.get((entry["kind"], entry["id"]))


def merged(entries: list[dict]) -> list[dict]:
    """One entry per (kind, id): the user's own beats an alias's copy of it."""
    seen: dict[tuple, dict] = {}
    for entry in entries:
        key = (entry["kind"], entry["id"])
        if key not in seen or (seen[key].get("before_login") and not entry.get("before_login")):
            seen[key] = entry
    return list(seen.values())


def ordered(entries: list[dict], limit: int, oldest_first: bool = False) -> tuple[list[dict], int]:
    """The first `limit` entries, newest (or oldest) first, and how many more
    there are. Entries of no known time come last either way."""
    timed = [e for e in entries if e["time"] is not None]
    untimed = [e for e in entries if e["time"] is None]
    timed.sort(key=lambda e: (e["time"], KINDS.index(e["kind"])), reverse=not oldest_first)
    every = timed + untimed
    return every[:limit], max(0, len(every) - limit)


def counts(entries: list[dict]) -> dict[str, int]:
    return {
        plural: sum(1 for e in entries if e["kind"] == kind)
        for kind, plural in (("trace", "traces"), ("error", "errors"), ("session", "sessions"), ("replay", "replays"))
    }

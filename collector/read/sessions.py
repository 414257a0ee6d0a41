"""Release health reads: the stored session updates and aggregates, read in
one pass and handed to release_health's rules.

The sessions table is small (one row per update or per minute of a server's
aggregates) but a dev box left running may hold 100,000 rows: each read is a
single scan of the columns it needs; the rules run in Python, since "final
statuses are sticky" and "seq ties go by timestamp" are clumsy in SQL.
"""

from __future__ import annotations

from collections import defaultdict

from ..protocol.jsonshape import loads_dict, typed
from . import release_health
from .queries import TYPES, dicts

# Stored payloads are JSON written by ingest; an older or hand-edited row may
# not be, and json_extract() would raise on it.
_DATA = "CASE WHEN json_valid(s.data) THEN s.data END"
_UPDATE_COLUMNS = (
    "s.rowid AS id, s.sid, s.did, s.status, s.errors, s.started, s.timestamp, s.release, s.environment,"
    f" s.envelope_id, json_type({_DATA}, '$.init') = 'true' AS init, json_extract({_DATA}, '$.seq') AS seq,"
    f" json_extract({_DATA}, '$.duration') AS duration, e.sdk_name, e.sdk_version"
)
_FROM = "FROM sessions s LEFT JOIN envelopes e ON e.id = s.envelope_id"
# The errors and replays of a session: within its span, give or take a
# minute (an SDK stamps an error before the update that counts it).
SPAN_SLACK = 60.0
MAX_SESSIONS_LISTED = 1000
MAX_RELATED = 100


def _update(row: dict) -> dict:
    row = typed(row, {**TYPES["sessions"], "id": int, "sdk_name": str, "sdk_version": str})
    # json_type() = 'true' is 1, 0 or NULL: only a JSON true is an init update.
    return {**row, "init": row["init"] == 1}


def _updates(conn, where: str = "", args: tuple = ()) -> dict[str, list[dict]]:
    """Session updates by sid."""
    sql = f"SELECT {_UPDATE_COLUMNS} {_FROM} WHERE s.kind = 'session' AND s.sid IS NOT NULL {where}"
    by_sid: dict[str, list[dict]] = defaultdict(list)
    for row in dicts(conn.execute(sql, args)):
        update = _update(row)
        by_sid[str(update["sid"])].append(update)
    return by_sid


def _aggregates(conn, where: str = "", args: tuple = ()) -> list[dict]:
    sql = (
        "SELECT s.rowid AS id, s.started, s.release, s.environment, s.data, e.sdk_name"
        f" {_FROM} WHERE s.kind = 'aggregate' {where} ORDER BY s.started DESC"
    )
    rows = [typed(r, {**TYPES["sessions"], "id": int, "sdk_name": str}) for r in dicts(conn.execute(sql, args))]
    return [{**r, "data": loads_dict(r["data"]) or {}} for r in rows]


def release_list(conn) -> list[dict]:
    """Every (release, environment) with its sessions, newest activity first."""
    states = (release_health.fold_updates(u) for u in _updates(conn).values())
    return release_health.releases(states, _aggregates(conn))


def _same_release(release: str | None, environment: str | None) -> tuple[str, tuple]:
    # IS: a release or environment the SDK left out is NULL, and listed as such.
    return " AND s.release IS ? AND s.environment IS ?", (release, environment)


def _listed(state: dict) -> dict:
    keep = ("sid", "did", "status", "outcome", "errors", "started", "timestamp", "duration", "updates", "counted")
    return {**{k: state.get(k) for k in keep}, "sdk": state.get("sdk_name"), "sdk_version": state.get("sdk_version")}


def session_list(conn, release: str | None, environment: str | None, limit: int, offset: int) -> dict:
    """One release's sessions, newest first, and its aggregates."""
    where, args = _same_release(release, environment)
    states = [release_health.fold_updates(u) for u in _updates(conn, where, args).values()]
    states.sort(key=lambda s: (s.get("started") or 0.0, s["sid"]), reverse=True)
    return {
        "sessions": [_listed(s) for s in states[offset : offset + limit]],
        "total": len(states),
        "aggregates": [
            {"started": a["started"], "sdk": a["sdk_name"], **release_health.aggregate_counts(a["data"])}
            for a in _aggregates(conn, where, args)[:MAX_RELATED]
        ],
    }


def _span(updates: list[dict]) -> tuple[float, float]:
    """From the session's start to its last update (or start + duration)."""
    starts = [u["started"] for u in updates if u["started"] is not None]
    ends = [u["timestamp"] for u in updates if u["timestamp"] is not None]
    ends += [u["started"] + u["duration"] for u in updates if u["started"] is not None and _seconds(u["duration"])]
    start = min(starts or ends or [0.0])
    return start - SPAN_SLACK, max(ends or [start]) + SPAN_SLACK


def _seconds(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 10**9


_ERROR_COLUMNS = (
    "event_id, trace_id, level, exception_type, exception_value, message, timestamp, release, environment,"
    " user_id, user_email, user_username, envelope_id"
)


def _related_errors(conn, updates: list[dict], did: str | None, span: tuple[float, float]) -> list[dict]:
    """Errors sent with one of its updates, or of its user and release in its span."""
    envelopes = sorted({u["envelope_id"] for u in updates if u["envelope_id"] is not None})
    conditions, args = [], []
    if envelopes:
        conditions.append(f"envelope_id IN ({','.join('?' * len(envelopes))})")
        args += envelopes
    if did:
        conditions.append("((user_id = ? OR user_email = ? OR user_username = ?) AND release IS ?)")
        args += [did, did, did, updates[-1]["release"]]
    if not conditions:
        return []
    # The timestamp range first: it walks the events(timestamp) index.
    sql = (
        f"SELECT {_ERROR_COLUMNS} FROM events WHERE timestamp BETWEEN ? AND ?"
        f" AND ({' OR '.join(conditions)}) ORDER BY timestamp LIMIT ?"
    )
    rows = dicts(conn.execute(sql, (*span, *args, MAX_RELATED)))
    return [{**typed(r, TYPES["events"]), "same_envelope": r["envelope_id"] in envelopes} for r in rows]


def _related_replays(conn, did: str | None, span: tuple[float, float]) -> list[dict]:
    """Replays of its user within its span (replays has a row per segment)."""
    if not did:
        return []
    sql = (
        "SELECT replay_id, min(timestamp) AS started, max(timestamp) AS last_seen, count(*) AS segments"
        " FROM replays WHERE (user_id = ? OR user_email = ? OR user_username = ?) AND timestamp BETWEEN ? AND ?"
        " GROUP BY replay_id ORDER BY started LIMIT ?"
    )
    rows = dicts(conn.execute(sql, (did, did, did, *span, MAX_RELATED)))
    return [typed(r, {"replay_id": str, "started": float, "last_seen": float, "segments": int}) for r in rows]


def session_detail(conn, sid: str) -> dict | None:
    """One session: its updates in order, its state, user, errors and replays."""
    updates = _updates(conn, "AND s.sid = ?", (sid,)).get(sid)
    if not updates:
        return None
    updates.sort(key=release_health.update_order)
    state = release_health.fold_updates(updates)
    span = _span(updates)
    errors = _related_errors(conn, updates, state["did"], span)
    named = next((e for e in errors if e["user_id"] or e["user_email"] or e["user_username"]), None)
    user = {k: named[f"user_{k}"] for k in ("id", "email", "username")} if named else None
    keep = ("seq", "status", "errors", "timestamp", "init", "did", "duration", "sdk_name", "sdk_version")
    return {
        **_listed(state),
        "release": state.get("release"),
        "environment": state.get("environment"),
        "user": user,
        "updates": [{k: u.get(k) for k in keep} for u in updates],
        # "errors" is the session's count, as its updates say.
        "error_events": errors,
        "replays": _related_replays(conn, state["did"], span),
    }

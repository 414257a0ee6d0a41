"""One user's journey: the reads behind /users/{key}.

A user is matched on id, email or username (segments, errors, replays)
and, for sessions, on `did` (the browser SDK sets it to the user's id,
email or username once known). Logs name no user: a user's logs are those
on the traces the user's segments are on. The assembly is in timeline.py,
the alias rule in aliases.py; here are only the queries.
"""

from __future__ import annotations

from ..protocol.jsonshape import as_dict, as_number, as_str
from . import timeline
from .aliases import Switch, identity, is_anonymous, names, switches
from .queries import dicts

# What one user's page reads at most of each kind.
MAX_CONTAINERS = 500
MAX_ERRORS = 1000
MAX_LOGS = 200
# Anonymous ids on the user's traces, sessions and replays that are checked as aliases.
MAX_ALIAS_CANDIDATES = 20
USER_COLUMNS = "user_id, user_email, user_username, user_ip"


def _marks(values) -> str:
    return ",".join("?" * len(values))


def _who(key: str) -> tuple[str, tuple]:
    return "(user_id = ? OR user_email = ? OR user_username = ?)", (key, key, key)


def _user(row: dict) -> dict:
    return {f: row.get(f"user_{f}") for f in ("id", "email", "username")} | {"ip_address": row.get("user_ip")}


def trace_union(match: list[tuple[str, str]]) -> tuple[str, list]:
    """SQL for the trace ids of the segments and errors whose user `column`
    is `value`: one SELECT per pair, so that each walks its column's index
    (an OR of columns makes SQLite scan every segment)."""
    parts, args = [], []
    for column, value in match:
        parts.append(f"SELECT trace_id FROM span_packs WHERE is_segment = 1 AND {column} = ? AND trace_id IS NOT NULL")
        parts.append(f"SELECT trace_id FROM events WHERE {column} = ? AND trace_id IS NOT NULL")
        args += [value, value]
    return " UNION ".join(parts), args


def _key_match(key: str) -> list[tuple[str, str]]:
    return [(column, key) for column in ("user_id", "user_email", "user_username")]


def containers_of(conn, key: str) -> dict[str, list]:
    """The traces, sessions and replays that name the user (ids as stored)."""
    who, args = _who(key)
    union, union_args = trace_union(_key_match(key))
    traces = [r[0] for r in conn.execute(f"{union} LIMIT ?", (*union_args, MAX_CONTAINERS))]
    sessions = [
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT sid FROM sessions WHERE did = ? AND kind = 'session' AND sid IS NOT NULL LIMIT ?",
            (key, MAX_CONTAINERS),
        )
    ]
    replays = [
        r[0]
        for r in conn.execute(
            f"SELECT DISTINCT replay_id FROM replays WHERE {who} AND replay_id IS NOT NULL LIMIT ?",
            (*args, MAX_CONTAINERS),
        )
    ]
    return {"trace": traces, "session": sessions, "replay": replays}


def records_on(conn, containers: dict[str, list]) -> list[dict]:
    """Who is on each container, and when: the alias rule's input."""
    traces, sessions, replays = containers["trace"], containers["session"], containers["replay"]
    records = []
    # A pack holding a segment carries the segment's user and times (span_packs.py).
    for table, time in (("span_packs", "coalesce(timestamp, start_timestamp)"), ("events", "timestamp")):
        segment = "is_segment = 1 AND " if table == "span_packs" else ""
        sql = f"SELECT trace_id, {time} AS time, {USER_COLUMNS} FROM {table} WHERE {segment}trace_id IN"
        for row in dicts(conn.execute(f"{sql} ({_marks(traces)})", traces)):
            records.append({"container": ("trace", as_str(row["trace_id"])), "time": row["time"], "user": _user(row)})
    sql = f"SELECT sid, timestamp, did FROM sessions WHERE kind = 'session' AND sid IN ({_marks(sessions)})"
    for row in dicts(conn.execute(sql, sessions)):
        records.append(
            {"container": ("session", as_str(row["sid"])), "time": row["timestamp"], "user": {"id": row["did"]}}
        )
    sql = f"SELECT replay_id, timestamp, {USER_COLUMNS} FROM replays WHERE replay_id IN ({_marks(replays)})"
    for row in dicts(conn.execute(sql, replays)):
        records.append(
            {"container": ("replay", as_str(row["replay_id"])), "time": row["timestamp"], "user": _user(row)}
        )
    return records


def switch_of(conn, anonymous_key: str) -> Switch | None:
    """The named user an anonymous id became, over all the containers it is on."""
    return switches(records_on(conn, containers_of(conn, anonymous_key))).get(anonymous_key)


def aliases_of(conn, key: str, records: list[dict]) -> list[Switch]:
    """The anonymous ids on the user's containers that became this user."""
    candidates = []
    for record in records:
        alias = identity(record["user"])
        if alias and alias != key and alias not in candidates and is_anonymous(record["user"]):
            candidates.append(alias)
    found = [switch_of(conn, alias) for alias in candidates[:MAX_ALIAS_CANDIDATES]]
    return [s for s in found if s is not None and names(s.user, key)]


def _sdk_join(table: str) -> str:
    return f"FROM {table} AS t LEFT JOIN envelopes AS e ON e.id = t.envelope_id"


def entries_of(conn, key: str, containers: dict[str, list], signatures: list[str]) -> list[dict]:
    """Every entry of the user's timeline, of each kind, unordered; `signatures`:
    the emails and names its feedback may be signed with."""
    traces, sessions, replays = containers["trace"], containers["session"], containers["replay"]
    who, args = _who(key)
    errors = dicts(
        conn.execute(
            "SELECT event_id, trace_id, title, level, timestamp, sdk_name FROM events"
            f" WHERE {who} ORDER BY timestamp DESC LIMIT ?",
            (*args, MAX_ERRORS),
        )
    )
    summaries = dicts(conn.execute(f"SELECT * FROM traces WHERE trace_id IN ({_marks(traces)})", traces))
    segments = dicts(
        conn.execute(
            "SELECT DISTINCT trace_id, sdk_name, platform FROM span_packs"
            f" WHERE is_segment = 1 AND trace_id IN ({_marks(traces)})",
            traces,
        )
    )
    session_rows = dicts(
        conn.execute(
            "SELECT t.sid, t.did, t.status, t.errors, t.started, t.timestamp, t.release, t.environment, t.data,"
            f" e.sdk_name {_sdk_join('sessions')} WHERE t.kind = 'session' AND t.sid IN ({_marks(sessions)})",
            sessions,
        )
    )
    replay_rows = dicts(
        conn.execute(
            f"SELECT replay_id, timestamp, urls, sdk_name, data FROM replays WHERE replay_id IN ({_marks(replays)})",
            replays,
        )
    )
    return [
        *timeline.trace_entries(summaries, segments),
        *timeline.error_entries(errors),
        *timeline.session_entries(session_rows),
        *timeline.replay_entries(replay_rows),
        *timeline.log_entries(_logs(conn, traces)),
        *timeline.feedback_entries(_feedback(conn, signatures, traces, [e["event_id"] for e in errors])),
    ]


def _logs(conn, traces: list) -> list[dict]:
    return dicts(
        conn.execute(
            "SELECT rowid, trace_id, timestamp, level, body, sdk_name FROM logs"
            f" WHERE trace_id IN ({_marks(traces)}) ORDER BY timestamp DESC LIMIT ?",
            (*traces, MAX_LOGS),
        )
    )


def _feedback(conn, signatures: list[str], traces: list, error_ids: list) -> list[dict]:
    """Feedback the user signed (email or name), about one of the user's
    errors (a user_report's event_id is that error), or on the user's traces."""
    return dicts(
        conn.execute(
            "SELECT t.kind, t.event_id, t.associated_event_id, t.trace_id, t.name, t.email, t.message,"
            f" t.timestamp, e.sdk_name {_sdk_join('feedback')} WHERE t.email IN ({_marks(signatures)})"
            f" OR t.name IN ({_marks(signatures)})"
            f" OR t.associated_event_id IN ({_marks(error_ids)})"
            f" OR (t.kind = 'user_report' AND t.event_id IN ({_marks(error_ids)}))"
            f" OR t.trace_id IN ({_marks(traces)}) LIMIT ?",
            (*signatures, *signatures, *error_ids, *error_ids, *traces, MAX_ERRORS),
        )
    )


def user_fields(key: str, records: list[dict]) -> dict:
    """The user's latest id, email, username and IP address, as the records naming it say."""
    user = {"id": None, "email": None, "username": None, "ip_address": None}
    mine = [r for r in records if names(r["user"], key) and as_number(r["time"]) is not None]
    for record in sorted(mine, key=lambda r: as_number(r["time"]), reverse=True):
        user = {field: user[field] or as_str(as_dict(record["user"]).get(field)) for field in user}
    return user


def user_journey(conn, key: str, limit: int = 200, oldest_first: bool = False) -> dict:
    """The user, the anonymous ids it was before login, and its timeline.
    An anonymous key says which user it became (`became`)."""
    records = records_on(conn, containers := containers_of(conn, key))
    aliases = aliases_of(conn, key, records)
    user = user_fields(key, records)
    signatures = list(dict.fromkeys(v for v in (key, user["email"], user["username"]) if v))
    entries = entries_of(conn, key, containers, signatures)
    for switch in aliases:
        alias_entries = entries_of(conn, switch.alias, containers_of(conn, switch.alias), [switch.alias])
        entries += timeline.before_login(alias_entries, switch)
    entries = timeline.merged(entries)
    became = switches(records).get(key) if is_anonymous({"id": key}) else None
    timeline.mark_switches(entries, [*aliases, *([became] if became else [])])
    shown, more = timeline.ordered(entries, limit, oldest_first)
    times = [e["time"] for e in entries if e["time"] is not None]
    return {
        "key": key,
        **user,
        "first_seen": min(times, default=None),
        "last_seen": max(times, default=None),
        **timeline.counts(entries),
        "aliases": [s.as_json() for s in aliases],
        "became": became.as_json() if became else None,
        "timeline": shown,
        "more": more,
    }

"""Trace summaries: one row per trace in the `traces` table, so the trace
list never scans spans.

Pure: `summarise` turns one request's rows into a summary per trace (done in
the server process, beside normalising); the writer process merges the
summaries of a group, then each with the trace's stored row, and writes the
result back with `to_row`.
"""

from __future__ import annotations

import orjson

# A trace's user list is for display and filtering; a load test logging in
# thousands of users into one trace must not grow the row without bound.
MAX_USERS_PER_TRACE = 20


def _empty() -> dict:
    return {
        "start_timestamp": None,
        "end_timestamp": None,
        # (name, op, parentless, start) of the best root candidate so far.
        "root": None,
        "span_count": 0,
        # Counted by the writer, which knows which ids are already stored: an
        # SDK that retries resends an event with the same id.
        "event_ids": set(),
        "sdks": set(),
        "users": [],
        "environments": set(),
        "releases": set(),
    }


def summarise(rows: dict[str, list[dict]]) -> dict[str, dict]:
    """Summaries by trace id of one request's `spans` and `events` rows."""
    traces: dict[str, dict] = {}
    for span in rows.get("spans", ()):
        trace_id = span.get("trace_id")
        if not trace_id:
            continue
        t = traces.get(trace_id) or traces.setdefault(trace_id, _empty())
        t["span_count"] += 1
        _widen(t, span.get("start_timestamp"), span.get("timestamp"))
        parent = span.get("parent_span_id")
        if span.get("is_segment") or not parent:
            _offer_root(t, (span.get("description"), span.get("op"), not parent, span.get("start_timestamp")))
        # Child spans repeat their segment's labels: one look per segment.
        if span.get("is_segment") or span.get("origin") != "transaction":
            _add_labels(t, span)
    for event in rows.get("events", ()):
        trace_id = event.get("trace_id")
        if not trace_id:
            continue
        t = traces.get(trace_id) or traces.setdefault(trace_id, _empty())
        t["event_ids"].add(event["event_id"])
        _widen(t, event.get("timestamp"), event.get("timestamp"))
        _add_labels(t, event)
    return traces


def merge(into: dict[str, dict], other: dict[str, dict]) -> None:
    """Fold summaries by trace id into `into`, leaving `other` as it was
    (a group that fails is written again batch by batch)."""
    for trace_id, t in other.items():
        mine = into.get(trace_id) or into.setdefault(trace_id, _empty())
        mine["span_count"] += t["span_count"]
        mine["event_ids"] |= t["event_ids"]
        _widen(mine, t["start_timestamp"], t["end_timestamp"])
        if t["root"] is not None:
            _offer_root(mine, t["root"])
        for key in ("sdks", "environments", "releases"):
            mine[key] |= t[key]
        mine["users"] += [u for u in t["users"] if u not in mine["users"]]


STORED_COLUMNS = (
    "start_timestamp, end_timestamp, root_name, root_op, root_is_parentless, span_count,"
    " error_count, sdks, users, environments, root_start_timestamp, releases"
)


def to_row(trace_id: str, t: dict, new_errors: int, stored: tuple | None, now: float) -> tuple:
    """The `traces` row: the summary `t`, plus the trace's `stored` row
    (selected as STORED_COLUMNS) when there is one; `new_errors` of the
    summary's events were not stored before."""
    error_count = new_errors
    if stored:
        start, end, name, op, parentless, span_count, errors, sdks, users, envs, root_start, releases = stored
        _widen(t, start, end)
        t["span_count"] += span_count
        error_count += errors
        t["sdks"].update(orjson.loads(sdks or "[]"))
        t["environments"].update(orjson.loads(envs or "[]"))
        t["releases"].update(orjson.loads(releases or "[]"))
        old_users = orjson.loads(users or "[]")
        t["users"] = old_users + [u for u in t["users"] if u not in old_users]
        if root_start is not None or name is not None:
            _offer_root(t, (name, op, bool(parentless), root_start))
    root = t["root"] or (None, None, False, None)
    return (
        trace_id,
        t["start_timestamp"],
        t["end_timestamp"],
        root[0],
        root[1],
        int(bool(root[2])),
        root[3],
        t["span_count"],
        error_count,
        orjson.dumps(sorted(t["sdks"])).decode(),
        orjson.dumps(t["users"][:MAX_USERS_PER_TRACE]).decode(),
        orjson.dumps(sorted(t["environments"])).decode(),
        orjson.dumps(sorted(t["releases"])).decode(),
        now,
    )


ROW_COLUMNS = (
    "trace_id, start_timestamp, end_timestamp, root_name, root_op, root_is_parentless, root_start_timestamp,"
    " span_count, error_count, sdks, users, environments, releases, last_seen"
)


def _widen(t: dict, start, end) -> None:
    if start is not None and (t["start_timestamp"] is None or start < t["start_timestamp"]):
        t["start_timestamp"] = start
    if end is not None and (t["end_timestamp"] is None or end > t["end_timestamp"]):
        t["end_timestamp"] = end


def _root_rank(root: tuple) -> tuple:
    # A span without a parent beats a segment whose parent lives elsewhere;
    # then the earliest wins.
    _, _, parentless, start = root
    return (0 if parentless else 1, start if start is not None else float("inf"))


def _offer_root(t: dict, root: tuple) -> None:
    if t["root"] is None or _root_rank(root) < _root_rank(t["root"]):
        t["root"] = root


def _add_labels(t: dict, row: dict) -> None:
    if row.get("sdk_name"):
        t["sdks"].add(row["sdk_name"])
    if row.get("environment"):
        t["environments"].add(row["environment"])
    if row.get("release"):
        t["releases"].add(row["release"])
    user = {k: row.get(f"user_{k}") for k in ("id", "email", "username")}
    user = {k: v for k, v in user.items() if v}
    if user and user not in t["users"]:
        t["users"].append(user)

"""Trace summaries: one row per trace in the `traces` table, so the trace
list never scans spans.

Pure: `summarize` turns one request's rows into a summary per trace (done in
the server process, beside normalizing); the writer process merges the
summaries of a group, then each with the trace's stored row, and writes the
result back with `to_row`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import orjson

from . import schema

# A trace's user list is for display and filtering; a load test logging in
# thousands of users into one trace must not grow the row without bound.
MAX_USERS_PER_TRACE = 20

# The `traces` row `to_row` makes, in the table's column order; and what the
# writer reads back of a stored row to merge into (its key and the time it
# was last written are not merged).
COLUMNS = schema.columns("traces")
STORED_COLUMNS = [c for c in COLUMNS if c not in ("trace_id", "last_seen")]


class Root(NamedTuple):
    """The span a trace is named after in the trace list."""

    name: str | None
    op: str | None
    # No parent span at all, rather than a segment whose parent lives in
    # another service that never sent it.
    parentless: bool
    start: float | None

    def rank(self) -> tuple:
        # A span without a parent beats a segment whose parent lives
        # elsewhere; then the earliest wins.
        return (0 if self.parentless else 1, self.start if self.start is not None else float("inf"))


@dataclass(slots=True)
class TraceSummary:
    """What one request, or a group of them, adds to a trace's row."""

    start_timestamp: float | None = None
    end_timestamp: float | None = None
    # The best root candidate so far.
    root: Root | None = None
    span_count: int = 0
    # Counted by the writer, which knows which ids are already stored: an
    # SDK that retries resends an event with the same id.
    event_ids: set[str] = field(default_factory=set)
    sdks: set[str] = field(default_factory=set)
    users: list[dict] = field(default_factory=list)
    environments: set[str] = field(default_factory=set)
    releases: set[str] = field(default_factory=set)

    def widen(self, start, end) -> None:
        if start is not None and (self.start_timestamp is None or start < self.start_timestamp):
            self.start_timestamp = start
        if end is not None and (self.end_timestamp is None or end > self.end_timestamp):
            self.end_timestamp = end

    def offer_root(self, root: Root) -> None:
        if self.root is None or root.rank() < self.root.rank():
            self.root = root

    def add_users(self, users: list[dict]) -> None:
        self.users += [u for u in users if u not in self.users]


def summarize(rows: dict[str, list[dict]]) -> dict[str, TraceSummary]:
    """Summaries by trace id of one request's `spans` and `events` rows."""
    traces: dict[str, TraceSummary] = {}
    # Spans come grouped by trace (a transaction's children follow it): the
    # summary of the previous span's trace is usually this one's too. This
    # loop runs for every span ingested, hence the inlined widen().
    trace_id, t = None, None
    for span in rows.get("spans", ()):
        if span.get("trace_id") != trace_id:
            trace_id = span.get("trace_id")
            if not trace_id:
                continue
            t = traces.get(trace_id) or traces.setdefault(trace_id, TraceSummary())
        elif not trace_id:
            continue
        t.span_count += 1
        start, end = span.get("start_timestamp"), span.get("timestamp")
        if start is not None and (t.start_timestamp is None or start < t.start_timestamp):
            t.start_timestamp = start
        if end is not None and (t.end_timestamp is None or end > t.end_timestamp):
            t.end_timestamp = end
        parent, segment = span.get("parent_span_id"), span.get("is_segment")
        if segment or not parent:
            t.offer_root(Root(span.get("description"), span.get("op"), not parent, start))
        # Child spans repeat their segment's labels: one look per segment.
        if segment or span.get("origin") != "transaction":
            _add_labels(t, span)
    for event in rows.get("events", ()):
        trace_id = event.get("trace_id")
        if not trace_id:
            continue
        t = traces.get(trace_id) or traces.setdefault(trace_id, TraceSummary())
        t.event_ids.add(event["event_id"])
        t.widen(event.get("timestamp"), event.get("timestamp"))
        _add_labels(t, event)
    return traces


def merge(into: dict[str, TraceSummary], other: dict[str, TraceSummary]) -> None:
    """Fold summaries by trace id into `into`, leaving `other` as it was
    (a group that fails is written again batch by batch)."""
    for trace_id, t in other.items():
        mine = into.get(trace_id) or into.setdefault(trace_id, TraceSummary())
        mine.span_count += t.span_count
        mine.event_ids |= t.event_ids
        mine.widen(t.start_timestamp, t.end_timestamp)
        if t.root is not None:
            mine.offer_root(t.root)
        mine.sdks |= t.sdks
        mine.environments |= t.environments
        mine.releases |= t.releases
        mine.add_users(t.users)


def to_row(trace_id: str, t: TraceSummary, new_errors: int, stored: dict | None, now: float) -> tuple:
    """The `traces` row (in COLUMNS order): the summary `t`, plus the
    trace's `stored` row (STORED_COLUMNS by name) when there is one;
    `new_errors` of the summary's events were not stored before."""
    error_count = new_errors
    if stored:
        _fold_stored(t, stored)
        error_count += stored["error_count"]
    root = t.root or Root(None, None, False, None)
    row = {
        "trace_id": trace_id,
        "start_timestamp": t.start_timestamp,
        "end_timestamp": t.end_timestamp,
        "root_name": root.name,
        "root_op": root.op,
        "root_is_parentless": int(bool(root.parentless)),
        "root_start_timestamp": root.start,
        "span_count": t.span_count,
        "error_count": error_count,
        "sdks": _json(sorted(t.sdks)),
        "users": _json(t.users[:MAX_USERS_PER_TRACE]),
        "environments": _json(sorted(t.environments)),
        "releases": _json(sorted(t.releases)),
        "last_seen": now,
    }
    return tuple(row[c] for c in COLUMNS)


def _fold_stored(t: TraceSummary, stored: dict) -> None:
    """The trace's stored row into `t`: its users first, as they came first."""
    t.widen(stored["start_timestamp"], stored["end_timestamp"])
    t.span_count += stored["span_count"]
    t.sdks.update(orjson.loads(stored["sdks"] or "[]"))
    t.environments.update(orjson.loads(stored["environments"] or "[]"))
    t.releases.update(orjson.loads(stored["releases"] or "[]"))
    old_users = orjson.loads(stored["users"] or "[]")
    t.users = old_users + [u for u in t.users if u not in old_users]
    name, start = stored["root_name"], stored["root_start_timestamp"]
    if start is not None or name is not None:
        t.offer_root(Root(name, stored["root_op"], bool(stored["root_is_parentless"]), start))


def _json(value) -> str:
    return orjson.dumps(value).decode()


def _add_labels(t: TraceSummary, row: dict) -> None:
    if row.get("sdk_name"):
        t.sdks.add(row["sdk_name"])
    if row.get("environment"):
        t.environments.add(row["environment"])
    if row.get("release"):
        t.releases.add(row["release"])
    user = {k: row.get(f"user_{k}") for k in ("id", "email", "username")}
    user = {k: v for k, v in user.items() if v}
    if user and user not in t.users:
        t.users.append(user)

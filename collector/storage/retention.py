"""Retention: chores that delete the oldest traces, whole, with everything of
theirs, and give the space back (`serve --retain/--max-db-size`, `purge`).

A batch deletes the oldest traces (by `traces.start_timestamp`) up to a
budget of rows, then the rows no trace holds that are older than every
trace kept: events and logs without a trace, replays none of whose traces
is kept, sessions, envelopes and what hangs off them. Nothing newer than
what is deleted goes, and never part of a trace. Every delete finds its
rows by an index, or reads a bounded prefix of a table in insertion order
(rowid), which is its age order; tests/unit/test_retention.py checks the
query plans.
"""

from __future__ import annotations

import math
import sqlite3

from .chores import chore
from .schema import SPAN_TABLES

# Rows (spans, events, logs…) one batch may delete: about 5 ms measured
# (a file of 21-span traces, 47 traces a batch), so ingest, which waits
# behind a chore, never waits longer. A trace larger than this is still
# deleted whole, in one batch.
ROW_BUDGET = 2000

# Tables whose rows go once their envelope is gone (read by rowid prefix).
BY_ENVELOPE = ("sessions", "client_reports", "other_items", "item_failures")

# Parameters per IN list, under SQLite's limit.
CHUNK = 500


class Deleted(dict):
    """Rows deleted, by table."""

    def add(self, table: str, n: int) -> None:
        if n:
            self[table] = self.get(table, 0) + n

    @property
    def total(self) -> int:
        # Spans count once, as spans, not again as the packs holding them.
        return sum(n for table, n in self.items() if table not in SPAN_TABLES)


def _in(n: int) -> str:
    return f"({','.join('?' * n)})"


def _chunks(ids: list) -> list[list]:
    return [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]


def _column(conn: sqlite3.Connection, sql: str, args=()) -> list:
    return [r[0] for r in conn.execute(sql, args)]


def _delete_in(conn: sqlite3.Connection, deleted: Deleted, table: str, column: str, ids: list) -> None:
    for chunk in _chunks(ids):
        deleted.add(table, conn.execute(f"DELETE FROM {table} WHERE {column} IN {_in(len(chunk))}", chunk).rowcount)


def delete_traces(conn: sqlite3.Connection, trace_ids: list[str], deleted: Deleted) -> None:
    """Every row of these traces: spans, transactions, events, logs, the
    attachments and feedback of their events, and their `traces` rows."""
    event_ids, transaction_ids = [], []
    for chunk in _chunks(trace_ids):
        event_ids += _column(conn, f"SELECT event_id FROM events WHERE trace_id IN {_in(len(chunk))}", chunk)
        # A transaction's row is keyed by its event id (its root span's id
        # when it had none); its segment span carries that event id, and
        # lends it to the pack that holds it (span_packs.py).
        transaction_ids += _column(
            conn,
            "SELECT coalesce(nullif(event_id, ''), span_id) FROM span_packs"
            f" WHERE trace_id IN {_in(len(chunk))} AND is_segment = 1",
            chunk,
        )
    _delete_in(conn, deleted, "attachments", "event_id", event_ids + transaction_ids)
    # User reports name their event; feedback events name their trace.
    _delete_in(conn, deleted, "feedback", "event_id", event_ids)
    _delete_in(conn, deleted, "feedback", "trace_id", trace_ids)
    _delete_in(conn, deleted, "transactions", "event_id", transaction_ids)
    _delete_spans(conn, deleted, trace_ids)
    for table in ("events", "logs", "traces"):
        _delete_in(conn, deleted, table, "trace_id", trace_ids)


def _delete_spans(conn: sqlite3.Connection, deleted: Deleted, trace_ids: list) -> None:
    """The packs of these traces and their span ids, counted in spans."""
    for chunk in _chunks(trace_ids):
        packs = conn.execute(
            f"SELECT id, span_count FROM span_packs WHERE trace_id IN {_in(len(chunk))}", chunk
        ).fetchall()
        for ids in _chunks([pack for pack, _ in packs]):
            deleted.add("span_ids", conn.execute(f"DELETE FROM span_ids WHERE pack IN {_in(len(ids))}", ids).rowcount)
            deleted.add("span_packs", conn.execute(f"DELETE FROM span_packs WHERE id IN {_in(len(ids))}", ids).rowcount)
        deleted.add("spans", sum(count or 0 for _, count in packs))


def oldest_traces(conn: sqlite3.Connection, before: float, budget: int) -> tuple[list[str], bool]:
    """The oldest traces started before `before` whose rows fit `budget`
    (at least one), and whether older ones than `before` remain after them."""
    candidates = conn.execute(
        "SELECT trace_id, span_count + error_count FROM traces WHERE start_timestamp < ?"
        " ORDER BY start_timestamp LIMIT ?",
        (before, budget + 1),
    ).fetchall()
    chosen, rows = [], 0
    for trace_id, count in candidates:
        if chosen and rows + (count or 0) > budget:
            return chosen, True
        chosen.append(trace_id)
        rows += count or 0
    return chosen, len(candidates) > budget


def boundaries(conn: sqlite3.Connection, cutoff: float) -> tuple[float, float]:
    """What "older than every trace kept" means, by the SDKs' clock (span,
    event, log times) and by the collector's (received_at): the oldest kept
    trace's start and its last write, no later than `cutoff`."""
    # Two queries: each min() is one index lookup; together they scan.
    start = conn.execute("SELECT min(start_timestamp) FROM traces").fetchone()[0]
    seen = conn.execute("SELECT min(last_seen) FROM traces").fetchone()[0]
    return min(cutoff, start if start is not None else math.inf), min(cutoff, seen if seen is not None else math.inf)


def delete_old_events(conn: sqlite3.Connection, before: float, budget: int, deleted: Deleted) -> bool:
    """Events older than every kept trace (those without a trace: a kept
    trace's events are no older than its start), with their attachments."""
    ids = _column(conn, "SELECT event_id FROM events WHERE timestamp < ? ORDER BY timestamp LIMIT ?", (before, budget))
    _delete_in(conn, deleted, "attachments", "event_id", ids)
    _delete_in(conn, deleted, "feedback", "event_id", ids)
    _delete_in(conn, deleted, "events", "event_id", ids)
    return len(ids) == budget


def delete_old_logs(conn: sqlite3.Connection, before: float, budget: int, deleted: Deleted) -> bool:
    n = conn.execute(
        "DELETE FROM logs WHERE rowid IN (SELECT rowid FROM logs WHERE timestamp < ? ORDER BY timestamp LIMIT ?)",
        (before, budget),
    ).rowcount
    deleted.add("logs", n)
    return n == budget


def delete_old_envelopes(conn: sqlite3.Connection, before: float, budget: int, deleted: Deleted) -> dict[str, int]:
    """Envelope rows received before `before`, never the newest one: the
    writer numbers envelopes from the largest id left, and an id used twice
    would tie old rows to a new envelope. Their count by content encoding."""
    rows = conn.execute(
        "SELECT id, content_encoding FROM envelopes WHERE received_at < ?"
        " AND id < (SELECT max(id) FROM envelopes) ORDER BY received_at LIMIT ?",
        (before, budget),
    ).fetchall()
    _delete_in(conn, deleted, "envelopes", "id", [r[0] for r in rows])
    encodings: dict[str, int] = {}
    for _, encoding in rows:
        key = f"encoding:{encoding or 'identity'}"
        encodings[key] = encodings.get(key, 0) + 1
    return encodings


def _prefix(conn: sqlite3.Connection, table: str, columns: str, budget: int) -> list[tuple]:
    """The `budget` oldest rows of a table, by rowid (insertion order)."""
    return conn.execute(f"SELECT rowid, {columns} FROM {table} ORDER BY rowid LIMIT ?", (budget,)).fetchall()


def _gone_before(conn: sqlite3.Connection) -> float:
    """Envelope ids below this one are deleted ones (ids only grow)."""
    first = conn.execute("SELECT min(id) FROM envelopes").fetchone()[0]
    return first if first is not None else math.inf


def _envelope_gone(envelope_id, first_kept: float) -> bool:
    # Every such row names its envelope; one that does not has none to wait for.
    return envelope_id is None or envelope_id < first_kept


def delete_orphans(conn: sqlite3.Connection, received_before: float, budget: int, deleted: Deleted) -> None:
    """Rows whose envelope is gone and that belong to nothing kept, read
    oldest first: a row still kept stops its table's pass there."""
    first_kept = _gone_before(conn)
    for table in BY_ENVELOPE:
        rowids = []
        for rowid, envelope_id in _prefix(conn, table, "envelope_id", budget):
            if not _envelope_gone(envelope_id, first_kept):
                break
            rowids.append(rowid)
        _delete_in(conn, deleted, table, "rowid", rowids)
    for table, column, owners in KEPT_BY:
        _delete_unowned(conn, deleted, table, column, owners, first_kept, budget)
    rowids = []
    for rowid, received_at in _prefix(conn, "rejections", "received_at", budget):
        if received_at is not None and received_at >= received_before:
            break
        rowids.append(rowid)
    _delete_in(conn, deleted, "rejections", "rowid", rowids)


# Rows that outlive their envelope while what they belong to is kept: an
# attachment of a kept event, feedback of a kept trace, a recording of a kept replay.
KEPT_BY = (
    ("attachments", "event_id", (("events", "event_id"), ("transactions", "event_id"))),
    ("feedback", "trace_id", (("traces", "trace_id"),)),
    ("replay_recordings", "replay_id", (("replays", "replay_id"),)),
)


def _owned(conn: sqlite3.Connection, key, owners) -> bool:
    return key is not None and any(
        conn.execute(f"SELECT 1 FROM {owner} WHERE {column} = ?", (key,)).fetchone() for owner, column in owners
    )


def _delete_unowned(conn, deleted: Deleted, table, column, owners, first_kept, budget) -> None:
    """Rows of `table` whose envelope is gone and whose `column` names no kept row of `owners`."""
    rowids = []
    for rowid, envelope_id, key in _prefix(conn, table, f"envelope_id, {column}", budget):
        if not _envelope_gone(envelope_id, first_kept) or _owned(conn, key, owners):
            break
        rowids.append(rowid)
    _delete_in(conn, deleted, table, "rowid", rowids)


# A replay is kept while one of its traces is: the replay page links them.
REPLAY_HAS_KEPT_TRACE = """
SELECT 1 FROM replays r, json_each(CASE WHEN json_valid(r.trace_ids) THEN r.trace_ids ELSE '[]' END) j
JOIN traces t ON t.trace_id = j.value WHERE r.replay_id = ? LIMIT 1
"""


def delete_old_replays(conn: sqlite3.Connection, before: float, budget: int, deleted: Deleted) -> None:
    """Whole replays (every segment and recording) whose newest segment is
    older than `before` or whose envelopes are all gone, and none of whose
    traces is kept. Read from the oldest segments: a replay still kept
    there stops the pass."""
    first_kept = _gone_before(conn)
    seen: list[str] = []
    for _, replay_id in _prefix(conn, "replays", "replay_id", budget):
        if replay_id in seen:
            continue
        newest, last_envelope = conn.execute(
            "SELECT max(timestamp), max(envelope_id) FROM replays WHERE replay_id = ?", (replay_id,)
        ).fetchone()
        old = (newest is not None and newest < before) or _envelope_gone(last_envelope, first_kept)
        if not old or conn.execute(REPLAY_HAS_KEPT_TRACE, (replay_id,)).fetchone():
            break
        seen.append(replay_id)
    _delete_in(conn, deleted, "replay_recordings", "replay_id", seen)
    _delete_in(conn, deleted, "replays", "replay_id", seen)


def count_down(conn: sqlite3.Connection, deleted: Deleted, encodings: dict[str, int]) -> None:
    """The writer's counters (store.py `_count`) less what was deleted, in the same transaction."""
    changes = [(-n, f"rows:{table}") for table, n in deleted.items()] + [(-n, k) for k, n in encodings.items()]
    conn.executemany("UPDATE counters SET value = max(0, value + ?) WHERE name = ?", changes)


@chore("retention.batch")
def batch(conn: sqlite3.Connection, cutoff: float | None = None, budget: int = ROW_BUDGET) -> dict:
    """One batch: the oldest traces started before `cutoff` (the oldest at
    all when None), then rows older than every trace kept. Returns the rows
    deleted by table, and whether there is more before `cutoff`."""
    before = math.inf if cutoff is None else cutoff
    deleted = Deleted()
    trace_ids, more = oldest_traces(conn, before, budget // 2)
    delete_traces(conn, trace_ids, deleted)
    by_sdk_clock, by_our_clock = boundaries(conn, before)
    rest = max(budget - deleted.total, budget // 4)
    more |= delete_old_events(conn, by_sdk_clock, rest, deleted)
    more |= delete_old_logs(conn, by_sdk_clock, rest, deleted)
    delete_old_replays(conn, by_sdk_clock, rest, deleted)
    encodings = delete_old_envelopes(conn, by_our_clock, rest, deleted)
    more |= deleted.get("envelopes", 0) == rest
    delete_orphans(conn, by_our_clock, rest, deleted)
    count_down(conn, deleted, encodings)
    return {"traces": len(trace_ids), "rows": dict(deleted), "more": more}


@chore("retention.trace")
def delete_one_trace(conn: sqlite3.Connection, trace_id: str) -> dict:
    """One trace's rows (`collector purge --trace`); its replays stay, as
    they may show other traces too."""
    deleted = Deleted()
    delete_traces(conn, [trace_id], deleted)
    count_down(conn, deleted, {})
    return {"traces": deleted.get("traces", 0), "rows": dict(deleted), "more": False}


@chore("retention.reclaim")
def reclaim(conn: sqlite3.Connection, pages: int) -> int:
    """Gives up to `pages` free pages back to the file system (a file made
    with auto_vacuum=INCREMENTAL; others keep reusing them); pages left free."""
    # Python's sqlite3 runs the pragma one step, which gives back one page.
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    for _ in range(min(int(pages), free)):
        conn.execute("PRAGMA incremental_vacuum(1)")
    return conn.execute("PRAGMA freelist_count").fetchone()[0]


def used_bytes(conn: sqlite3.Connection) -> tuple[int, int]:
    """Bytes of the file in use (its pages less the free ones) and bytes free."""
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    return (pages - free) * page_size, free * page_size

"""Retention's chores: a trace goes whole with everything of its own, the
oldest first, counters stay right, and every delete finds its rows by an index."""

from __future__ import annotations

import sqlite3
import time

import orjson
import pytest

from collector.ingest.normalize import normalize
from collector.protocol.envelope import parse
from collector.storage import retention, retention_task, schema, wire
from collector.storage.client import Batch
from collector.storage.process import _answers
from collector.storage.store import Store
from collector.web.purge_views import what_to_purge

DAY = 86400


def item(kind: str, payload, **headers) -> bytes:
    body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    return orjson.dumps({"type": kind, "length": len(body), **headers}) + b"\n" + body + b"\n"


def envelope_of(event_id: str, *items: bytes) -> bytes:
    return orjson.dumps({"event_id": event_id}) + b"\n" + b"".join(items)


def trace_envelopes(n: int, t: float) -> list[bytes]:
    """Trace `n` started at `t`: a transaction of 3 spans, an error with an
    attachment and a user report, a log, feedback, and a replay that shows it."""
    trace, tx, err = f"{n:032x}", f"{n:031x}a", f"{n:031x}e"
    context = {"trace": {"trace_id": trace, "span_id": f"{n:015x}1"}}
    children = [
        {"span_id": f"{n:015x}{i}", "parent_span_id": f"{n:015x}1", "start_timestamp": t, "timestamp": t + 1}
        for i in (2, 3)
    ]
    transaction = {"event_id": tx, "type": "transaction", "transaction": f"/t{n}", "contexts": context}
    transaction |= {"start_timestamp": t, "timestamp": t + 2, "spans": children}
    error = {"event_id": err, "message": "boom", "timestamp": t + 1, "contexts": context}
    log = {"items": [{"timestamp": t + 1, "trace_id": trace, "level": "info", "body": "hello"}]}
    report = {"event_id": err, "name": "Ada", "email": "a@example.com", "comments": "broken"}
    feedback = {"event_id": f"{n:031x}f", "timestamp": t + 1, "contexts": {**context, "feedback": {"message": "x"}}}
    replay = {"type": "replay_event", "replay_id": f"{n:031x}b", "segment_id": 0, "timestamp": t + 2}
    replay["trace_ids"] = [trace]
    session = {"sid": f"{n:031x}5", "status": "ok", "started": t, "timestamp": t, "attrs": {"release": "a@1"}}
    return [
        envelope_of(tx, item("transaction", transaction)),
        envelope_of(err, item("event", error), item("attachment", b"dump", filename="a.txt")),
        envelope_of(err, item("user_report", report), item("session", session)),
        envelope_of(tx, item("log", log, item_count=1, content_type="application/vnd.sentry.items.log+json")),
        envelope_of(f"{n:031x}f", item("feedback", feedback)),
        envelope_of(f"{n:031x}b", item("replay_event", replay), item("replay_recording", b'{"segment_id":0}\n[]')),
    ]


def packet(body: bytes, received_at: float) -> wire.Packet:
    rows = normalize(parse(body), "1", received_at=received_at + 60).rows
    return Batch(envelope={"received_at": received_at, "item_count": 1}, rows=rows).packet()


@pytest.fixture
def store(tmp_path):
    s = Store(str(tmp_path / "r.db"))
    yield s
    s.close()


def fill(store: Store, ages_in_days: list[float]) -> None:
    """Traces 0, 1, … started (and received) that many days ago."""
    for n, age in enumerate(ages_in_days):
        t = time.time() - age * DAY
        list(_answers(store, [packet(body, t) for body in trace_envelopes(n, t)]))


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    tables = [t for t in schema.TABLES if t not in ("counters", "outbox")]
    return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


def counters(conn: sqlite3.Connection) -> dict[str, int]:
    rows = conn.execute("SELECT name, value FROM counters WHERE name LIKE 'rows:%'")
    return {name[5:]: v for name, v in rows if name[5:] in schema.TABLES and name != "rows:outbox"}


def run(store: Store, name: str, *args):
    [answer] = list(_answers(store, [wire.Chore(name, args)]))
    assert answer.errors == [None]
    return answer.results[0]


def test_a_trace_goes_with_every_row_of_its_own_and_nothing_else(store):
    fill(store, [3])
    conn = store._conn
    one_trace = counts(conn)
    # Every kind of row is there, so the test could fail for each.
    assert all(
        one_trace[t] for t in one_trace if t not in ("client_reports", "other_items", "item_failures", "rejections")
    ), one_trace
    fill_more = [0.5]
    for n, age in enumerate(fill_more, start=1):
        t = time.time() - age * DAY
        list(_answers(store, [packet(body, t) for body in trace_envelopes(n, t)]))
    both = counts(conn)
    result = run(store, "retention.batch", time.time() - DAY)
    after = counts(conn)
    assert result["traces"] == 1
    # What is left is exactly what the newer trace brought.
    assert {t: both[t] - one_trace[t] for t in both} == {t: n for t, n in after.items()}
    assert conn.execute("SELECT trace_id FROM traces").fetchall() == [(f"{1:032x}",)]
    assert counters(conn) == {t: n for t, n in after.items() if t in counters(conn)}
    assert conn.execute("SELECT count(*) FROM spans WHERE trace_id = ?", (f"{1:032x}",)).fetchone() == (3,)


def test_the_oldest_go_first_in_batches_of_the_budget_never_part_of_a_trace(store):
    fill(store, [9, 8, 7, 6, 5])
    conn = store._conn
    # 3 spans + 1 error per trace: a budget of 10 rows takes 2 traces (half the budget goes to traces).
    first = run(store, "retention.batch", None, 20)
    assert first["traces"] == 2 and first["more"] is True
    left = [r[0] for r in conn.execute("SELECT trace_id FROM traces ORDER BY start_timestamp")]
    assert left == [f"{n:032x}" for n in (2, 3, 4)]
    per_trace = dict(conn.execute("SELECT trace_id, count(*) FROM spans GROUP BY trace_id"))
    assert per_trace == dict.fromkeys(left, 3)
    assert counters(conn)["spans"] == 9 and counters(conn)["traces"] == 3


def test_retain_deletes_everything_older_than_the_cutoff_and_keeps_the_rest(store):
    fill(store, [10, 8, 1])
    conn = store._conn
    while run(store, "retention.batch", time.time() - 7 * DAY)["more"]:
        pass
    assert [r[0] for r in conn.execute("SELECT trace_id FROM traces")] == [f"{2:032x}"]
    cutoff = time.time() - 7 * DAY
    for table, column in [("events", "timestamp"), ("logs", "timestamp"), ("replays", "timestamp")]:
        assert conn.execute(f"SELECT count(*) FROM {table} WHERE {column} < ?", (cutoff,)).fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM envelopes WHERE received_at < ?", (cutoff,)).fetchone() == (0,)
    # The kept trace's envelopes and the rows hanging off them stay.
    assert counts(conn)["envelopes"] == 6 and counts(conn)["replay_recordings"] == 1
    assert counters(conn) == {t: n for t, n in counts(conn).items() if t in counters(conn)}


def test_one_trace_by_id(store):
    fill(store, [2, 1])
    run(store, "retention.trace", f"{0:032x}")
    conn = store._conn
    assert conn.execute("SELECT count(*) FROM spans WHERE trace_id = ?", (f"{0:032x}",)).fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM spans").fetchone() == (3,)
    assert conn.execute("SELECT count(*) FROM attachments").fetchone() == (1,)


def test_free_pages_go_back_to_the_file_system(store):
    fill(store, [5] * 40)
    conn = store._conn
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    while run(store, "retention.batch", None)["rows"]:
        pass
    used, free = retention.used_bytes(conn)
    assert free > 0
    assert run(store, "retention.reclaim", 100_000) == 0
    assert retention.used_bytes(conn) == (used, 0)


def full_scans(conn: sqlite3.Connection, sql: str, args) -> list[str]:
    plan = [r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}", args)]
    # json_each is a table-valued function over one row's value, not a table.
    return [step for step in plan if step.startswith("SCAN ") and "VIRTUAL TABLE" not in step]


# Every (table, column) retention deletes by.
DELETES_BY = [
    ("attachments", "event_id"),
    ("feedback", "event_id"),
    ("feedback", "trace_id"),
    ("transactions", "event_id"),
    ("events", "trace_id"),
    ("span_packs", "id"),
    ("span_ids", "pack"),
    ("logs", "trace_id"),
    ("traces", "trace_id"),
    ("events", "event_id"),
    ("envelopes", "id"),
    ("replays", "replay_id"),
    ("replay_recordings", "replay_id"),
    ("sessions", "rowid"),
    ("rejections", "rowid"),
]


def test_every_delete_finds_its_rows_by_an_index(store):
    """Each statement a batch runs, explained: no table is scanned but in
    the rowid-ordered prefixes, which read at most their LIMIT of rows."""
    fill(store, [5, 4])
    conn = store._conn
    statements = []

    class Recording:
        def execute(self, sql, args=()):
            statements.append((sql, args))
            return conn.execute(sql, args)

        def executemany(self, sql, rows):
            return conn.executemany(sql, rows)

    conn.execute("BEGIN")
    result = retention.batch(Recording(), None)
    conn.execute("ROLLBACK")
    assert result["traces"] == 2 and result["rows"]["envelopes"] == 11
    statements += [(f"DELETE FROM {t} WHERE {c} IN (?)", ("x",)) for t, c in DELETES_BY]
    for sql, args in statements:
        if sql.startswith("PRAGMA") or "ORDER BY rowid LIMIT" in sql:
            continue
        assert full_scans(conn, sql, args) == [], sql


def test_durations_and_sizes_as_written_on_the_command_line():
    assert retention_task.parse_duration("7d") == 7 * DAY
    assert retention_task.parse_duration(" 1.5h ") == 5400
    assert retention_task.parse_size("1GB") == 10**9
    assert retention_task.parse_size("512MiB") == 512 * 1024**2
    for wrong in ("7", "d", "-1d", "7 days"):
        with pytest.raises(ValueError, match=r"e\.g\. 7d"):
            retention_task.parse_duration(wrong)
    with pytest.raises(ValueError, match=r"e\.g\. 1GB"):
        retention_task.parse_size("1 TB")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"all": true}', {"everything": True}),
        (b'{"trace_id": "ABC"}', {"trace_id": "abc"}),
        (b'{"before": 12.5}', {"before": 12.5}),
        # Any JSON type may sit in any field: none of these names anything.
        (b'{"all": "yes", "trace_id": 7, "before": "yesterday"}', None),
        (b"[1, 2]", None),
        (b"not json", None),
        (b'{"before": true}', None),
    ],
)
def test_what_a_purge_request_asks_for(body, expected):
    assert what_to_purge(body) == expected

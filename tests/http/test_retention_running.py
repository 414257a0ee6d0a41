"""Retention on a running collector: `--max-db-size` holds through a long
ingest with the newest traces whole, `--retain` deletes old traces, and
`collector purge` deletes one trace, old ones, or all, through the running
collector or on the file itself."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time

import orjson
import pytest

from helpers import ROOT, Collector

DAY = 86400
SPANS = 20


def transaction(n: int, t: float) -> bytes:
    """An envelope of trace n: a transaction with SPANS child spans, at time t."""
    trace, root = f"{n:032x}", f"{n:015x}f"
    spans = [
        {
            "span_id": f"{n:012x}{i:04x}",
            "parent_span_id": root,
            "op": "db",
            "description": f"SELECT * FROM orders WHERE id = {i} -- " + "x" * 150,
            "start_timestamp": t,
            "timestamp": t + 0.01,
        }
        for i in range(SPANS)
    ]
    payload = {
        "event_id": f"{n:031x}a",
        "type": "transaction",
        "transaction": f"/orders/{n}",
        "start_timestamp": t,
        "timestamp": t + 0.1,
        "contexts": {"trace": {"trace_id": trace, "span_id": root, "op": "http.server"}},
        "spans": spans,
    }
    body = orjson.dumps(payload)
    return b"\n".join([orjson.dumps({"event_id": payload["event_id"]}), orjson.dumps({"type": "transaction"}), body])


def post(collector: Collector, n: int, t: float) -> None:
    status, _, body = collector.request("/api/1/envelope/?sentry_key=k", transaction(n, t))
    assert status == 200, body


def file_bytes(db) -> tuple[int, int]:
    """Bytes in use (pages less free pages) and the file's size."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        pages, free, size = (
            conn.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_count", "freelist_count", "page_size")
        )
    return (pages - free) * size, os.path.getsize(db)


def rows(db, sql: str, args=()) -> list[tuple]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute(sql, args).fetchall()


@pytest.fixture
def started(tmp_path, monkeypatch):
    """Starts a collector with these environment variables set."""
    collectors = []

    def start(**env) -> Collector:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        collectors.append(Collector(tmp_path / "collector.db").start())
        return collectors[-1]

    yield start
    for c in collectors:
        c.stop()


BOUND = 8_000_000


def test_the_file_stays_under_max_db_size_through_a_long_ingest_and_keeps_the_newest_traces(started):
    collector = started(COLLECTOR_MAX_DB_SIZE="8MB")
    t0 = time.time() - 3600
    peak = 0
    count = 6000
    for n in range(count):
        post(collector, n, t0 + n * 0.1)
        if n % 100 == 0:
            peak = max(peak, file_bytes(collector.db)[0])
    time.sleep(3)  # a pass or two after the last envelope
    used, size = file_bytes(collector.db)
    assert used <= BOUND, used
    # Free pages were given back: the file on disk is little more than what it uses.
    assert size <= BOUND * 1.1, size
    # Through the ingest too: deleting starts before the bound is reached.
    assert peak <= BOUND, peak
    kept = rows(collector.db, "SELECT trace_id, span_count FROM traces ORDER BY start_timestamp")
    assert 50 < len(kept) < count / 2
    newest = [f"{n:032x}" for n in range(count - len(kept), count)]
    assert [t for t, _ in kept] == newest
    # Whole traces only: each kept one has all its spans and its transaction.
    spans = dict(rows(collector.db, "SELECT trace_id, count(*) FROM spans GROUP BY trace_id"))
    assert spans == dict.fromkeys(newest, SPANS + 1)
    assert rows(collector.db, "SELECT count(*) FROM transactions") == [(len(kept),)]
    counts = collector.get("/api/stats")
    assert counts["rows"]["spans"] == len(kept) * (SPANS + 1), counts["rows"]


def test_retain_deletes_what_started_longer_ago_than_it_says(started):
    collector = started(COLLECTOR_RETAIN="7d")
    now = time.time()
    for n, age in enumerate([10, 9, 8, 1, 0]):
        post(collector, n, now - age * DAY - 60)
    deadline = time.monotonic() + 15
    while rows(collector.db, "SELECT count(*) FROM traces") != [(2,)] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert rows(collector.db, "SELECT trace_id FROM traces ORDER BY start_timestamp") == [
        (f"{3:032x}",),
        (f"{4:032x}",),
    ]
    assert rows(collector.db, "SELECT count(*) FROM spans WHERE start_timestamp < ?", (now - 7 * DAY,)) == [(0,)]
    assert rows(collector.db, "SELECT count(*) FROM spans") == [(2 * (SPANS + 1),)]


def purge(db, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "collector", "purge", "--db", str(db), *args],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_purge_through_the_running_collector_then_on_the_file_itself(started):
    collector = started()
    now = time.time()
    for n, age in enumerate([5, 4, 3, 0.5, 0]):
        post(collector, n, now - age * DAY)
    collector.wait_for(lambda s: s["rows"]["spans"] == 5 * (SPANS + 1))

    one = purge(collector.db, "--trace", f"{4:032x}")
    assert one.returncode == 0, one.stderr
    assert "deleted 1 trace(s)" in one.stdout and f"spans {SPANS + 1}" in one.stdout
    old = purge(collector.db, "--older-than", "2d")
    assert old.returncode == 0, old.stderr
    assert "deleted 3 trace(s)" in old.stdout
    assert rows(collector.db, "SELECT trace_id FROM traces") == [(f"{3:032x}",)]
    # The running collector's counters saw it: its own writer deleted.
    assert collector.get("/api/stats")["rows"]["spans"] == SPANS + 1
    refused = purge(collector.db, "--vacuum")
    assert refused.returncode != 0 and "stop it first" in refused.stderr

    collector.stop()
    everything = purge(collector.db, "--all", "--vacuum", "--yes")
    assert everything.returncode == 0, everything.stderr
    assert "deleted 1 trace(s)" in everything.stdout and "given back" in everything.stdout
    assert rows(collector.db, "SELECT count(*) FROM spans") == [(0,)]
    assert rows(collector.db, "PRAGMA auto_vacuum") == [(2,)]
    asked = purge(collector.db)
    assert asked.returncode == 2 and "--older-than" in asked.stderr

"""The benchmark's own arithmetic: when it calls a run durable, how it cuts
latencies into 250 ms windows, and which targets it passes."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import openloop
import phases
import report

BEFORE = {"envelopes": 5, "spans": 105, "transactions": 5, "events": 0}


def after(n: int, spans_each: int = 21) -> dict:
    return {"envelopes": 5 + n, "spans": 105 + spans_each * n, "transactions": 5 + n, "events": 0}


def test_every_answered_envelope_stored_whole_is_durable_even_with_requests_in_flight():
    assert phases.durability(BEFORE, after(100), "transaction", ok=100, in_flight=32)["durable"]
    assert phases.durability(BEFORE, after(120), "transaction", ok=100, in_flight=32)["durable"]


def test_fewer_stored_than_answered_or_a_span_missing_is_not_durable():
    assert not phases.durability(BEFORE, after(99), "transaction", ok=100, in_flight=32)["durable"]
    assert not phases.durability(BEFORE, after(200), "transaction", ok=100, in_flight=32)["durable"]
    assert not phases.durability(BEFORE, after(100, spans_each=20), "transaction", ok=100, in_flight=32)["durable"]


def test_errors_count_events_not_spans():
    before = {"envelopes": 0, "spans": 0, "transactions": 0, "events": 0}
    stored = {"envelopes": 10, "spans": 0, "transactions": 0, "events": 10}
    assert phases.durability(before, stored, "error", ok=10, in_flight=0)["durable"]
    assert not phases.durability(before, {**stored, "events": 9}, "error", ok=10, in_flight=0)["durable"]


def test_windows_group_by_due_time_and_show_the_stall():
    start = 100.0
    # (due, late, wait, latency, status): one slow request in the second window.
    records = [(start + 0.01 * i, 0, 0, 0.002, 200) for i in range(50)]
    records.append((start + 0.30, 0, 0, 0.080, 200))
    samples = [(start + 0.25 * k, 1000 * k, 0.1 * k, 0.05 * k) for k in range(4)]
    rows = openloop.windows(records, samples, start)
    assert [r["count"] for r in rows] == [25, 26]
    assert openloop.worst(rows, 1)[0]["t"] == 0.25
    assert openloop.worst(rows, 1)[0]["max_ms"] == 80.0
    assert rows[1]["wal_bytes"] == 2000


def run(per_s: float, p99: float, **more) -> dict:
    base = {"envelopes_per_s": per_s, "p50_ms": p99 / 2, "p99_ms": p99, "durable": True, "spans_queryable": True}
    return {**base, "not_ok": 0, "socket_errors": 0, "max_rss_mb": 100, "reader_p99_ms": 10, **more}


def test_targets_use_paired_ratios_and_thresholds():
    closed = {
        "transaction": {"collector": [run(4000, 20)], "baseline": [run(9000, 3)], "spotlight": [run(3000, 30)]},
        "error": {"collector": [run(3000, 30)], "baseline": [run(10000, 3)]},
    }
    results = {"runs": 1, "summary": {k: report.summarize(v) for k, v in closed.items()}}
    rows = {target: ok for target, _, ok in report.targets(results)}
    assert rows["transactions: ratio to do-nothing aiohttp ≥ 0.4"] is True  # 0.44
    assert rows["transactions closed-loop p99 < 25 ms"] is True
    assert rows["transactions: collector / Spotlight ≥ 1"] is True
    assert rows["errors: ratio to do-nothing aiohttp ≥ 0.4"] is False  # 0.30
    assert rows["errors closed-loop p99 < 25 ms"] is False
    assert rows["every 200 durable"] is True

"""The write-ahead log is started over once past its limit, while commits
keep coming: it does not grow without end, and nothing committed is lost."""

from __future__ import annotations

import struct
import time

import orjson

from collector.ingest.normalize import normalize
from collector.protocol.envelope import parse
from collector.storage import store as store_module
from collector.storage.client import Batch
from collector.storage.store import Store

LIMIT = 256 * 1024


def transaction_packet(n: int):
    trace, t = f"{n:032x}", time.time()
    spans = [
        {"span_id": f"{n:012x}{i:04x}", "parent_span_id": f"{n:016x}", "start_timestamp": t, "timestamp": t + 1}
        for i in range(20)
    ]
    event = {
        "event_id": f"{n:031x}a",
        "type": "transaction",
        "transaction": f"/t{n}",
        "start_timestamp": t,
        "timestamp": t + 2,
        "contexts": {"trace": {"trace_id": trace, "span_id": f"{n:016x}"}},
        "spans": spans,
    }
    payload = orjson.dumps(event)
    body = orjson.dumps({"event_id": event["event_id"]}) + b"\n"
    body += orjson.dumps({"type": "transaction", "length": len(payload)}) + b"\n" + payload + b"\n"
    rows = normalize(parse(body), "1").rows
    return Batch(envelope={"received_at": t, "item_count": 1}, rows=rows).packet()


def wal_resets(path: str) -> int:
    # The WAL header's checkpoint sequence number: one more at every restart of the log.
    with open(path + "-wal", "rb") as f:
        return struct.unpack(">I", f.read(16)[12:16])[0]


def test_the_wal_starts_over_past_its_limit_while_commits_keep_coming(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "WAL_LIMIT", LIMIT)
    path = str(tmp_path / "w.db")
    store = Store(path)
    try:
        first = wal_resets(path)
        committed, deadline = 0, time.monotonic() + 60
        # One envelope a commit, as under light load: each writes ~80 KB of WAL.
        while wal_resets(path) < first + 3 and time.monotonic() < deadline:
            assert store.commit([transaction_packet(committed)]).errors == [None]
            committed += 1
        assert wal_resets(path) >= first + 3, f"the WAL was not started over in {committed} commits"
        # The writer waited for the checkpoint thread's hurried passes before each reset.
        assert store._checkpointer.finished >= 2
        spans = store._conn.execute("SELECT count(*) FROM spans").fetchone()[0]
        transactions = store._conn.execute("SELECT count(*) FROM transactions").fetchone()[0]
    finally:
        store.close()
    assert (transactions, spans) == (committed, committed * 21)

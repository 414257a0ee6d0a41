"""What reading spans costs: one 10,000-span trace (as /api/traces/{id}
reads it) and the jump box's span id lookups, in a file that also holds
many 20-span transactions.

    PYTHONPATH=<a checkout> python bench/span_reads.py [--transactions 20000]

Run it with PYTHONPATH naming two checkouts to compare layouts; medians of
--runs reads, in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent))
sys.path.append(str(Path(__file__).resolve().parent.parent))

import orjson

import envelopes
from collector.ingest.batches import build
from collector.ingest.endpoints import _parse_limited
from collector.read import queries
from collector.storage.store import Store

BIG_TRACE = "b" * 32


def _packet(body: bytes):
    batch = build(_parse_limited(body), body, "", "bench", "1", "127.0.0.1", None)
    batch.stamp(time.time(), "envelope")
    return batch.packet()


def fill(path: str, transactions: int) -> str:
    """The file; returns a child span id of a transaction stored halfway."""
    store = Store(path)
    bodies = [envelopes.fresh("transaction") for _ in range(transactions)]
    middle = _parse_limited(bodies[transactions // 2])
    bodies += envelopes.span_stream(BIG_TRACE, 10_000)
    for i in range(0, len(bodies), 64):
        answer = store.commit([_packet(b) for b in bodies[i : i + 64]])
        assert not any(answer.errors), answer.errors
    store.close()

    return orjson.loads(middle.items[0].payload)["spans"][5]["span_id"]


def timed(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transactions", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "reads.db")
        child = fill(path, args.transactions)
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        conn.row_factory = sqlite3.Row
        page = queries.trace_rows(conn, BIG_TRACE)
        assert len(page["spans"]) == 10_000, len(page["spans"])
        assert queries.find_id(conn, child) is not None
        print(
            f"{args.transactions} transactions + a 10,000-span trace, {os.path.getsize(path) / 1e6:.0f} MB:"
            f" trace_rows {timed(lambda: queries.trace_rows(conn, BIG_TRACE), args.runs):.1f} ms,"
            f" jump box: segment {timed(lambda: queries.find_id(conn, f'{1:016x}'), args.runs):.2f} ms,"
            f" child span {timed(lambda: queries.find_id(conn, child), args.runs):.1f} ms,"
            f" unknown id {timed(lambda: queries.find_id(conn, 'f' * 16), args.runs):.1f} ms"
            f" (medians of {args.runs})"
        )


if __name__ == "__main__":
    main()

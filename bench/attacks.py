"""`make bench-attacks`: what small hostile requests cost everyone else
(issue 11, finding 6), against a real `collector serve` on loopback.

Cases, each bounded in time; the collector is stopped at the end:
  1. brotli bombs (a few hundred bytes that inflate past the 200 MiB limit)
     posted back to back from two connections, while another client posts
     ordinary 20-span transactions one after the other: that client's
     envelopes/s and p99, against the same client alone;
  2. the largest envelope: ~360,000 small v2 spans in ~1 MB of gzip:
     the collector's peak memory (PSS, all its processes), how long it took
     to answer, the longest wait of another client meanwhile, rows stored;
  3. ~190 KB of gzip inflating to ~190 over-limit event items: what the
     item_failures table grows by.

Run from any checkout: the collector under test is the one beside this file.
"""

from __future__ import annotations

import asyncio
import gzip
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import brotli
import orjson

sys.path.insert(0, str(Path(__file__).parent))
import run

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
BOMB_SECONDS = 8.0
# Requests that are not answered in this long count as hung.
REQUEST_TIMEOUT = 120.0
SAMPLE_EVERY = 0.05


def request(body: bytes, encoding: str | None = None) -> bytes:
    head = f"POST {run.INGEST_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
    if encoding:
        head += f"Content-Encoding: {encoding}\r\n"
    return (head + "\r\n").encode() + body


async def steady_client(server: run.Server, seconds: float) -> dict:
    """One client posting transactions one after the other for `seconds`."""
    requests = run.ingest_requests("transaction", 20_000)
    conn, latencies, statuses = run.Connection(server.port), [], {}
    deadline = time.monotonic() + seconds
    for req in requests:
        if time.monotonic() > deadline:
            break
        start = time.perf_counter()
        status, _, _ = await asyncio.wait_for(conn.send(req), REQUEST_TIMEOUT)
        latencies.append(time.perf_counter() - start)
        statuses[status] = statuses.get(status, 0) + 1
    conn.close()
    return {
        "envelopes_per_s": round(len(latencies) / seconds, 1),
        "p50_ms": round(run.pct(latencies, 0.5) * 1000, 2),
        "p99_ms": round(run.pct(latencies, 0.99) * 1000, 2),
        "max_ms": round(max(latencies) * 1000, 1),
        "statuses": statuses,
    }


async def bomber(server: run.Server, bomb: bytes, stop: asyncio.Event, sent: list) -> None:
    conn = run.Connection(server.port)
    req = request(bomb, "br")
    while not stop.is_set():
        status, _, _ = await asyncio.wait_for(conn.send(req), REQUEST_TIMEOUT)
        sent.append(status)
    conn.close()


async def bomb_case(server: run.Server, _db: Path) -> dict:
    alone = await steady_client(server, BOMB_SECONDS / 2)
    bomb = brotli.compress(b"\0" * (200 * MIB + 1024), quality=5)
    stop, sent = asyncio.Event(), []
    bombers = [asyncio.create_task(bomber(server, bomb, stop, sent)) for _ in range(2)]
    await asyncio.sleep(0.5)
    during = await steady_client(server, BOMB_SECONDS)
    stop.set()
    await asyncio.gather(*bombers)
    return {
        "bomb_bytes": len(bomb),
        "bombs_answered": len(sent),
        "bomb_statuses": sorted(set(sent)),
        "client_alone": alone,
        "client_during_bombs": during,
    }


def span_flood() -> bytes:
    """~360,000 minimal v2 spans in 360 span items of 1,000 (each item under
    the 1 MiB span limit, the envelope under 1,000 items)."""
    header = orjson.dumps({"sdk": {"name": "sentry.javascript.browser", "version": "11.0.0"}})
    parts = [header]
    trace = os.urandom(16).hex()
    start = time.time() - 60
    for item in range(360):
        spans = [
            {
                "trace_id": trace,
                "span_id": f"{item:08x}{i:08x}",
                "name": "x",
                "start_timestamp": start,
                "end_timestamp": start + 1,
            }
            for i in range(1000)
        ]
        payload = orjson.dumps({"version": 2, "items": spans})
        parts += [orjson.dumps({"type": "span", "length": len(payload)}), payload]
    return gzip.compress(b"\n".join(parts) + b"\n", 6)


async def sample_memory(server: run.Server, stop: asyncio.Event, peak: list) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], await asyncio.to_thread(server.rss_mb))
        await asyncio.sleep(SAMPLE_EVERY)


async def ping_client(server: run.Server, stop: asyncio.Event, waits: list) -> None:
    """Another client's small transactions, one after the other."""
    conn = run.Connection(server.port)
    for req in run.ingest_requests("transaction", 100_000):
        if stop.is_set():
            break
        start = time.perf_counter()
        await asyncio.wait_for(conn.send(req), REQUEST_TIMEOUT)
        waits.append(time.perf_counter() - start)
    conn.close()


async def flood_case(server: run.Server, db: Path) -> dict:
    body = span_flood()
    await asyncio.sleep(1.0)  # let the server settle before the idle sample
    idle = server.rss_mb()
    stop, peak, waits = asyncio.Event(), [idle], []
    tasks = [
        asyncio.create_task(sample_memory(server, stop, peak)),
        asyncio.create_task(ping_client(server, stop, waits)),
    ]
    await asyncio.sleep(0.5)
    start = time.perf_counter()
    status, _, answer = await asyncio.wait_for(run.Connection(server.port).send(request(body, "gzip")), REQUEST_TIMEOUT)
    took = time.perf_counter() - start
    await asyncio.sleep(1.0)  # the writer may still be busy: keep sampling
    stop.set()
    await asyncio.gather(*tasks)
    with sqlite3.connect(db) as conn:
        spans = conn.execute("SELECT count(*) FROM spans").fetchone()[0]
        failures = conn.execute("SELECT count(*) FROM item_failures").fetchone()[0]
    return {
        "gzip_bytes": len(body),
        "status": status,
        "answer": answer[:200].decode(errors="replace"),
        "seconds_to_answer": round(took, 2),
        "idle_pss_mb": round(idle),
        "peak_pss_mb": round(peak[0]),
        "other_client_max_wait_ms": round(max(waits) * 1000, 1),
        "other_client_requests": len(waits),
        "span_rows": spans,
        "failure_rows": failures,
    }


def over_limit_items() -> bytes:
    """~190 event items of 1 MiB + 1 byte (the event limit is 1 MiB)."""
    item = b"\0" * (MIB + 1)
    parts = [b"{}"]
    for _ in range(190):
        parts += [orjson.dumps({"type": "event", "length": len(item)}), item]
    return gzip.compress(b"\n".join(parts) + b"\n", 9)


async def failures_case(server: run.Server, db: Path) -> dict:
    body = over_limit_items()
    before = db.stat().st_size + Path(f"{db}-wal").stat().st_size
    status, _, _ = await asyncio.wait_for(run.Connection(server.port).send(request(body, "gzip")), REQUEST_TIMEOUT)
    with sqlite3.connect(db) as conn:
        rows, stored = conn.execute("SELECT count(*), coalesce(sum(length(payload)), 0) FROM item_failures").fetchone()
    after = db.stat().st_size + Path(f"{db}-wal").stat().st_size
    return {
        "gzip_bytes": len(body),
        "status": status,
        "failure_rows": rows,
        "failure_payload_mb": round(stored / MIB, 2),
        "file_growth_mb": round((after - before) / MIB, 2),
    }


async def main() -> None:
    print(f"collector under test: {ROOT / 'collector'}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        results = {}
        cases = [("brotli_bombs", bomb_case), ("span_flood", flood_case), ("over_limit_failures", failures_case)]
        for name, case in cases:
            # A fresh collector and file per case: one case's leftovers must
            # not weigh on the next.
            db = Path(tmp) / f"{name}.db"
            with run.running_collector(db) as server:
                results[name] = await case(server, db)
            shown = orjson.dumps(results[name], option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode()
            print(f"{name}: {shown}", flush=True)


if __name__ == "__main__":
    # The collector started by run.Server is the one of this checkout.
    os.environ["PYTHONPATH"] = str(ROOT)
    asyncio.run(main())

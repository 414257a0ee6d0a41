"""Open-loop load: envelopes sent at a fixed rate whatever the server does,
each latency measured from the moment it was due, not from when a
connection was free to send it. A closed loop (wrk) slows down when the
server stalls and so hides the stall's cost (coordinated omission); this
one does not.

Python's asyncio paces about a thousand requests a second per process, so
the rate is split over several processes (fork), each with its share of 32
keep-alive connections and its own interleaved slice of the schedule; the
clock (CLOCK_MONOTONIC) is the machine's, shared by them all.

Every result also goes into 250 ms windows (p50, p99, max, the WAL's size
and the server's CPU in that window), written as CSV, so the tail's cause
can be seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import multiprocessing
import resource
import statistics
import threading
import time
from pathlib import Path

from pyload import Connection, ingest_requests, pct
from servers import Server

CONNECTIONS = 32
PER_PROCESS = 800  # requests/s one pacing process keeps up with here
WINDOW = 0.25


async def paced(port: int, requests: list[bytes], due: list[float], connections: int) -> list[tuple]:
    """Sends requests[i] at due[i]: (due, how late this client started it,
    how long it then waited for a free connection, latency from due, status)
    each, in seconds."""
    pool: asyncio.Queue = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(Connection(port))
    records: list[tuple] = []

    async def one(request: bytes, at: float) -> None:
        started = time.monotonic()
        conn = await pool.get()
        sent = time.monotonic()
        try:
            status = (await conn.send(request))[0]
        except (ConnectionError, asyncio.IncompleteReadError) as e:
            status = type(e).__name__
        finally:
            pool.put_nowait(conn)
        records.append((at, started - at, sent - started, time.monotonic() - at, status))

    tasks = set()
    for request, at in zip(requests, due, strict=True):
        delay = at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(request, at))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks, timeout=60)
    while not pool.empty():
        pool.get_nowait().close()
    return records


def _worker(port: int, kind: str, due: list[float], connections: int, out) -> None:
    requests = ingest_requests(kind, len(due))
    out.send(asyncio.run(paced(port, requests, due, connections)))
    out.close()


class Sampler(threading.Thread):
    """The WAL's size and the server's CPU every WINDOW seconds."""

    def __init__(self, server: Server, db: Path | None):
        super().__init__(daemon=True)
        self.server, self.wal, self.stop, self.samples = server, db and Path(f"{db}-wal"), threading.Event(), []

    def run(self) -> None:
        while not self.stop.wait(WINDOW):
            wal = 0
            with contextlib.suppress(OSError):
                wal = self.wal.stat().st_size if self.wal else 0
            self.samples.append((time.monotonic(), wal, *self.server.cpu_split()))


def run_open_loop(server: Server, kind: str, rate: float, seconds: float, db: Path | None = None) -> dict:
    """`rate` envelopes/s for `seconds`: latency percentiles from the due time,
    how late the client itself dispatched, and the 250 ms windows."""
    processes = max(2, math.ceil(rate / PER_PROCESS))
    start = time.monotonic() + 1.5  # the workers build their requests meanwhile
    total = int(rate * seconds)
    schedule = [start + i / rate for i in range(total)]
    ctx = multiprocessing.get_context("fork")
    own0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    sampler = Sampler(server, db)
    sampler.start()
    pipes, workers = [], []
    for k in range(processes):
        receive, send = ctx.Pipe(duplex=False)
        w = ctx.Process(
            target=_worker, args=(server.port, kind, schedule[k::processes], CONNECTIONS // processes, send)
        )
        w.start()
        pipes.append(receive)
        workers.append(w)
    records = [r for pipe in pipes for r in pipe.recv()]
    for w in workers:
        w.join()
    sampler.stop.set()
    sampler.join()
    own1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    server.check()
    latencies = [r[3] for r in records if r[4] == 200]
    lags, waits = [r[1] for r in records], [r[2] for r in records]
    return {
        "kind": kind,
        "rate": rate,
        "processes": processes,
        "sent": len(records),
        "ok": len(latencies),
        "not_ok": len(records) - len(latencies),
        "p50_ms": 1000 * pct(latencies, 0.5) if latencies else None,
        "p99_ms": 1000 * pct(latencies, 0.99) if latencies else None,
        "max_ms": 1000 * max(latencies, default=0),
        # The client's own lateness (CPU-starved pacing), apart from waiting
        # for one of the 32 connections (a slow server).
        "client_late_p99_ms": 1000 * pct(lags, 0.99) if lags else None,
        "connection_wait_p99_ms": 1000 * pct(waits, 0.99) if waits else None,
        "loadgen_cpu_pct": 100 * (own1.ru_utime + own1.ru_stime - own0.ru_utime - own0.ru_stime) / seconds,
        "windows": windows(records, sampler.samples, start),
    }


def windows(records: list[tuple], samples: list[tuple], start: float) -> list[dict]:
    """Results by WINDOW of due time, with the WAL size and the server's CPU
    (process, writer) sampled nearest the window's end."""
    by_window: dict[int, list[float]] = {}
    for at, _, _, latency, _ in records:
        by_window.setdefault(int((at - start) / WINDOW), []).append(latency)
    rows = []
    for n, values in sorted(by_window.items()):
        end = start + (n + 1) * WINDOW
        near = min(samples, key=lambda s: abs(s[0] - end), default=None)
        before = min(samples, key=lambda s: abs(s[0] - end + WINDOW), default=None)
        cpu = (
            (round(near[2] - before[2], 2), round(near[3] - before[3], 2))
            if near and before and near is not before
            else (None, None)
        )
        rows.append(
            {
                "t": round(n * WINDOW, 2),
                "count": len(values),
                "p50_ms": round(1000 * statistics.median(values), 2),
                "p99_ms": round(1000 * pct(values, 0.99), 2),
                "max_ms": round(1000 * max(values), 2),
                "wal_bytes": near[1] if near else None,
                "server_cpu_s": cpu[0],
                "writer_cpu_s": cpu[1],
            }
        )
    return rows


def write_windows(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(exist_ok=True)
    keys = list(rows[0]) if rows else []
    path.write_text("\n".join([",".join(keys)] + [",".join(str(r[k]) for k in keys) for r in rows]) + "\n")


def worst(rows: list[dict], n: int = 3) -> list[dict]:
    return sorted(rows, key=lambda r: r["p99_ms"], reverse=True)[:n]

"""Closed-loop load with wrk: 2 threads, 32 keep-alive connections, no think
time, every envelope with fresh ids (bench/fresh_ids.lua).

wrk is C and LuaJIT: 40-60 µs of CPU per request with the fresh-id script
(measured here), where bench/pyload.py's asyncio client costs several times
that. Near 18,000 requests/s that is still most of a core of the two this
machine has, so the do-nothing baseline shares its cores with its client
(which flatters the collector's ratio a little). wrk's CPU (user+system,
its rusage as a child) is printed beside each run so that can be seen.
"""

from __future__ import annotations

import http.client
import json
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import envelopes
from servers import INGEST_PATH, BenchBroken, Server

SCRIPT = Path(__file__).with_name("fresh_ids.lua")
THREADS = 2
CONNECTIONS = 32
READ_PATHS = ("/api/traces?limit=50", "/api/stats", "/traces")
READ_EVERY = 0.05


def available() -> bool:
    return shutil.which("wrk") is not None


class Readers(threading.Thread):
    """One more keep-alive connection polling the read API and the trace list
    every READ_EVERY seconds while wrk loads the server: what a user sees."""

    def __init__(self, port: int):
        super().__init__(daemon=True)
        self.port, self.stop, self.reads = port, threading.Event(), []

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        while not self.stop.is_set():
            for path in READ_PATHS:
                start = time.perf_counter()
                conn.request("GET", path, headers={"Host": "127.0.0.1"})
                answer = conn.getresponse()
                answer.read()
                self.reads.append((path, answer.status, (time.perf_counter() - start) * 1000))
            self.stop.wait(READ_EVERY)
        conn.close()

    def summary(self) -> dict:
        ms = sorted(r[2] for r in self.reads)
        return {
            "reader_requests": len(ms),
            "reader_non_200": sum(1 for r in self.reads if r[1] != 200),
            "reader_p99_ms": ms[min(len(ms) - 1, int(0.99 * len(ms)))] if ms else None,
        }


def run_wrk(server: Server, kind: str, seconds: float, readers: bool = False) -> dict:
    """One closed-loop run of `seconds` against `server`: throughput, latency
    percentiles, wrk's CPU and the server's (process and descendants apart)."""
    with tempfile.NamedTemporaryFile(suffix=".envelope") as template:
        template.write(envelopes.TEMPLATES[kind])
        template.flush()
        command = [
            "wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s", "--timeout", "30s",
            "-s", str(SCRIPT), server.url, "--", template.name, INGEST_PATH,
        ]  # fmt: skip
        poller = Readers(server.port) if readers else None
        own0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        main0, writer0 = server.cpu_split()
        if poller:
            poller.start()
        proc = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
        main1, writer1 = server.cpu_split()
        own1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if poller:
            poller.stop.set()
            poller.join()
    server.check()
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise BenchBroken(f"wrk failed ({proc.returncode}): {proc.stderr[-1000:]} {proc.stdout[-1000:]}")
    w = json.loads(lines[-1])
    wall = w["duration_us"] / 1e6
    ok = w["requests"] - w["status_errors"]
    socket_errors = w["connect_errors"] + w["read_errors"] + w["write_errors"] + w["timeouts"]
    wrk_cpu = own1.ru_utime + own1.ru_stime - own0.ru_utime - own0.ru_stime
    result = {
        "kind": kind,
        "client": "wrk",
        "ok": ok,
        "not_ok": w["status_errors"],
        "socket_errors": socket_errors,
        "seconds": wall,
        "envelopes_per_s": ok / wall,
        "p50_ms": w["p50_us"] / 1000,
        "p99_ms": w["p99_us"] / 1000,
        "max_ms": w["max_us"] / 1000,
        "server_cpu_pct": 100 * (main1 - main0 + writer1 - writer0) / wall,
        # CPU per envelope: what stays put when other work shares the cores.
        "server_us_per_envelope": 1e6 * (main1 - main0) / max(ok, 1),
        "writer_us_per_envelope": 1e6 * (writer1 - writer0) / max(ok, 1),
        "loadgen_cpu_pct": 100 * wrk_cpu / wall,
        "max_rss_mb": server.rss_mb(),
    }
    if poller:
        result.update(poller.summary())
    return result


def median_of(runs: list[dict], key: str) -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def cpu_count() -> int:
    return len(os.sched_getaffinity(0))

"""`make bench`: how fast the collector ingests, measured against a
do-nothing aiohttp server in the same run, on loopback only.

Every phase is bounded by a request count and a time limit and stops by
itself. Prints a table of the targets (issue 5) with PASS/FAIL and writes
bench-results/latest.json. Exit status is 0 even when a target fails (this
is a report); non-zero only when the benchmark itself broke.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).parent))
import envelopes  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 32
PHASE_SECONDS = 60
HEADERS = {"Content-Type": "application/x-sentry-envelope"}
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server subprocess, with its CPU and memory sampled from /proc."""

    def __init__(self, args: list[str], port: int):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"bench: server {args} did not start: {self.proc.stderr.read().decode()[-2000:]}")
                time.sleep(0.05)

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def load(server: Server, kind: str, count: int, readers: bool = False) -> dict:
    """`count` envelopes from CLIENTS concurrent clients; latency of 200s."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    reader_latencies: list[float] = []
    remaining = count
    url = server.url + "/api/1/envelope/?sentry_key=bench"
    rss, done = [], asyncio.Event()
    deadline = time.monotonic() + PHASE_SECONDS

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal remaining
        while remaining > 0 and time.monotonic() < deadline:
            remaining -= 1
            body = envelopes.fresh(kind)
            t = time.perf_counter()
            async with session.post(url, data=body, headers=HEADERS) as r:
                await r.read()
                if r.status == 200:
                    latencies.append(time.perf_counter() - t)
                statuses[r.status] = statuses.get(r.status, 0) + 1

    async def sample() -> None:
        while not done.is_set():
            rss.append(server.rss_mb())
            await asyncio.sleep(0.2)

    async def read(session: aiohttp.ClientSession) -> None:
        # The UI and read API while ingest is busy: they must not starve.
        paths = ["/api/traces?limit=50", "/traces", "/errors"]
        i = 0
        while not done.is_set():
            t = time.perf_counter()
            async with session.get(server.url + paths[i % len(paths)]) as r:
                await r.read()
            reader_latencies.append(time.perf_counter() - t)
            i += 1
            await asyncio.sleep(0.05)

    connector = aiohttp.TCPConnector(limit=CLIENTS + 2)
    async with aiohttp.ClientSession(connector=connector) as session:
        cpu0, wall0, own0 = server.cpu_seconds(), time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
        side = [asyncio.create_task(sample())] + ([asyncio.create_task(read(session))] if readers else [])
        await asyncio.gather(*(client(session) for _ in range(CLIENTS)))
        wall = time.perf_counter() - wall0
        cpu = server.cpu_seconds() - cpu0
        own = resource.getrusage(resource.RUSAGE_SELF)
        done.set()
        await asyncio.gather(*side)
    ok = statuses.get(200, 0)
    return {
        "kind": kind,
        "sent": sum(statuses.values()),
        "ok": ok,
        "statuses": statuses,
        "envelopes_per_s": ok / wall,
        "p50_ms": pct(latencies, 0.50) * 1000,
        "p99_ms": pct(latencies, 0.99) * 1000,
        "server_cpu_pct": 100 * cpu / wall,
        "loadgen_cpu_pct": 100 * ((own.ru_utime + own.ru_stime) - (own0.ru_utime + own0.ru_stime)) / wall,
        "max_rss_mb": max(rss) if rss else None,
        "reader_p99_ms": pct(reader_latencies, 0.99) * 1000 if readers else None,
        "reader_requests": len(reader_latencies),
    }


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=120) as r:
        return json.loads(r.read())


def timed_get(url: str, runs: int) -> float:
    """Median server time (its Server-Timing header) of a GET, in ms."""
    times = []
    for _ in range(runs):
        with urllib.request.urlopen(url, timeout=120) as r:
            r.read()
            times.append(float(r.headers["Server-Timing"].split("dur=")[1]))
    return statistics.median(times)


def durable_phase(kind: str, count: int) -> dict:
    """One collector, one workload; then check every 200 was stored."""
    db = Path(tempfile.mkdtemp(prefix="bench-")) / "bench.db"
    port = free_port()
    server = Server(["-m", "collector", "serve", "--port", str(port), "--db", str(db)], port)
    try:
        before = get_json(server.url + "/api/stats")
        result = asyncio.run(load(server, kind, count, readers=(kind == "transaction")))
        after = get_json(server.url + "/api/stats")
    finally:
        server.stop()
    stored = after["envelopes"] - before["envelopes"]
    spans = after["rows"]["spans"] - before["rows"]["spans"]
    result["stored"] = stored
    result["durable"] = stored == result["ok"] and (kind != "transaction" or spans == 21 * result["ok"])
    return result


def baseline_phase(kind: str, count: int) -> dict:
    port = free_port()
    server = Server([str(ROOT / "bench" / "baseline.py"), str(port)], port)
    try:
        return asyncio.run(load(server, kind, count))
    finally:
        server.stop()


# --- trace lookups: 10,000-span trace, and 10k vs 1M spans in the file --------------


def _span_rows(trace_id: str, n: int, start: float) -> list[tuple]:
    return [
        (trace_id, f"{i + 1:016x}", None if i == 0 else f"{(i - 1) // 10 + 1:016x}", f"{1:016x}", int(i == 0), "db",
         f"span {i}", start + i * 0.001, start + i * 0.001 + 0.01, "ok", "1", "sentry.python.fastapi", "2.75.0", "python",
         "bench", "backend@2", "42", "ada@example.com", None, None, None, '{"db.system":"postgresql"}', "transaction",
         None, None, None)
        for i in range(n)
    ]


def _fill(db: Path, traces: int, spans_per_trace: int, first: int = 0) -> None:
    from collector import schema

    conn = schema.connect(str(db))
    schema.create(conn)
    cols = schema.columns("spans")
    insert = f"INSERT INTO spans ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    now = time.time()
    conn.execute("BEGIN")
    for t in range(first, first + traces):
        trace_id = f"{t:032x}"
        conn.executemany(insert, _span_rows(trace_id, spans_per_trace, now + t))
        conn.execute(
            "INSERT OR REPLACE INTO traces (trace_id, start_timestamp, end_timestamp, root_name, span_count, error_count, sdks, users, environments, releases, last_seen)"
            " VALUES (?, ?, ?, 'span 0', ?, 0, '[]', '[]', '[]', '[]', ?)",
            (trace_id, now + t, now + t + 1, spans_per_trace, now),
        )
    conn.execute("COMMIT")
    conn.close()


def lookup_phase() -> dict:
    db = Path(tempfile.mkdtemp(prefix="bench-")) / "lookup.db"
    _fill(db, 1, 10_000)                 # trace 0: 10,000 spans
    _fill(db, 1, 20, first=1)            # trace 1: the 20-span trace we time
    port = free_port()
    big, small = f"{0:032x}", f"{1:032x}"
    server = Server(["-m", "collector", "serve", "--port", str(port), "--db", str(db)], port)
    try:
        result = {
            "trace_api_10k_ms": timed_get(f"{server.url}/api/traces/{big}", 7),
            "trace_page_10k_ms": timed_get(f"{server.url}/traces/{big}", 7),
            "lookup_at_10k_spans_ms": timed_get(f"{server.url}/api/traces/{small}", 15),
        }
    finally:
        server.stop()
    _fill(db, 49_500, 20, first=2)       # grow the file to about 1,000,000 spans
    server = Server(["-m", "collector", "serve", "--port", str(port), "--db", str(db)], port)
    try:
        result["lookup_at_1m_spans_ms"] = timed_get(f"{server.url}/api/traces/{small}", 15)
        result["spans_in_file"] = get_json(server.url + "/api/stats")["rows"]["spans"]
    finally:
        server.stop()
    result["lookup_ratio"] = result["lookup_at_1m_spans_ms"] / result["lookup_at_10k_spans_ms"]
    return result


# --- report ------------------------------------------------------------------------------


def median_of(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=20_000, help="envelopes per phase (default %(default)s)")
    parser.add_argument("--runs", type=int, default=3, help="repeat the throughput phases, report medians (default %(default)s)")
    parser.add_argument("--quick", action="store_true", help="2,000 envelopes, one run, no lookup phase: a smoke test")
    parser.add_argument("--no-scaling", action="store_true", help="skip the 10k/1M-span lookup phase")
    args = parser.parse_args()
    count, runs = (2_000, 1) if args.quick else (args.count, args.runs)

    results: dict = {"count": count, "runs": runs, "clients": CLIENTS, "cpus": os.cpu_count(), "phases": {}}
    for kind in ("transaction", "error"):
        collector_runs, baseline_runs = [], []
        for i in range(runs):
            print(f"bench: {kind} run {i + 1}/{runs}: {count} envelopes, {CLIENTS} clients …", flush=True)
            collector_runs.append(durable_phase(kind, count))
            baseline_runs.append(baseline_phase(kind, count))
            c = collector_runs[-1]
            print(f"bench:   collector {c['envelopes_per_s']:.0f}/s p99 {c['p99_ms']:.1f} ms, baseline {baseline_runs[-1]['envelopes_per_s']:.0f}/s", flush=True)
        results["phases"][kind] = {
            "collector": collector_runs,
            "baseline": baseline_runs,
            "median_envelopes_per_s": median_of(collector_runs, "envelopes_per_s"),
            "median_p99_ms": median_of(collector_runs, "p99_ms"),
            "median_baseline_per_s": median_of(baseline_runs, "envelopes_per_s"),
            "ratio": median_of(collector_runs, "envelopes_per_s") / median_of(baseline_runs, "envelopes_per_s"),
            "max_rss_mb": max(r["max_rss_mb"] or 0 for r in collector_runs),
            "durable": all(r["durable"] for r in collector_runs),
            "non_200": [r["statuses"] for r in collector_runs if set(r["statuses"]) != {200}],
        }
    if not (args.quick or args.no_scaling):
        print("bench: trace lookups (10,000-span trace; 10k vs 1M spans in the file) …", flush=True)
        results["lookups"] = lookup_phase()

    tx, err = results["phases"]["transaction"], results["phases"]["error"]
    rows = [
        ("transactions ≥ 4,000 env/s", f"{tx['median_envelopes_per_s']:.0f}/s", tx["median_envelopes_per_s"] >= 4000),
        ("transactions p99 < 25 ms", f"{tx['median_p99_ms']:.1f} ms", tx["median_p99_ms"] < 25),
        ("errors ≥ 4,000 env/s", f"{err['median_envelopes_per_s']:.0f}/s", err["median_envelopes_per_s"] >= 4000),
        ("errors p99 < 25 ms", f"{err['median_p99_ms']:.1f} ms", err["median_p99_ms"] < 25),
        ("ratio to do-nothing aiohttp ≥ 0.4 (tx)", f"{tx['ratio']:.2f}", tx["ratio"] >= 0.4),
        ("ratio to do-nothing aiohttp ≥ 0.4 (err)", f"{err['ratio']:.2f}", err["ratio"] >= 0.4),
        ("every 200 durable", "yes" if tx["durable"] and err["durable"] else "NO", tx["durable"] and err["durable"]),
        ("server RSS < 200 MB", f"{max(tx['max_rss_mb'], err['max_rss_mb']):.0f} MB", max(tx["max_rss_mb"], err["max_rss_mb"]) < 200),
        ("readers p99 < 100 ms under load", f"{median_of(tx['collector'], 'reader_p99_ms'):.1f} ms", median_of(tx["collector"], "reader_p99_ms") < 100),
    ]
    if "lookups" in results:
        lk = results["lookups"]
        rows += [
            ("10k-span trace API < 300 ms", f"{lk['trace_api_10k_ms']:.0f} ms", lk["trace_api_10k_ms"] < 300),
            ("10k-span trace page < 300 ms", f"{lk['trace_page_10k_ms']:.0f} ms", lk["trace_page_10k_ms"] < 300),
            ("lookup at 1M / at 10k spans ≤ 1.5", f"{lk['lookup_ratio']:.2f} ({lk['lookup_at_1m_spans_ms']:.1f} / {lk['lookup_at_10k_spans_ms']:.1f} ms)", lk["lookup_ratio"] <= 1.5),
        ]
    results["targets"] = [{"target": t, "measured": m, "pass": p} for t, m, p in rows]
    width = max(len(t) for t, _, _ in rows)
    print()
    print(f"{'target':<{width}}  {'measured (median of ' + str(runs) + ')':<32}  result")
    for target, measured, ok in rows:
        print(f"{target:<{width}}  {measured:<32}  {'PASS' if ok else 'FAIL'}")
    print(f"\nserver CPU {median_of(tx['collector'], 'server_cpu_pct'):.0f}% / load generator CPU {median_of(tx['collector'], 'loadgen_cpu_pct'):.0f}% "
          f"(of one core) during the transaction phase; {os.cpu_count()} CPUs.")
    out = ROOT / "bench-results" / "latest.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"bench: wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

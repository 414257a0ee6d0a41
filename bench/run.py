"""`make bench`: how fast the collector ingests, measured against a
do-nothing aiohttp server in the same run, on loopback only.

Phases, each bounded by a request count and a time limit:
  1. transactions (~5.7 KB, 20 spans) and errors (~8.9 KB, 30 frames), 32
     clients, fresh ids in every envelope; the collector's CPU and memory (PSS, all its processes)
     sampled from /proc; the read API and the trace list polled meanwhile;
     then /api/stats must show every envelope answered 200 as stored;
  2. the same bodies against bench/baseline.py, for the ratio;
  3. (unless --no-scaling) trace lookups: a 10,000-span trace's API and
     page, and one 21-span trace looked up at 10k and at 1M spans in the file.

Prints the targets of issue 5 with PASS/FAIL and writes
bench-results/latest.json. Exit status 0 even when a target fails (this is
a report); 2 when the benchmark itself broke (a server died or hung).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import itertools
import json
import os
import resource
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import envelopes

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 32
PHASE_SECONDS = 60
# Past the phase's limit, requests in flight get this long before the
# server counts as hung.
GRACE_SECONDS = 30
SAMPLE_EVERY = 0.2
READ_EVERY = 0.05
READ_PATHS = ["/api/traces?limit=50", "/api/stats", "/traces"]
INGEST_PATH = "/api/1/envelope/?sentry_key=bench"
TICKS = os.sysconf("SC_CLK_TCK")


class BenchBroken(Exception):
    """The benchmark could not measure: a server died, hung or never started."""


# --- servers ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def collector_args(port: int, db: Path) -> list[str]:
    return ["-m", "collector", "serve", "--port", str(port), "--db", str(db)]


class Server:
    """A server subprocess on 127.0.0.1, its CPU and memory (with its child processes) read from /proc."""

    def __init__(self, args: list[str], port: int):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        # A file, not a pipe: a server logging a lot must not block on a
        # pipe nobody reads.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the server)
        self.proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=self._log)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise BenchBroken(f"server {args} did not start: {self.log_tail()}") from None
                time.sleep(0.05)

    def _tree(self) -> list[int]:
        """The server and its descendants (the collector's writer process):
        all of them count as the server."""
        parents: dict[int, int] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError):
                parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        tree = [self.proc.pid]
        for pid in tree:
            tree += [child for child, parent in parents.items() if parent == pid]
        return tree

    def cpu_seconds(self) -> float:
        # Fields after the command name; utime and stime are the 14th and
        # 15th of the whole line, all threads included.
        total = 0
        for pid in self._tree():
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
        return total / TICKS

    def rss_mb(self) -> float:
        # Proportional set size: pages the processes share count once across
        # them, not once each.
        total = 0
        for pid in self._tree():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        return total / 1024

    def check(self) -> None:
        if self.proc.poll() is not None:
            raise BenchBroken(
                f"server exited with status {self.proc.returncode} during the benchmark: {self.log_tail()}"
            )

    def log_tail(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-2000:]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@contextlib.contextmanager
def running_collector(db: Path):
    port = free_port()
    server = Server(collector_args(port, db), port)
    try:
        yield server
        server.check()
    finally:
        server.stop()


# --- the load generator ---------------------------------------------------------


class Connection:
    """One keep-alive HTTP/1.1 connection to 127.0.0.1, spoken by hand.

    aiohttp's client costs ~2.4x the CPU per request, and the load
    generator shares the 2 cores with the server it measures: with it the
    baseline measured the client (~10,000/s), not the server (~15,000+/s).
    """

    def __init__(self, port: int):
        self.port = port
        self._streams = None

    async def send(self, request: bytes) -> tuple[int, dict[str, str], bytes]:
        if self._streams is None:
            self._streams = await asyncio.open_connection("127.0.0.1", self.port)
        reader, writer = self._streams
        try:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status_line, *lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
            headers = {}
            for line in lines:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            if "transfer-encoding" in headers:
                raise BenchBroken(f"unexpected Transfer-Encoding {headers['transfer-encoding']} from the server")
            body = await reader.readexactly(int(headers.get("content-length", 0)))
        except BaseException:
            self.close()
            raise
        if headers.get("connection", "").lower() == "close":
            self.close()
        return int(status_line.split()[1]), headers, body

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


def ingest_requests(kind: str, count: int) -> list[bytes]:
    """`count` whole POST requests, each envelope with fresh ids, built
    before the clock starts so the timed loop only sends. The Host header
    names no port, so the same requests serve the collector and the baseline."""
    head = f"POST {INGEST_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-sentry-envelope\r\n"
    requests = []
    for _ in range(count):
        body = envelopes.fresh(kind)
        requests.append(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
    return requests


def get_request(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


def server_ms(timing: str | None) -> float | None:
    """The collector's own time for a request, from its Server-Timing header."""
    return float(timing.split("dur=")[1]) if timing and "dur=" in timing else None


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def load(
    server: Server, kind: str, count: int, readers: bool = False, requests: list[bytes] | None = None
) -> dict:
    """Posts `count` envelopes from CLIENTS connections, as fast as answered,
    for at most PHASE_SECONDS. With `readers`, one more connection polls the
    read API and the trace list every READ_EVERY seconds meanwhile."""
    if requests is None:
        requests = ingest_requests(kind, count)
    latencies: list[float] = []
    statuses: Counter = Counter()
    reads: list[tuple[str, int, float, float | None]] = []
    samples: list[tuple[float, float, float]] = []
    todo = iter(range(len(requests)))  # shared by the clients: each takes the next request
    done = asyncio.Event()
    deadline = time.monotonic() + PHASE_SECONDS

    async def client() -> None:
        conn = Connection(server.port)
        for i in todo:
            if time.monotonic() > deadline:
                break
            start = time.perf_counter()
            try:
                status, _, _ = await conn.send(requests[i])
            except (ConnectionError, asyncio.IncompleteReadError) as e:
                # Counted, and the next request reconnects; a dead server
                # fails that reconnect, which ends the phase as broken.
                statuses[type(e).__name__] += 1
                continue
            if status == 200:
                latencies.append(time.perf_counter() - start)
            statuses[status] += 1
        conn.close()

    async def sample() -> None:
        while not done.is_set():
            samples.append((time.perf_counter(), server.cpu_seconds(), server.rss_mb()))
            await asyncio.sleep(SAMPLE_EVERY)

    async def read() -> None:
        conn = Connection(server.port)
        while not done.is_set():
            for path in READ_PATHS:
                start = time.perf_counter()
                status, headers, _ = await conn.send(get_request(path))
                reads.append(
                    (path, status, (time.perf_counter() - start) * 1000, server_ms(headers.get("server-timing")))
                )
            await asyncio.sleep(READ_EVERY)
        conn.close()

    own0, cpu0, wall0 = resource.getrusage(resource.RUSAGE_SELF), server.cpu_seconds(), time.perf_counter()
    side = [asyncio.create_task(sample())] + ([asyncio.create_task(read())] if readers else [])
    try:
        await asyncio.wait_for(asyncio.gather(*(client() for _ in range(CLIENTS))), PHASE_SECONDS + GRACE_SECONDS)
        wall, cpu = time.perf_counter() - wall0, server.cpu_seconds() - cpu0
        own = resource.getrusage(resource.RUSAGE_SELF)
        rss = [server.rss_mb()] + [s[2] for s in samples]
        done.set()
        await asyncio.gather(*side)
    except TimeoutError:
        raise BenchBroken(f"requests still unanswered {GRACE_SECONDS}s after the phase's {PHASE_SECONDS}s") from None
    except (OSError, asyncio.IncompleteReadError) as e:
        raise BenchBroken(f"lost the server: {e!r}") from None
    finally:
        done.set()
    peaks = [(b[1] - a[1]) / (b[0] - a[0]) * 100 for a, b in itertools.pairwise(samples)]
    ok = statuses.get(200, 0)
    read_ms = [r[2] for r in reads]
    return {
        "kind": kind,
        "sent": sum(statuses.values()),
        "ok": ok,
        "statuses": {str(k): v for k, v in sorted(statuses.items(), key=str)},
        "capped_by_time": sum(statuses.values()) < len(requests),
        "seconds": wall,
        "envelopes_per_s": ok / wall,
        "p50_ms": pct(latencies, 0.50) * 1000 if latencies else None,
        "p99_ms": pct(latencies, 0.99) * 1000 if latencies else None,
        "server_cpu_pct": 100 * cpu / wall,
        "server_cpu_peak_pct": max(peaks, default=None),
        "max_rss_mb": max(rss),
        "loadgen_cpu_pct": 100 * (own.ru_utime + own.ru_stime - own0.ru_utime - own0.ru_stime) / wall,
        "reader_requests": len(reads),
        "reader_statuses": dict(collections.Counter(r[1] for r in reads)),
        "reader_non_200": sum(1 for r in reads if r[1] != 200),
        "reader_p99_ms": pct(read_ms, 0.99),
        "reader_p99_ms_by_path": {p: pct([r[2] for r in reads if r[0] == p], 0.99) for p in READ_PATHS}
        if readers
        else None,
        "reader_server_p99_ms": pct([r[3] for r in reads if r[3] is not None], 0.99),
    }


# --- throughput phases --------------------------------------------------------------


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=120) as r:
        return json.loads(r.read())


def stored(stats: dict) -> dict:
    return {"envelopes": stats["envelopes"], **{t: stats["rows"][t] for t in ("spans", "transactions", "events")}}


def durable_phase(kind: str, requests: list[bytes]) -> dict:
    """The collector on a new file; then every 200 must be in /api/stats."""
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, running_collector(Path(tmp) / "bench.db") as server:
        before = stored(get_json(server.url + "/api/stats"))
        result = asyncio.run(load(server, kind, len(requests), readers=kind == "transaction", requests=requests))
        server.check()
        stats = get_json(server.url + "/api/stats")
        after = stored(stats)
    ok, tx = result["ok"], kind == "transaction"
    result["stored"] = {t: after[t] - before[t] for t in after}
    # The envelopes table is append-only, and every id is fresh: each 200 is
    # exactly one more row there, and 21 spans and a transaction, or an event.
    result["expected"] = {
        "envelopes": ok,
        "spans": 21 * ok if tx else 0,
        "transactions": ok if tx else 0,
        "events": 0 if tx else ok,
    }
    result["durable"] = result["stored"] == result["expected"]
    result["rejections"] = stats["rejections"]
    result["write_queue"] = stats["write_queue"]
    return result


def baseline_phase(kind: str, requests: list[bytes]) -> dict:
    port = free_port()
    server = Server([str(ROOT / "bench" / "baseline.py"), str(port)], port)
    try:
        result = asyncio.run(load(server, kind, len(requests), requests=requests))
        server.check()
        return result
    finally:
        server.stop()


# --- trace lookups at 10k and 1M spans -------------------------------------------------


def post(server: Server, body: bytes) -> None:
    request = urllib.request.Request(
        server.url + INGEST_PATH, data=body, headers={"Content-Type": "application/x-sentry-envelope"}
    )
    with urllib.request.urlopen(request, timeout=120) as r:
        r.read()


def timed_get(server: Server, path: str, runs: int) -> dict:
    """Medians of the server's own time (Server-Timing) and of the whole
    request, after two untimed requests that warm caches and reader threads."""
    server_times, walls = [], []
    for i in range(runs + 2):
        start = time.perf_counter()
        with urllib.request.urlopen(server.url + path, timeout=120) as r:
            r.read()
            if i >= 2:
                walls.append((time.perf_counter() - start) * 1000)
                server_times.append(server_ms(r.headers["Server-Timing"]))
    return {"server_ms": statistics.median(server_times), "wall_ms": statistics.median(walls), "runs": runs}


def grow(db: Path, template_trace: str, total_spans: int) -> None:
    """Copies one stored 21-span trace, rows as the collector wrote them,
    under random ids (as real ids are, so the indexes grow as they would)
    until the file holds `total_spans` spans. Direct inserts: posting a
    million spans would take the collector many minutes."""
    from collector.storage import schema

    conn = schema.connect(str(db))
    conn.row_factory = sqlite3.Row
    span_cols, trace_cols = schema.columns("spans"), schema.columns("traces")
    spans = [dict(r) for r in conn.execute("SELECT * FROM spans WHERE trace_id = ?", (template_trace,))]
    summary = dict(conn.execute("SELECT * FROM traces WHERE trace_id = ?", (template_trace,)).fetchone())
    copies = (total_spans - conn.execute("SELECT count(*) FROM spans").fetchone()[0]) // len(spans)
    insert_span = f"INSERT INTO spans ({', '.join(span_cols)}) VALUES ({', '.join('?' * len(span_cols))})"
    insert_trace = f"INSERT INTO traces ({', '.join(trace_cols)}) VALUES ({', '.join('?' * len(trace_cols))})"

    def copy(n: int) -> tuple[list[tuple], tuple]:
        ids = os.urandom(22).hex()
        trace_id, prefix = ids[:32], ids[32:]
        shift = -(n + 1) * 0.05  # older than the template, which stays the newest trace

        def respan(span_id: str | None) -> str | None:
            # envelopes.fresh's span ids: 12 random hex digits, then the index.
            return span_id and prefix + span_id[12:]

        rows = []
        for s in spans:
            row = {
                **s,
                "trace_id": trace_id,
                "span_id": respan(s["span_id"]),
                "parent_span_id": respan(s["parent_span_id"]),
                "segment_id": respan(s["segment_id"]),
                "start_timestamp": s["start_timestamp"] + shift,
                "timestamp": s["timestamp"] + shift,
            }
            rows.append(tuple(row[c] for c in span_cols))
        t = {
            **summary,
            "trace_id": trace_id,
            "start_timestamp": summary["start_timestamp"] + shift,
            "end_timestamp": summary["end_timestamp"] + shift,
            "root_start_timestamp": summary["root_start_timestamp"] + shift,
        }
        return rows, tuple(t[c] for c in trace_cols)

    for first in range(0, copies, 5_000):  # one transaction per ~100,000 spans
        made = [copy(n) for n in range(first, min(copies, first + 5_000))]
        conn.execute("BEGIN")
        conn.executemany(insert_span, (row for rows, _ in made for row in rows))
        conn.executemany(insert_trace, (t for _, t in made))
        conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def scaling_phase(grow_to: int) -> dict:
    big, small = os.urandom(16).hex(), os.urandom(16).hex()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        db = Path(tmp) / "lookup.db"
        with running_collector(db) as server:
            # The 10,000-span trace as JS SDK v11 streams it, through ingest.
            for body in envelopes.span_stream(big, 10_000):
                post(server, body)
            post(server, envelopes.fresh("transaction", trace_id=small))
            result = {
                "spans_small": get_json(server.url + "/api/stats")["rows"]["spans"],
                "trace_api_10k_spans": timed_get(server, f"/api/traces/{big}", 7),
                "trace_page_10k_spans": timed_get(server, f"/traces/{big}", 7),
                "lookup_small": timed_get(server, f"/api/traces/{small}", 31),
            }
        started = time.perf_counter()
        grow(db, small, grow_to)
        result["grow_seconds"] = time.perf_counter() - started
        with running_collector(db) as server:
            result["spans_large"] = get_json(server.url + "/api/stats")["rows"]["spans"]
            result["lookup_large"] = timed_get(server, f"/api/traces/{small}", 31)
    # Lookups take well under a millisecond, so Server-Timing carries 0.01 ms
    # steps. The whole-request ratio, with the client's share, is kept beside it.
    result["lookup_ratio"] = result["lookup_large"]["server_ms"] / result["lookup_small"]["server_ms"]
    result["lookup_ratio_wall"] = result["lookup_large"]["wall_ms"] / result["lookup_small"]["wall_ms"]
    return result


# --- report -------------------------------------------------------------------------


def summarize(collector_runs: list[dict], baseline_runs: list[dict]) -> dict:
    def median(runs: list[dict], key: str) -> float | None:
        values = [r[key] for r in runs if r[key] is not None]
        return statistics.median(values) if values else None

    non_200: Counter = Counter()
    for r in collector_runs:
        non_200.update({k: v for k, v in r["statuses"].items() if k != "200"})
    return {
        "envelopes_per_s": median(collector_runs, "envelopes_per_s"),
        "p50_ms": median(collector_runs, "p50_ms"),
        "p99_ms": median(collector_runs, "p99_ms"),
        "baseline_per_s": median(baseline_runs, "envelopes_per_s"),
        "baseline_p99_ms": median(baseline_runs, "p99_ms"),
        # Each run's collector against the baseline measured right after it,
        # on the same bodies: the machine's noise hits both alike.
        "ratio": statistics.median(
            c["envelopes_per_s"] / b["envelopes_per_s"] for c, b in zip(collector_runs, baseline_runs, strict=True)
        ),
        "server_cpu_pct": median(collector_runs, "server_cpu_pct"),
        "loadgen_cpu_pct": median(collector_runs, "loadgen_cpu_pct"),
        "baseline_server_cpu_pct": median(baseline_runs, "server_cpu_pct"),
        "baseline_loadgen_cpu_pct": median(baseline_runs, "loadgen_cpu_pct"),
        "max_rss_mb": max(r["max_rss_mb"] for r in collector_runs),
        "durable": all(r["durable"] for r in collector_runs),
        "non_200": dict(non_200),
        "reader_p99_ms": median(collector_runs, "reader_p99_ms"),
        "reader_server_p99_ms": median(collector_runs, "reader_server_p99_ms"),
    }


def targets(results: dict) -> list[tuple[str, str, bool]]:
    tx, err = results["summary"]["transaction"], results["summary"]["error"]
    rss = max(tx["max_rss_mb"], err["max_rss_mb"])
    readers = tx["reader_p99_ms"] or float("inf")
    rows = []
    for name, s in (("transactions", tx), ("errors", err)):
        p99 = s["p99_ms"] if s["p99_ms"] is not None else float("inf")
        rows += [
            (f"{name} ≥ 4,000 envelopes/s", f"{s['envelopes_per_s']:,.0f}/s", s["envelopes_per_s"] >= 4000),
            (f"{name} p99 < 25 ms", f"{p99:.1f} ms (p50 {s['p50_ms'] or 0:.1f})", p99 < 25),
            (
                f"{name}: ratio to do-nothing aiohttp ≥ 0.4",
                f"{s['ratio']:.2f} (baseline {s['baseline_per_s']:,.0f}/s)",
                s["ratio"] >= 0.4,
            ),
        ]
    rows += [
        ("every 200 durable", "yes" if tx["durable"] and err["durable"] else "NO", tx["durable"] and err["durable"]),
        ("server memory < 200 MB (PSS, all processes)", f"{rss:.0f} MB", rss < 200),
        (
            "readers p99 < 100 ms under tx load",
            f"{readers:.1f} ms (server {tx['reader_server_p99_ms'] or 0:.1f})",
            readers < 100,
        ),
    ]
    if "scaling" in results:
        sc = results["scaling"]
        api, page = sc["trace_api_10k_spans"]["server_ms"], sc["trace_page_10k_spans"]["server_ms"]
        small, large = sc["lookup_small"]["server_ms"], sc["lookup_large"]["server_ms"]
        rows += [
            ("10k-span trace: API server time < 300 ms", f"{api:.0f} ms", api < 300),
            ("10k-span trace: page server time < 300 ms", f"{page:.0f} ms", page < 300),
            (
                f"lookup at {sc['spans_large']:,} / {sc['spans_small']:,} spans ≤ 1.5",
                f"{sc['lookup_ratio']:.2f} ({large:.2f} / {small:.2f} ms)",
                sc["lookup_ratio"] <= 1.5,
            ),
        ]
    return rows


def print_report(results: dict, rows: list[tuple[str, str, bool]]) -> None:
    runs = results["runs"]
    width = max(len(t) for t, _, _ in rows)
    print(f"\n{'target':<{width}}  {f'measured (median of {runs})' if runs > 1 else 'measured':<36}  result")
    for target, measured, ok in rows:
        print(f"{target:<{width}}  {measured:<36}  {'PASS' if ok else 'FAIL'}")
    print()
    for kind, s in results["summary"].items():
        print(
            f"{kind}: server CPU {s['server_cpu_pct']:.0f}%, load generator CPU {s['loadgen_cpu_pct']:.0f}% (100% = "
            "one core); "
            f"baseline: server {s['baseline_server_cpu_pct']:.0f}%, load generator {s['baseline_loadgen_cpu_pct']:.0f}%"
            + (f"; non-200 answers: {s['non_200']}" if s["non_200"] else "")
        )
    print(f"{os.cpu_count()} CPUs; envelope sizes {results['envelope_bytes']} bytes")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=20_000, help="envelopes per phase (default %(default)s)")
    parser.add_argument(
        "--runs", type=int, default=3, help="repeat the throughput phases, report medians (default %(default)s)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke test: 2,000 envelopes, one run, lookups at 100k spans instead of 1M"
    )
    parser.add_argument("--no-scaling", action="store_true", help="skip the trace lookup phase")
    args = parser.parse_args()
    count, runs, grow_to = (2_000, 1, 100_000) if args.quick else (args.count, args.runs, 1_000_000)

    results: dict = {
        "count": count,
        "runs": runs,
        "clients": CLIENTS,
        "phase_seconds": PHASE_SECONDS,
        "cpus": os.cpu_count(),
        "envelope_bytes": {k: len(v) for k, v in envelopes.TEMPLATES.items()},
        "collector": {"transaction": [], "error": []},
        "baseline": {"transaction": [], "error": []},
    }
    started = time.monotonic()
    try:
        for run in range(runs):
            for kind in ("transaction", "error"):
                requests = ingest_requests(kind, count)
                c = durable_phase(kind, requests)
                b = baseline_phase(kind, requests)
                results["collector"][kind].append(c)
                results["baseline"][kind].append(b)
                print(
                    f"bench: run {run + 1}/{runs} {kind}: collector {c['envelopes_per_s']:,.0f}/s p99 "
                    f"{c['p99_ms'] or 0:.1f} ms "
                    f"{'durable' if c['durable'] else 'NOT DURABLE'}; baseline {b['envelopes_per_s']:,.0f}/s",
                    flush=True,
                )
        results["summary"] = {
            k: summarize(results["collector"][k], results["baseline"][k]) for k in ("transaction", "error")
        }
        if not args.no_scaling:
            print(
                f"bench: trace lookups (10,000-span trace; 21-span trace at ~10k and {grow_to:,} spans) …", flush=True
            )
            results["scaling"] = scaling_phase(grow_to)
    except BenchBroken as e:
        print(f"bench: BROKEN: {e}", file=sys.stderr)
        return 2
    results["seconds"] = time.monotonic() - started
    rows = targets(results)
    results["targets"] = [{"target": t, "measured": m, "pass": p} for t, m, p in rows]
    print_report(results, rows)
    out = ROOT / "bench-results" / "latest.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"bench: {results['seconds']:.0f}s; wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

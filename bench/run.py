"""`make bench`: how fast the collector ingests, against a do-nothing aiohttp
server in the same run, on loopback only; `make bench-peers` adds Spotlight's
sidecar to every closed-loop run.

Phases, each bounded in time:
  1. closed loop (wrk, 2 threads, 32 keep-alive connections, no think time,
     fresh ids in every envelope): transactions (~5.7 KB, 20 spans) and
     errors (~8.9 KB, 30 frames), the collector on a new file, then the
     do-nothing server (then Spotlight) on the same bodies, alternating, for
     --runs runs; the read API polled meanwhile; every 200 must be stored
     (/api/stats) and the newest traces give back all their spans;
  2. open loop at 70% of the collector's closed-loop median, latency from
     each envelope's due time; 250 ms windows to bench-results/;
  3. (unless --no-scaling) the 10,000-span trace (API, page, Chromium) and
     one 21-span trace looked up at 10k and at 1M spans;
  4. (bench/extras.py) --workers, live clients, forwarding.

Prints the targets with PASS/FAIL and writes bench-results/latest.json. Exit
status 0 even when a target fails (this is a report); 2 when the benchmark
itself broke (a server died or hung, wrk is missing).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import envelopes
import extras
import lookups
import peers
import phases
import report
import wrkload

# What bench/attacks.py, bench/cpu.py, bench/retention.py and the readers
# test take from here.
from lookups import post, server_ms
from pyload import Connection, ingest_requests, load, pct
from servers import INGEST_PATH, ROOT, TICKS, BenchBroken, Server, collector_args, free_port, running_collector

__all__ = [
    "INGEST_PATH", "TICKS", "Connection", "Server", "collector_args", "free_port", "ingest_requests", "load", "pct",
    "post", "running_collector", "server_ms",
]  # fmt: skip

OPEN_LOOP_SHARE = 0.7


def closed_loop(results: dict, args: argparse.Namespace) -> None:
    servers = ["collector", "baseline"] + (["spotlight"] if args.peers else [])
    run_one = {"collector": phases.collector_closed, "baseline": phases.baseline_closed}
    run_one["spotlight"] = phases.spotlight_closed
    for run in range(args.runs):
        for kind in ("transaction", "error"):
            line = []
            for server in servers:
                r = run_one[server](kind, args.seconds)
                results["closed"][kind].setdefault(server, []).append(r)
                line.append(f"{server} {r['envelopes_per_s']:,.0f}/s p99 {r['p99_ms']:.1f} ms")
            durable = results["closed"][kind]["collector"][-1]["durable"]
            print(
                f"bench: run {run + 1}/{args.runs} {kind}: {'; '.join(line)}{'' if durable else ' — NOT DURABLE'}",
                flush=True,
            )
    results["summary"] = {kind: report.summarize(results["closed"][kind]) for kind in ("transaction", "error")}


def open_loop(results: dict, args: argparse.Namespace) -> None:
    results["open_loop"] = {}
    for kind in ("transaction", "error"):
        rate = OPEN_LOOP_SHARE * results["summary"][kind]["collector"]["envelopes_per_s"]
        o = phases.open_loop(kind, rate, args.open_seconds)
        results["open_loop"][kind] = o
        print(f"bench: open loop {kind} at {rate:,.0f}/s: p99 {report.fmt_ms(o['p99_ms'])}", flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10, help="each closed-loop run (default %(default)s)")
    parser.add_argument("--runs", type=int, default=3, help="closed-loop runs, medians reported (default %(default)s)")
    parser.add_argument("--open-seconds", type=float, default=10, help="each open-loop run (default %(default)s)")
    parser.add_argument("--quick", action="store_true", help="smoke test: seconds, one run, lookups at 100k spans")
    parser.add_argument("--no-scaling", action="store_true", help="skip the trace lookup phase")
    parser.add_argument("--peers", action="store_true", help="also Spotlight's sidecar (bench/peers, needs npm)")
    extras.add_arguments(parser)
    args = parser.parse_args()
    args.grow_to = 1_000_000
    if args.quick:
        args.seconds, args.runs, args.open_seconds, args.grow_to = 2, 1, 2, 100_000
    return args


def main() -> int:
    args = parse_args()
    if args.peers and (why := peers.missing()):
        print(f"bench: {why}")
        args.peers = False
    elif args.peers:
        peers.install()
    if not wrkload.available():
        print("bench: BROKEN: wrk is missing: run 'make bench-deps' (Debian's wrk)", file=sys.stderr)
        return 2
    results: dict = {
        "runs": args.runs,
        "seconds_per_run": args.seconds,
        "clients": f"wrk, {wrkload.THREADS} threads, {wrkload.CONNECTIONS} connections",
        "cpus": os.cpu_count(),
        "envelope_bytes": {k: len(v) for k, v in envelopes.TEMPLATES.items()},
        "closed": {"transaction": {}, "error": {}},
    }
    started = time.monotonic()
    try:
        closed_loop(results, args)
        open_loop(results, args)
        if not args.no_scaling:
            print(f"bench: trace lookups (10,000-span trace; 21-span trace at ~10k and {args.grow_to:,} spans) …")
            results["scaling"] = lookups.scaling_phase(args.grow_to)
        extras.run(results, args)
    except BenchBroken as e:
        print(f"bench: BROKEN: {e}", file=sys.stderr)
        return 2
    results["seconds"] = time.monotonic() - started
    rows = report.targets(results)
    results["targets"] = [{"target": t, "measured": m, "pass": p} for t, m, p in rows]
    report.print_targets(results, rows)
    extras.print_report(results)
    out = ROOT / "bench-results" / ("peers.json" if args.peers else "latest.json")
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"bench: {results['seconds']:.0f}s; wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

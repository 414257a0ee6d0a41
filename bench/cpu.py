"""CPU time per envelope, server and writer process apart: the figure that
stays put on a shared machine, where throughput does not.

Starts a collector, warms it up, then posts `--count` fresh-id envelopes of
each kind from 32 clients and reads, before and after, the user+sys time
of the server process and of its writer process from /proc. Prints µs per
envelope for each, per kind, as the median of `--runs` runs (a fresh
database each run). `--profile` runs the server under cProfile instead and
prints its top functions (the CPU figures then include the profiler).

    .venv/bin/python bench/cpu.py --count 5000 --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import run

KINDS = ("transaction", "error")
WARMUP = 500


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / run.TICKS


def _split(server: run.Server) -> tuple[float, float]:
    """Seconds of CPU of the server process, and of its children (the writer)."""
    tree = server._tree()
    children = 0.0
    for pid in tree[1:]:
        with contextlib.suppress(OSError):
            children += _cpu(pid)
    return _cpu(tree[0]), children


def _one_run(kind: str, count: int, args: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        port = run.free_port()
        server = run.Server([*args, "--port", str(port), "--db", str(Path(tmp) / "bench.db")], port)
        try:
            asyncio.run(run.load(server, kind, WARMUP))
            requests = run.ingest_requests(kind, count)
            before = _split(server)
            result = asyncio.run(run.load(server, kind, count, requests=requests))
            after = _split(server)
            server.check()
        finally:
            server.stop()
    return {
        "server_us": (after[0] - before[0]) / count * 1e6,
        "writer_us": (after[1] - before[1]) / count * 1e6,
        "ok": result["ok"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--kind", choices=KINDS, action="append")
    parser.add_argument("--profile", metavar="FILE", help="run the server under cProfile, writing FILE")
    parser.add_argument("serve_args", nargs="*", help="more arguments for collector serve")
    options = parser.parse_args()
    args = ["-m", "collector", "serve", *options.serve_args]
    if options.profile:
        args = ["-m", "cProfile", "-o", options.profile, *args]
    for kind in options.kind or KINDS:
        runs = [_one_run(kind, options.count, args) for _ in range(options.runs)]
        server = statistics.median(r["server_us"] for r in runs)
        writer = statistics.median(r["writer_us"] for r in runs)
        each = ", ".join(f"{r['server_us']:.0f}/{r['writer_us']:.0f} ({r['ok']} ok)" for r in runs)
        print(f"{kind:12} server {server:6.0f} µs  writer {writer:6.0f} µs per envelope  (runs: {each})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

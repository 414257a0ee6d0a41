"""`make bench-retention`: what `--max-db-size` costs ingest, and whether
the bound holds under `make bench`'s transaction load.

Runs bench/run.py's transaction phase (32 clients, fresh ids) against a
collector on a new file, alternately without and with `--max-db-size`
(a bound the load fills several times over), and reports the medians of
throughput and p99, their ratios, and the largest size the file used
(pages less free pages, sampled every 0.1 s) and reached on disk.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import run as bench


def used_bytes(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        pages, free, size = (
            conn.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_count", "freelist_count", "page_size")
        )
    return (pages - free) * size


class Peak:
    """The largest used size and file size of a database, sampled on a thread."""

    def __init__(self, db: Path):
        self.db, self.used, self.size = db, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            with contextlib.suppress(sqlite3.Error, OSError):
                self.used = max(self.used, used_bytes(self.db))
                self.size = max(self.size, os.path.getsize(self.db))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def phase(requests: list[bytes], extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-retention-") as tmp:
        db = Path(tmp) / "bench.db"
        port = bench.free_port()
        server = bench.Server([*bench.collector_args(port, db), *extra], port)
        try:
            peak = Peak(db)
            result = asyncio.run(bench.load(server, "transaction", len(requests), requests=requests))
            peak.stop()
            server.check()
            final = used_bytes(db)
        finally:
            server.stop()
    return {
        "envelopes_per_s": result["envelopes_per_s"],
        "p99_ms": result["p99_ms"],
        "not_ok": result["sent"] - result["ok"],
        "peak_used_mb": peak.used / 1e6,
        "peak_file_mb": peak.size / 1e6,
        "final_used_mb": final / 1e6,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=20_000, help="envelopes per phase (default %(default)s)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each, medians reported (default %(default)s)")
    parser.add_argument(
        "--max-db-size", default="40MB", help="the bound of the runs with retention (default %(default)s)"
    )
    args = parser.parse_args()
    requests = bench.ingest_requests("transaction", args.count)
    runs: dict[str, list[dict]] = {"without": [], "with": []}
    for n in range(args.runs):
        for mode, extra in (("without", []), ("with", ["--max-db-size", args.max_db_size])):
            r = phase(requests, extra)
            runs[mode].append(r)
            print(
                f"bench-retention: run {n + 1}/{args.runs} {mode} --max-db-size: {r['envelopes_per_s']:,.0f}/s "
                f"p99 {r['p99_ms']:.1f} ms, used at most {r['peak_used_mb']:.1f} MB "
                f"(file {r['peak_file_mb']:.1f} MB), {r['final_used_mb']:.1f} MB at the end"
                + (f"; {r['not_ok']} answers not 200" if r["not_ok"] else ""),
                flush=True,
            )
    med = {m: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for m, rs in runs.items()}
    print(
        f"bench-retention: medians of {args.runs}: without {med['without']['envelopes_per_s']:,.0f}/s p99 "
        f"{med['without']['p99_ms']:.1f} ms; with --max-db-size {args.max_db_size} "
        f"{med['with']['envelopes_per_s']:,.0f}/s p99 {med['with']['p99_ms']:.1f} ms; "
        f"throughput ratio {med['with']['envelopes_per_s'] / med['without']['envelopes_per_s']:.2f}, "
        f"p99 ratio {med['with']['p99_ms'] / med['without']['p99_ms']:.2f}; "
        f"largest used size with the bound {max(r['peak_used_mb'] for r in runs['with']):.1f} MB, "
        f"without {med['without']['peak_used_mb']:.1f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

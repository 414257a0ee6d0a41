"""The writer process's commits, alone: CPU, WAL bytes and commit times per
envelope, robust to a busy machine (CPU time, not throughput).

Packets are made before the clock starts, the way a server with `--workers`
makes them (parse, normalize, `Batch.packet`, pickled and unpickled as on the
socket; with one server the writer process makes them itself, before each
group, which this leaves out); then a `Store` commits them in groups, as the
writer process does.

    python bench/writer.py [--envelopes 5000] [--group 32] [--runs 3]
    python bench/writer.py --pages [--group 2]

Prints, per kind, medians over the runs: writer CPU µs per envelope (the
commit thread plus the checkpoint thread), WAL bytes per envelope (with
checkpoints off, so the log is never reset under the count), and commit
times (p50, p99, max) of each group.

With --paced, it also feeds the same packets at --paced times the rate it just
reached (an open loop: a packet is due at its time whatever the store is
doing, and waits for the commit after the one running) and prints each
envelope's latency from its due time (p50, p99, max) and the share of the
run the store spent in its longest stalls. A commit that stalls 300 ms
delays every envelope due meanwhile, which the commit-time p99 (one sample
per group) hides.

With --pages, it counts instead which pages one commit writes to the WAL, by
the table or index that owns them (SQLite's dbstat), after --envelopes
envelopes committed in such groups: what each index costs the log.
"""

from __future__ import annotations

import argparse
import os
import pickle
import resource
import sqlite3
import statistics
import struct
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import envelopes
from collector.ingest.batches import build
from collector.ingest.endpoints import _parse_limited
from collector.storage import store as store_module
from collector.storage.store import Store


def packets(kind: str, n: int) -> list:
    made = []
    for _ in range(n):
        body = envelopes.fresh(kind)
        batch = build(_parse_limited(body), body, "", "bench", "1", "127.0.0.1", None)
        batch.stamp(time.time(), "envelope")
        made.append(pickle.loads(pickle.dumps(batch.packet(), protocol=pickle.HIGHEST_PROTOCOL)))
    return made


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class _NoCheckpoints:
    def __init__(self, *args, **kwargs):
        pass

    def close(self):
        pass


def _store(path: str, checkpoints: bool) -> Store:
    """A Store, without its checkpoint thread unless `checkpoints`: then the
    WAL is never reset, and holds every page the commits wrote."""
    real = store_module.Checkpointer
    if not checkpoints:
        store_module.Checkpointer = _NoCheckpoints
    try:
        return Store(path)
    finally:
        store_module.Checkpointer = real


def run(kind: str, made: list, group: int, checkpoints: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.db")
        store = _store(path, checkpoints)
        times = []
        cpu = _cpu()
        began = time.perf_counter()
        for i in range(0, len(made), group):
            started = time.perf_counter()
            answer = store.commit(made[i : i + group])
            times.append(time.perf_counter() - started)
            assert not any(answer.errors), answer.errors
        cpu = _cpu() - cpu
        wall = time.perf_counter() - began
        wal = os.path.getsize(path + "-wal")
        store.close()
        size = os.path.getsize(path)
    times.sort()
    return {
        "cpu_us": cpu / len(made) * 1e6,
        "wal_bytes": wal / len(made),
        "db_bytes": size / len(made),
        "p50_ms": times[len(times) // 2] * 1e3,
        "p99_ms": times[int(len(times) * 0.99)] * 1e3,
        "max_ms": times[-1] * 1e3,
        "wall_s": wall,
    }


def pages(made: list, group: int, commits: int) -> tuple[float, Counter]:
    """Pages a commit of `group` packets writes to the WAL, on average, by owner;
    after all but the last `commits` groups of `made` are stored."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.db")
        store = _store(path, checkpoints=False)
        warm = len(made) - commits * group
        for i in range(0, warm, group):
            store.commit(made[i : i + group])
        # Between commits the store's connection is idle: this one can empty the WAL.
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        owners = {page: name for name, page in db.execute("SELECT name, pageno FROM dbstat")}
        written: Counter = Counter()
        for i in range(warm, len(made), group):
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            store.commit(made[i : i + group])
            written.update(owners.get(page, "(pages new since)") for page in _wal_pages(path + "-wal"))
        db.close()
        store.close()
    return sum(written.values()) / commits, Counter({name: n / commits for name, n in written.items()})


def _wal_pages(path: str) -> list[int]:
    """The page number of each frame in a WAL file: a 32-byte header holding
    the page size, then frames of a 24-byte header (page number first) and a page."""
    data = Path(path).read_bytes()
    size = struct.unpack(">I", data[8:12])[0]
    return [struct.unpack(">I", data[at : at + 4])[0] for at in range(32, len(data) - 23, 24 + size)]


# The writer process's cap on one group.
MAX_GROUP = 512


def paced(made: list, rate: float) -> dict:
    """Envelopes due at `rate` per second; each commit takes every envelope
    due by then (up to the writer process's MAX_GROUP), as the writer
    process takes every packet waiting in its socket."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.db")
        store = Store(path)
        latencies, stalls = [], []
        start = time.perf_counter()
        done = 0
        while done < len(made):
            now = time.perf_counter()
            due = min(len(made), int((now - start) * rate) + 1, done + MAX_GROUP)
            if due <= done:
                time.sleep(start + done / rate - now)
                continue
            answer = store.commit(made[done:due])
            ended = time.perf_counter()
            assert not any(answer.errors), answer.errors
            latencies += [ended - start - i / rate for i in range(done, due)]
            stalls.append(ended - now)
            done = due
        wall = time.perf_counter() - start
        store.close()
    latencies.sort()
    return {
        "p50_ms": latencies[len(latencies) // 2] * 1e3,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1e3,
        "max_ms": latencies[-1] * 1e3,
        # How much of the run went to commits over 50 ms: the stalls.
        "stalled_pct": 100 * sum(s for s in stalls if s > 0.05) / wall,
        # Small groups write many more WAL bytes per envelope (each commit
        # rewrites its index and counter pages whole).
        "group": len(made) / len(stalls),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--envelopes", type=int, default=5000)
    parser.add_argument("--group", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--kinds", default="transaction,error")
    parser.add_argument(
        "--paced", type=float, default=0, help="e.g. 0.7: also an open loop at 70%% of the rate reached"
    )
    parser.add_argument("--pages", action="store_true", help="which pages a commit writes to the WAL, by owner")
    args = parser.parse_args()
    for kind in args.kinds.split(","):
        if args.pages:
            per_commit, owners = pages(packets(kind, args.envelopes + 10 * args.group), args.group, 10)
            each = per_commit / args.group
            print(f"{kind}: a commit of {args.group} writes {per_commit:.1f} pages to the WAL ({each:.1f} an envelope)")
            for name, n in owners.most_common():
                print(f"  {n:6.1f}  {name}")
            continue
        made = packets(kind, args.envelopes)
        timed = [run(kind, made, args.group, checkpoints=True) for _ in range(args.runs)]
        logged = [run(kind, made, args.group, checkpoints=False) for _ in range(args.runs)]
        med = {key: statistics.median(r[key] for r in timed) for key in timed[0]}
        wal = statistics.median(r["wal_bytes"] for r in logged)
        print(
            f"{kind:12} writer CPU {med['cpu_us']:6.0f} µs/envelope  WAL {wal:7.0f} B/envelope"
            f"  file {med['db_bytes']:6.0f} B/envelope  commit p50 {med['p50_ms']:.1f} ms"
            f" p99 {med['p99_ms']:.1f} ms max {med['max_ms']:.1f} ms  ({args.envelopes} envelopes, groups of "
            f"{args.group}, medians of {args.runs})"
        )
        if args.paced:
            rate = args.paced * args.envelopes / statistics.median(r["wall_s"] for r in timed)
            loops = [paced(made, rate) for _ in range(args.runs)]
            med = {key: statistics.median(r[key] for r in loops) for key in loops[0]}
            print(
                f"{kind:12} paced at {rate:.0f}/s: latency from due time p50 {med['p50_ms']:.1f} ms"
                f" p99 {med['p99_ms']:.1f} ms max {med['max_ms']:.1f} ms, stalled {med['stalled_pct']:.1f}% of the run"
                f" (commits over 50 ms), {med['group']:.1f} envelopes a commit"
            )


if __name__ == "__main__":
    main()

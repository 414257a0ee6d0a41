"""The writer process's share of ingest, alone: CPU, WAL bytes and commit
times per envelope, robust to a busy machine (CPU time, not throughput).

Packets are made before the clock starts, the way the server makes them
(parse, normalize, `Batch.packet`, pickled and unpickled as on the socket);
then a `Store` commits them in groups, as the writer process does.

    python bench/writer.py [--envelopes 5000] [--group 32] [--runs 3]

Prints, per kind, medians over the runs: writer CPU µs per envelope (the
commit thread plus the checkpoint thread), WAL bytes per envelope (with
checkpoints off, so the log is never reset under the count), and commit
times (p50, p99, max) of each group.
"""

from __future__ import annotations

import argparse
import os
import pickle
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import envelopes
from collector.ingest.endpoints import Ingest, _parse_limited
from collector.storage import store as store_module
from collector.storage.store import Store


def packets(kind: str, n: int) -> list:
    ingest = Ingest(writer=None, stats={})
    made = []
    for _ in range(n):
        body = envelopes.fresh(kind)
        batch = ingest._build(_parse_limited(body), body, "", "bench", "1", "127.0.0.1", None)
        batch.envelope.update(received_at=time.time(), endpoint="envelope")
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


def run(kind: str, made: list, group: int, checkpoints: bool) -> dict:
    real = store_module.Checkpointer
    if not checkpoints:
        store_module.Checkpointer = _NoCheckpoints
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.db")
        try:
            store = Store(path)
        finally:
            store_module.Checkpointer = real
        times = []
        cpu = _cpu()
        for i in range(0, len(made), group):
            started = time.perf_counter()
            answer = store.commit(made[i : i + group])
            times.append(time.perf_counter() - started)
            assert not any(answer.errors), answer.errors
        cpu = _cpu() - cpu
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
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--envelopes", type=int, default=5000)
    parser.add_argument("--group", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--kinds", default="transaction,error")
    args = parser.parse_args()
    for kind in args.kinds.split(","):
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


if __name__ == "__main__":
    main()

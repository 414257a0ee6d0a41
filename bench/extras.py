"""Measurements other issues need from `make bench`, each a phase of its own:

- --workers 1,2,…: the closed transaction loop against `collector serve
  --workers N`, a scaling curve (skipped when serve has no such option);
- --live 0,10,50: that many `/api/live` clients reading everything while
  ingest runs at full speed: throughput and p99 against 0 clients, and
  whether every client got an entry for every stored envelope;
- --forward: a collector forwarding (`--forward DSN`) to a second one with
  its own file: ingest with forwarding against without, and how many
  envelopes a second reach the upstream (until its /api/stats shows them all).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import threading
import time
from pathlib import Path

import phases
import report
import wrkload
from lookups import get_json
from servers import running_collector, serve_options

FORWARD_WAIT = 180
LIVE_DEFAULT = "0,10,50"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", default="", help="e.g. 1,2: a scaling curve with serve --workers N")
    parser.add_argument("--live", default=LIVE_DEFAULT, help="live clients per run, '' to skip (default %(default)s)")
    parser.add_argument("--no-forward", action="store_true", help="skip the forwarding phase")


def counts(text: str) -> list[int]:
    return [int(n) for n in text.split(",") if n.strip()]


def run(results: dict, args: argparse.Namespace) -> None:
    if args.workers:
        results["workers"] = workers_curve(counts(args.workers), args.seconds)
    live = counts("0,10" if args.quick and args.live == LIVE_DEFAULT else args.live)
    if live:
        results["live"] = [live_run(n, args.seconds) for n in live]
    if not args.no_forward:
        results["forwarding"] = forwarding(args.seconds)


def workers_curve(numbers: list[int], seconds: float) -> list[dict] | str:
    if "--workers" not in serve_options():
        print("bench: collector serve has no --workers option: no scaling curve")
        return "collector serve has no --workers"
    curve = []
    for n in numbers:
        r = phases.collector_closed("transaction", seconds, ["--workers", str(n)])
        curve.append({"workers": n, "envelopes_per_s": r["envelopes_per_s"], "p99_ms": r["p99_ms"]})
        print(f"bench: --workers {n}: {r['envelopes_per_s']:,.0f}/s p99 {r['p99_ms']:.1f} ms", flush=True)
    return curve


class LiveClients(threading.Thread):
    """`n` clients of GET /api/live on their own event loop; each keeps the
    envelope positions of the entry ids it received."""

    def __init__(self, port: int, n: int):
        super().__init__(daemon=True)
        self.port, self.n = port, n
        self.seen: list[set[str]] = [set() for _ in range(n)]
        self.ready = threading.Event()
        self.stop = threading.Event()

    def run(self) -> None:
        asyncio.run(self._all())

    async def _all(self) -> None:
        streams = [await asyncio.open_connection("127.0.0.1", self.port) for _ in range(self.n)]
        for _, writer in streams:
            writer.write(b"GET /api/live HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
        tasks = [asyncio.create_task(self._read(reader, i)) for i, (reader, _) in enumerate(streams)]
        await asyncio.sleep(0.5)  # each has its start position before ingest begins
        self.ready.set()
        while not self.stop.is_set():
            await asyncio.sleep(0.1)
        for t in tasks:
            t.cancel()
        for _, writer in streams:
            writer.close()

    async def _read(self, reader: asyncio.StreamReader, i: int) -> None:
        """Keeps the envelope position of every entry ("<position>.<entry>"),
        not of the "ready" event that gives the start position."""
        entry_id, event = None, None
        while line := await reader.readline():
            line = line.rstrip(b"\r\n")
            if line.startswith(b"id: "):
                entry_id = line[4:].split(b".")[0].decode()
            elif line.startswith(b"event: "):
                event = line[7:]
            elif not line:
                if entry_id and event != b"ready":
                    self.seen[i].add(entry_id)
                entry_id, event = None, None


def settled_envelopes(url: str) -> int:
    """The envelopes stored once ingest is idle: wrk stops counting at its
    deadline with a request still in flight on each connection, stored just after."""
    count = get_json(url + "/api/stats")["envelopes"]
    while True:
        time.sleep(0.3)
        now = get_json(url + "/api/stats")["envelopes"]
        if now == count:
            return count
        count = now


def live_run(n: int, seconds: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, running_collector(Path(tmp) / "live.db") as server:
        clients = LiveClients(server.port, n)
        clients.start()
        clients.ready.wait(30)
        r = wrkload.run_wrk(server, "transaction", seconds)
        stored = settled_envelopes(server.url)
        deadline = time.monotonic() + 30
        while n and min(len(s) for s in clients.seen) < stored and time.monotonic() < deadline:
            time.sleep(0.2)
        clients.stop.set()
        clients.join(10)
    got = [len(s) for s in clients.seen]
    result = {"clients": n, "envelopes_per_s": r["envelopes_per_s"], "p99_ms": r["p99_ms"], "stored": stored}
    result["every_client_got_every_envelope"] = all(g == stored for g in got) if n else None
    result["fewest_received"] = min(got, default=None)
    print(
        f"bench: {n} live clients: {r['envelopes_per_s']:,.0f}/s p99 {r['p99_ms']:.1f} ms"
        + (f"; each client got {min(got):,} to {max(got):,} of {stored:,} envelopes" if n else ""),
        flush=True,
    )
    return result


def forwarding(seconds: float) -> dict:
    """Ingest with and without --forward; then the time until the upstream holds all."""
    off = phases.collector_closed("transaction", seconds)
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, running_collector(Path(tmp) / "up.db") as up:
        dsn = f"http://bench@127.0.0.1:{up.port}/1"
        with running_collector(Path(tmp) / "forwarding.db", ["--forward", dsn]) as server:
            started = time.monotonic()
            on = wrkload.run_wrk(server, "transaction", seconds)
            stored = settled_envelopes(server.url)
            arrived = get_json(up.url + "/api/stats")["envelopes"]
            at_end = arrived
            while arrived < stored and time.monotonic() - started < FORWARD_WAIT:
                time.sleep(0.2)
                arrived = get_json(up.url + "/api/stats")["envelopes"]
            took = time.monotonic() - started
    result = {
        "envelopes": stored,
        "arrived": arrived,
        "arrived_when_ingest_ended": at_end,
        "forwarded_per_s": arrived / took,
        "all_arrived": arrived >= stored,
        "ingest_per_s": {"off": off["envelopes_per_s"], "on": on["envelopes_per_s"]},
        "ingest_p99_ms": {"off": off["p99_ms"], "on": on["p99_ms"]},
    }
    print(
        f"bench: forwarding: ingest {on['envelopes_per_s']:,.0f}/s p99 {on['p99_ms']:.1f} ms with it, "
        f"{off['envelopes_per_s']:,.0f}/s p99 {off['p99_ms']:.1f} ms without; {arrived:,} of {stored:,} "
        f"arrived upstream in {took:.1f} s ({result['forwarded_per_s']:,.0f}/s)",
        flush=True,
    )
    return result


def print_report(results: dict) -> None:
    if isinstance(results.get("workers"), list):
        print("scaling: " + ", ".join(f"{w['workers']} → {w['envelopes_per_s']:,.0f}/s" for w in results["workers"]))
    live = results.get("live") or []
    base = next((r for r in live if r["clients"] == 0), None)
    for r in live:
        if r["clients"] and base:
            print(
                f"live: {r['clients']} clients: throughput {r['envelopes_per_s'] / base['envelopes_per_s']:.2f} times"
                f" and p99 {report.fmt_ms(r['p99_ms'])} (vs {report.fmt_ms(base['p99_ms'])} with none); "
                f"every client got every envelope: {'yes' if r['every_client_got_every_envelope'] else 'NO'}"
            )
    f = results.get("forwarding")
    if f:
        print(
            f"forwarding: {f['forwarded_per_s']:,.0f} envelopes/s reached the upstream "
            f"({'all' if f['all_arrived'] else 'NOT all'} {f['envelopes']:,}); ingest with/without "
            f"{f['ingest_per_s']['on'] / f['ingest_per_s']['off']:.2f} times"
        )

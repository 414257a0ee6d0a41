"""A closed-loop load spoken by hand from asyncio: `load()` posts prepared
requests from 32 keep-alive connections and polls the read API meanwhile.

wrk (bench/wrkload.py) is the load `make bench` measures throughput with;
this one stays for what needs each request in Python: the readers test,
bench/cpu.py, bench/retention.py and the latency histogram of bench/openloop.py.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import resource
import time
from collections import Counter

import envelopes
from servers import INGEST_PATH, BenchBroken, Server

CLIENTS = 32
PHASE_SECONDS = 60
# Past the phase's limit, requests in flight get this long before the
# server counts as hung.
GRACE_SECONDS = 30
SAMPLE_EVERY = 0.2
READ_EVERY = 0.05
READ_PATHS = ["/api/traces?limit=50", "/api/stats", "/traces"]


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

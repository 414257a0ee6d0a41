"""Connections an attacker holds open: slow request heads are closed with a
408, connections over the cap get a 503 at once, and a flood of one error
is logged as a few lines with a count."""

from __future__ import annotations

import asyncio
import errno
import functools
import logging
import re
import resource
import socket
import subprocess
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from collector.app import SERVER_ARGS, create_app
from collector.web.connections import RESERVED_FDS, ConnectionGuard, GuardedSite, RepeatFilter
from helpers import Collector

HEAD_TIMEOUT = 1.0
# Scheduling on a shared machine: how late a close may come.
SLACK = 1.5
GET = b"GET /api/stats HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


@pytest.fixture
async def serve(tmp_path):
    """Starts the real app behind a ConnectionGuard with a 1 s head deadline."""
    runners = []

    async def start(limit: int = 1000) -> GuardedSite:
        runner = web.AppRunner(create_app(str(tmp_path / "c.db")), **SERVER_ARGS)
        await runner.setup()
        runners.append(runner)
        site = GuardedSite(runner, ConnectionGuard(runner.server, limit, header_timeout=HEAD_TIMEOUT), "127.0.0.1", 0)
        await site.start()
        return site

    yield start
    for runner in runners:
        await runner.cleanup()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v for k, _, v in (line.partition(": ") for line in lines[1:] if line)}
    body = await reader.readexactly(int(headers.get("content-length", 0)))
    return int(lines[0].split()[1]), headers, body


async def closed_after(reader: asyncio.StreamReader, limit: float) -> tuple[float | None, bytes]:
    """Seconds until the server closed the connection (None: still open after
    `limit`), and what it sent meanwhile."""
    start, got = time.monotonic(), b""
    try:
        async with asyncio.timeout(limit):
            while chunk := await reader.read(4096):
                got += chunk
    except TimeoutError:
        return None, got
    except ConnectionResetError:
        pass
    return time.monotonic() - start, got


async def trickle(writer: asyncio.StreamWriter, data: bytes, every: float) -> None:
    """Sends `data` a byte at a time until the server hangs up."""
    try:
        for i in range(len(data)):
            writer.write(data[i : i + 1])
            await writer.drain()
            await asyncio.sleep(every)
    except ConnectionError:
        pass


async def slow_head(port: int, kind: int) -> tuple[float | None, bytes]:
    """One attacker; `kind` picks how the head stalls. Returns closed_after."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    endless = b"X-Pad: " + b"a" * 200
    pattern = kind % 5
    trickling = None
    if pattern == 1:  # half a request line, then a byte now and then
        writer.write(b"GE")
        trickling = asyncio.ensure_future(trickle(writer, b"T /api/stats HT", 0.3))
    elif pattern == 2:  # a request line, then headers a byte at a time
        writer.write(b"GET /api/stats HTTP/1.1\r\n")
        trickling = asyncio.ensure_future(trickle(writer, b"Host: 127.0.0.1\r\n" + endless, 0.05 + kind / 500))
    elif pattern == 3:  # most of a head at once, then silence
        writer.write(b"GET /api/stats HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n")
    elif pattern == 4:  # a first request served, the second's head never ends
        writer.write(GET)
        status, _, _ = await read_response(reader)
        assert status == 200
        await asyncio.sleep(0.2)
        second_head = b"GET /api/stats HTTP/1.1\r\nHost: 127.0.0.1\r\n" + endless
        trickling = asyncio.ensure_future(trickle(writer, second_head, 0.1))
    # pattern 0 connects and sends nothing
    try:
        return await closed_after(reader, HEAD_TIMEOUT + 4)
    finally:
        if trickling is not None:
            trickling.cancel()
        writer.close()


async def normal_gets(port: int, seconds: float) -> list[float]:
    """A user's GETs on fresh connections meanwhile; their latencies."""
    latencies = []
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
        while time.monotonic() < deadline:
            start = time.monotonic()
            async with session.get(f"http://127.0.0.1:{port}/api/stats", timeout=aiohttp.ClientTimeout(5)) as r:
                assert r.status == 200
            latencies.append(time.monotonic() - start)
            await asyncio.sleep(0.1)
    return latencies


async def test_slow_heads_are_closed_while_a_user_is_served(serve):
    site = await serve()
    attackers = [asyncio.ensure_future(slow_head(site.port, kind)) for kind in range(50)]
    latencies = await normal_gets(site.port, HEAD_TIMEOUT + 1)
    results = await asyncio.gather(*attackers)

    assert max(latencies) < 1.0, latencies
    for kind, (held, got) in enumerate(results):
        # From connecting, or from the second head's first byte: a second
        # for the head, 0.2 s and the first request before it.
        assert held is not None and held < HEAD_TIMEOUT + 0.2 + SLACK, (kind, held, got)
        assert got.endswith(b"\r\n\r\nrequest head not complete within 1 s; closing.\n"), (kind, got)
        assert b"HTTP/1.1 408 Request Timeout\r\n" in got
    assert site.guard.timed_out == 50
    assert site.guard.open == 0


async def test_deadline_spares_prompt_heads_bodies_and_idle_keepalive(serve):
    site = await serve()
    # A head that takes most of the deadline still counts.
    reader, writer = await asyncio.open_connection("127.0.0.1", site.port)
    await trickle(writer, GET, HEAD_TIMEOUT * 0.6 / len(GET))
    assert (await read_response(reader))[0] == 200
    # Idle on keep-alive past the deadline, with no byte of a new request:
    # aiohttp's keep-alive timeout decides, not the head deadline.
    await asyncio.sleep(HEAD_TIMEOUT + 0.5)
    writer.write(GET)
    assert (await read_response(reader))[0] == 200
    # A body that takes longer than the deadline is ingest's to bound.
    body = b'{"event_id":"' + b"a" * 32 + b'"}\n{"type":"event"}\n{"message":"slow"}\n'
    writer.write(b"POST /api/1/envelope/?sentry_key=k HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    writer.write(b"Content-Length: %d\r\n\r\n" % len(body))
    await trickle(writer, body[:10], 0.05)
    await asyncio.sleep(HEAD_TIMEOUT)
    writer.write(body[10:])
    assert (await read_response(reader))[0] == 200
    writer.close()
    assert site.guard.timed_out == 0


async def test_connections_over_the_cap_get_503_and_room_comes_back(serve):
    site = await serve(limit=10)
    held = [await asyncio.open_connection("127.0.0.1", site.port) for _ in range(10)]
    for _reader, writer in held[:5]:  # half silent, half with a head stalled
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")

    for _ in range(3):
        reader, writer = await asyncio.open_connection("127.0.0.1", site.port)
        writer.write(GET)
        status, headers, body = await read_response(reader)
        assert (status, headers["retry-after"]) == (503, "1")
        assert body.startswith(b"too many open connections (10); the collector serves at most 10 at once")
        assert await reader.read() == b""
        writer.close()

    # Once the held connections time out, a user is served again.
    start = time.monotonic()
    closes = await asyncio.gather(*(closed_after(reader, HEAD_TIMEOUT + SLACK) for reader, _ in held))
    assert all(held is not None for held, _ in closes), closes
    assert time.monotonic() - start < HEAD_TIMEOUT + SLACK
    assert await normal_gets(site.port, 0.1)

    # Full again with served keep-alive connections; as soon as they go, room.
    held = [await asyncio.open_connection("127.0.0.1", site.port) for _ in range(10)]
    for reader, writer in held:
        writer.write(GET)
        assert (await read_response(reader))[0] == 200
    reader, writer = await asyncio.open_connection("127.0.0.1", site.port)
    writer.write(GET)
    assert (await read_response(reader))[0] == 503
    for _, writer in held:
        writer.close()
    await asyncio.sleep(0.1)
    assert await normal_gets(site.port, 0.1)
    assert site.guard.refused == 4


def test_serve_caps_connections_below_the_file_limit(tmp_path, monkeypatch):
    """`collector serve` under a 400-file limit and 500 half-open requests:
    it refuses the extra ones with 503 instead of running out of files, logs
    the refusals as one line and a count, and serves a user once they go."""
    files, count = 400, 500
    limit = files - RESERVED_FDS

    def low_file_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (files, files))

    c = Collector(tmp_path / "c.db")
    with monkeypatch.context() as m:
        m.setattr(subprocess, "Popen", functools.partial(subprocess.Popen, preexec_fn=low_file_limit))
        c.start()
    try:
        held, answers = asyncio.run(_half_open_flood(c.port, count))
        assert held == limit, (held, answers[:3])
        assert len(answers) == count - limit
        assert all(a.startswith(b"HTTP/1.1 503 Service Unavailable\r\n") for a in answers), answers
        assert f"too many open connections ({limit})".encode() in answers[0]
        status, _, _ = c.request("/api/stats")
        assert status == 200
    finally:
        out = c.stop()
    assert "Too many open files" not in out
    lines = [line for line in out.splitlines() if "refusing connections" in line]
    assert len(lines) == 2, lines
    assert re.search(r"\(repeated (\d+) times in the last \d+ s\)", lines[1]).group(1) == str(len(answers) - 1)


def test_serve_raises_the_file_limit_and_takes_max_connections_from_env(tmp_path, monkeypatch):
    def low_soft_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (300, 2000))

    monkeypatch.setenv("COLLECTOR_MAX_CONNECTIONS", "5")
    c = Collector(tmp_path / "c.db")
    with monkeypatch.context() as m:
        m.setattr(subprocess, "Popen", functools.partial(subprocess.Popen, preexec_fn=low_soft_limit))
        c.start()
    try:
        limits = Path(f"/proc/{c.proc.pid}/limits").read_text()
        assert re.search(r"Max open files\s+2000\s+2000", limits), limits
        held, answers = asyncio.run(_half_open_flood(c.port, 50))
        assert (held, len(answers)) == (5, 45)
        assert b"the collector serves at most 5 at once" in answers[0]
    finally:
        out = c.stop()
    assert "file limit" not in out


async def _half_open_flood(port: int, count: int) -> tuple[int, list[bytes]]:
    """Opens `count` connections, each sending an unfinished head; returns how
    many are still open after two seconds, and what the others were answered
    (each closed as soon as answered, as a client does)."""

    async def one() -> tuple[float | None, bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        try:
            return await closed_after(reader, 2.0)
        finally:
            writer.close()

    tasks = []
    for _ in range(0, count, 50):
        tasks += [asyncio.ensure_future(one()) for _ in range(50)]
        await asyncio.sleep(0.05)
    results = await asyncio.gather(*tasks)
    return sum(held is None for held, _ in results), [got for held, got in results if held is not None]


def test_repeated_errors_are_logged_once_with_a_count(monkeypatch):
    """10,000 of asyncio's accept-loop errors over 35 s, through asyncio's own
    exception handler, become one line, one summary a window and a final one."""
    now = [0.0]
    repeat = RepeatFilter(window=10, clock=lambda: now[0])
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    handler.addFilter(repeat)
    logger = logging.getLogger("asyncio")
    monkeypatch.setattr(logger, "propagate", False)
    logger.addHandler(handler)
    loop = asyncio.new_event_loop()
    try:
        with socket.socket() as sock:
            for i in range(10_000):
                now[0] = i * 0.0035
                exc = OSError(errno.EMFILE, "Too many open files")
                loop.call_exception_handler(
                    {"message": "socket.accept() out of system resource", "exception": exc, "socket": sock}
                )
                if i % 1000 == 0:  # another error in between is its own
                    loop.call_exception_handler({"message": "something else", "exception": OSError(errno.EIO, "io")})
        repeat.flush()
    finally:
        logger.removeHandler(handler)
        loop.close()

    accept = [r for r in records if r.getMessage().startswith("socket.accept() out of system resource")]
    other = [r for r in records if r.getMessage().startswith("something else")]
    assert len(accept) == 5, [r.getMessage() for r in accept]  # first, at 10, 20, 30 s, and the flush
    assert accept[0].exc_info[1].errno == errno.EMFILE
    counts = [int(m.group(1)) for r in accept[1:] if (m := re.search(r"repeated (\d+) times", r.getMessage()))]
    assert len(counts) == 4 and 1 + sum(counts) == 10_000
    assert 1 + sum(int(re.search(r"repeated (\d+)", r.getMessage()).group(1)) for r in other[1:]) == 10

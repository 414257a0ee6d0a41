"""`collector serve --workers 2`: two server processes on one port, one
writer process. Envelopes over many connections are all stored and both
processes take some; the live feed of either sees what the other stored;
a killed writer process is replaced for both; SIGTERM stops them all."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import aiohttp
import orjson
import pytest

from helpers import envelope, free_port

HEADER = "X-Collector-Process"


class Served:
    """`collector serve --workers 2` as a subprocess, once every worker listens."""

    def __init__(self, db: Path):
        self.db = db
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "collector", "serve", "--port", str(self.port), "--db", str(db), "--workers", "2"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output = []
        # The primary says "Ctrl-C to stop" once its workers listen.
        for line in self.proc.stdout:
            self.output.append(line)
            if "Ctrl-C to stop" in line:
                return
        raise RuntimeError("collector exited: " + "".join(self.output))

    def children(self, module: str) -> list[int]:
        """Pids of the primary's children running `module`."""
        found = []
        for entry in Path("/proc").iterdir():
            try:
                stat = (entry / "stat").read_text()
                args = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid and module.encode() in args:
                found.append(int(entry.name))
        return found

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return "".join(self.output) + self.proc.stdout.read()


@pytest.fixture
def served(tmp_path):
    s = Served(tmp_path / "w.db")
    yield s
    s.stop()


def error_envelope(message: str) -> tuple[str, bytes]:
    event_id = uuid.uuid4().hex
    payload = {"event_id": event_id, "message": message, "timestamp": time.time()}
    return event_id, envelope(({"type": "event"}, orjson.dumps(payload)), header={"event_id": event_id})


async def post_fresh(url: str, body: bytes) -> tuple[int, str]:
    """Posted over a connection of its own, so the kernel picks a process for it."""
    async with aiohttp.ClientSession() as session, session.post(url + "/api/1/envelope/?sentry_key=k", data=body) as r:
        await r.read()
        return r.status, r.headers.get(HEADER, "")


def stored_event_ids(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {row[0] for row in conn.execute("SELECT event_id FROM events")}


async def test_envelopes_over_many_connections_are_all_stored_by_both_processes(served):
    sent = [error_envelope(f"number {i}") for i in range(240)]
    limit = asyncio.Semaphore(24)

    async def one(body):
        async with limit:
            return await post_fresh(served.url, body)

    answers = await asyncio.gather(*(one(body) for _, body in sent))
    assert [status for status, _ in answers] == [200] * len(sent)
    pids = {pid for _, pid in answers}
    assert len(pids) == 2 and str(served.proc.pid) in pids, pids
    assert stored_event_ids(served.db) == {event_id for event_id, _ in sent}


async def live_stream_per_process(session: aiohttp.ClientSession, url: str) -> dict[str, aiohttp.ClientResponse]:
    """An open /api/live stream to each process (connections are spread by
    the kernel: open new ones until both processes hold one)."""
    streams: dict[str, aiohttp.ClientResponse] = {}
    for _ in range(60):
        response = await session.get(url + "/api/live", headers={"Connection": "close"})
        pid = response.headers[HEADER]
        if pid in streams:
            response.close()
        else:
            streams[pid] = response
        if len(streams) == 2:
            return streams
    raise AssertionError(f"every stream went to {list(streams)}")


async def entries(response: aiohttp.ClientResponse, count: int) -> list[dict]:
    """The next `count` error entries of a live stream."""
    found, current = [], {}
    async for raw in response.content:
        line = raw.decode().rstrip("\r\n")
        if line:
            field, _, value = line.partition(": ")
            current[field] = value
            continue
        if current.get("event") == "error":
            found.append(orjson.loads(current["data"]))
            if len(found) == count:
                return found
        current = {}
    raise AssertionError("the stream ended")


async def test_the_live_feed_of_each_process_shows_what_either_stored(served):
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:
        streams = await live_stream_per_process(session, served.url)
        messages = []
        # Several posts over fresh connections: both processes store some.
        for i in range(12):
            _, body = error_envelope(f"live {i}")
            status, _ = await post_fresh(served.url, body)
            assert status == 200
            messages.append(f"live {i}")
        for pid, stream in streams.items():
            seen = await asyncio.wait_for(entries(stream, len(messages)), 15)
            assert sorted(e["title"] for e in seen) == sorted(messages), pid
            stream.close()


async def test_a_killed_writer_process_is_replaced_for_both_processes(served):
    [writer] = served.children("collector.storage.process")
    os.kill(writer, signal.SIGKILL)
    deadline = time.monotonic() + 30
    stored, pids = [], set()
    while len(pids) < 2 or len(stored) < 20:
        assert time.monotonic() < deadline, (pids, len(stored))
        event_id, body = error_envelope("after the kill")
        status, pid = await post_fresh(served.url, body)
        if status == 200:
            stored.append(event_id)
            pids.add(pid)
        else:
            await asyncio.sleep(0.1)
    assert served.children("collector.storage.process") != [writer]
    assert set(stored) <= stored_event_ids(served.db)


async def test_sigterm_stops_every_process_after_storing_what_was_answered(served):
    sent = [error_envelope(f"before stop {i}") for i in range(40)]
    answers = await asyncio.gather(*(post_fresh(served.url, body) for _, body in sent))
    assert {status for status, _ in answers} == {200}
    workers = served.children("collector.cli.worker_process")
    writer = served.children("collector.storage.process")
    assert len(workers) == 1 and len(writer) == 1
    output = served.stop()
    assert served.proc.returncode == 0, output
    assert "collector: stopped" in output
    assert "Traceback" not in output
    for pid in workers + writer:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    assert stored_event_ids(served.db) == {event_id for event_id, _ in sent}
    assert Path(str(served.db) + ".lock").read_text() == ""

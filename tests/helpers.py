"""What tests share: a real collector subprocess, envelopes to post, a
started writer, the browser's settings. Fixtures live in conftest.py; the
helpers they and the tests use live here."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import orjson
import pytest

from collector.storage.client import Batch, Writer

ROOT = Path(__file__).resolve().parent.parent
NODE_DIR = ROOT / "tests" / "node"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Collector:
    """A `collector serve` subprocess and helpers to talk to it."""

    def __init__(self, db: Path):
        self.db = db
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dsn = f"http://testkey@127.0.0.1:{self.port}/1"
        self.proc = None

    def start(self) -> Collector:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "collector", "serve", "--port", str(self.port), "--db", str(self.db)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"collector exited: {self.proc.stdout.read()}")
            try:
                self.get("/api/stats")
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("collector did not start within 15s")

    def stop(self, sig=None) -> str:
        if self.proc and self.proc.poll() is None:
            if sig is None:
                self.proc.terminate()
            else:
                self.proc.send_signal(sig)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.stdout.read() if self.proc else ""

    def request(self, path, body=None, headers=None, method=None):
        """(status, headers, body bytes) without raising on 4xx/5xx."""
        req = urllib.request.Request(self.url + path, data=body, headers=headers or {}, method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def get(self, path):
        status, _, body = self.request(path)
        assert status == 200, (path, status, body)
        return json.loads(body)

    def wait_for(self, predicate, path="/api/stats", timeout=10.0):
        """Poll a JSON endpoint until predicate(json) holds; return that JSON."""
        deadline = time.monotonic() + timeout
        while True:
            data = self.get(path)
            if predicate(data):
                return data
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting on {path}; last: {json.dumps(data)[:2000]}")
            time.sleep(0.1)


def run_node(script: str, *args: str, timeout: float = 60) -> str:
    if not (NODE_DIR / "node_modules").exists():
        pytest.fail("tests/node/node_modules missing: run `make test`, which runs npm ci")
    out = subprocess.run(
        ["node", script, *args], cwd=NODE_DIR, capture_output=True, text=True, timeout=timeout, env={**os.environ}
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


# Debian's chromium; flags keep it from reaching for the network at start.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def post_envelope(collector, header: dict, *items: tuple[dict, object]) -> None:
    """Post one envelope of (item header, payload) pairs; payloads that are
    not bytes are sent as JSON. Asserts it was accepted."""
    parts = [orjson.dumps(header)]
    for item_header, payload in items:
        parts += [orjson.dumps(item_header), payload if isinstance(payload, bytes) else orjson.dumps(payload)]
    status, _, body = collector.request("/api/1/envelope/?sentry_key=k", b"\n".join(parts) + b"\n")
    assert status == 200, body


# --- envelopes and the in-process app ------------------------------------------

TRACE = "0123456789abcdef0123456789abcdef"
EVENT_ID = "9ec79c33ec9942ab8353589fcb2e04dc"


def envelope(*items, header=None):
    lines = [orjson.dumps(header if header is not None else {"event_id": EVENT_ID})]
    for item_header, payload in items:
        lines += [orjson.dumps(item_header), payload]
    return b"\n".join(lines) + b"\n"


def event_item(message="hello", **extra):
    payload = {
        "event_id": EVENT_ID,
        "message": message,
        "contexts": {"trace": {"trace_id": TRACE, "span_id": "0123456789abcdef"}},
        **extra,
    }
    return {"type": "event"}, orjson.dumps(payload)


async def stats(client):
    return await (await client.get("/api/stats")).json()


async def post(client, body, path="/api/1/envelope/", query="?sentry_key=k", **headers):
    return await client.post(path + query, data=body, headers=headers)


# --- the writer -------------------------------------------------------------------


async def started(path: str, **options) -> Writer:
    writer = Writer(path, **options)
    await writer.start()
    return writer


def batch(event_id: str, message) -> Batch:
    event = {"event_id": event_id, "message": message, "trace_id": "t" * 32}
    return Batch(envelope={"body": b"{}", "item_count": 1}, rows={"events": [event]})


def v2_span(trace_id: str, t0: float, span_id, parent, name, op, start, end, segment=False, attributes=None) -> dict:
    """A span as JS SDK v11 streams it (a `span` v2 item's record), `start`
    and `end` in seconds after `t0`; attributes typed by their Python type."""
    typed = {"sentry.op": {"type": "string", "value": op}}
    for key, value in (attributes or {}).items():
        kind = "double" if isinstance(value, (int, float)) and not isinstance(value, bool) else "string"
        typed[key] = {"type": kind, "value": value}
    return {
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_span_id": parent,
        "name": name,
        "start_timestamp": t0 + start,
        "end_timestamp": t0 + end,
        "is_segment": segment,
        "status": "ok",
        "attributes": typed,
    }

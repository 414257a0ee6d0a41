"""Fixtures: a real collector process on a free port, and a tiny API client."""

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

import pytest

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

    def start(self) -> "Collector":
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


@pytest.fixture
def make_client(aiohttp_client, tmp_path):
    """Starts the app in-process with create_app's options, for HTTP-level tests."""
    from aiohttp.test_utils import TestServer

    from collector.app import SERVER_ARGS, create_app

    async def make(**options):
        server = TestServer(create_app(str(tmp_path / "c.db"), **options))
        # As the CLI does: aiohttp must not inflate bodies itself.
        await server.start_server(**SERVER_ARGS)
        c = await aiohttp_client(server)
        c.db = tmp_path / "c.db"
        return c

    return make


@pytest.fixture
async def client(make_client):
    """The app in-process, as `collector serve` runs it."""
    return await make_client()


@pytest.fixture
def collector(tmp_path):
    c = Collector(tmp_path / "collector.db").start()
    yield c
    c.stop()


def run_node(script: str, *args: str, timeout: float = 60) -> str:
    if not (NODE_DIR / "node_modules").exists():
        pytest.fail("tests/node/node_modules missing: run `make test`, which runs npm ci")
    out = subprocess.run(
        ["node", script, *args], cwd=NODE_DIR, capture_output=True, text=True, timeout=timeout, env={**os.environ}
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


# --- a real browser ----------------------------------------------------------

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


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is missing: run `make test` (it installs Debian's chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    yield page
    context.close()


def post_envelope(collector, header: dict, *items: tuple[dict, object]) -> None:
    """Post one envelope of (item header, payload) pairs; payloads that are
    not bytes are sent as JSON. Asserts it was accepted."""
    import orjson

    parts = [orjson.dumps(header)]
    for item_header, payload in items:
        parts += [orjson.dumps(item_header), payload if isinstance(payload, bytes) else orjson.dumps(payload)]
    status, _, body = collector.request("/api/1/envelope/?sentry_key=k", b"\n".join(parts) + b"\n")
    assert status == 200, body


def pytest_collection_modifyitems(items):
    # Playwright's sync API keeps an event loop of its own on the main thread
    # for the whole session, which breaks pytest-asyncio's loops in any async
    # test run after it: run the browser tests last.
    items.sort(key=lambda item: "chromium" in getattr(item, "fixturenames", ()))

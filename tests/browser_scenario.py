"""The seed scenario in a real browser: a page with the real @sentry/browser
calls a real FastAPI backend with the real sentry-sdk, both reporting to the
collector under test."""

from __future__ import annotations

import functools
import http.server
import json
import sqlite3
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import free_port

HERE = Path(__file__).parent
BROWSER_DIR = HERE / "browser"
BACKEND = HERE / "apps" / "browser_backend.py"


def build_bundle(out_dir: Path) -> Path:
    esbuild = BROWSER_DIR / "node_modules" / ".bin" / "esbuild"
    if not esbuild.exists():
        pytest.fail("tests/browser/node_modules missing: run `make test`, which runs npm ci there")
    out = out_dir / "bundle.js"
    subprocess.run([str(esbuild), str(BROWSER_DIR / "page.js"), "--bundle", "--format=iife", f"--outfile={out}"],
                   check=True, capture_output=True, cwd=BROWSER_DIR)
    return out


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _serve_static(directory: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def _start_backend(dsn: str, page_origin: str, anonymous_only: bool) -> tuple[subprocess.Popen, str]:
    port = free_port()
    args = [sys.executable, str(BACKEND), dsn, str(port), page_origin] + (["--anonymous-only"] if anonymous_only else [])
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"backend exited: {proc.stdout.read()}")
        # A TCP connect, not a request: a probe request would be a
        # transaction of its own in the collector.
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("backend did not start within 20s")


def run_scenario(collector, page, tmp_path: Path, lifecycle: str = "stream", propagate: bool = True,
                 anonymous_only: bool = False) -> dict:
    """Drive the page once; return the browser's trace id and the backend URL
    once the collector holds the browser's pageload, its error and the
    backend's three requests."""
    site = tmp_path / "site"
    site.mkdir()
    build_bundle(site)
    static, page_origin = _serve_static(site)
    backend, backend_url = _start_backend(collector.dsn, page_origin, anonymous_only)
    try:
        config = {"dsn": collector.dsn, "backend": backend_url, "lifecycle": lifecycle, "propagate": propagate}
        (site / "index.html").write_text(
            "<!doctype html><title>shop</title><script>window.__config = "
            + json.dumps(config).replace("<", "\\u003c")
            + "</script><script src=bundle.js></script>"
        )
        page.goto(page_origin + "/index.html")
        page.wait_for_function("window.__done === true", timeout=30_000)
        trace_id = page.evaluate("window.__traceId")
        # The backend's SDK sends on its own schedule: wait for its three
        # requests and both errors.
        _wait_for_rows(collector.db, "SELECT count(*) FROM spans WHERE is_segment = 1 AND op = 'http.server'", 3)
        _wait_for_rows(collector.db, "SELECT count(*) FROM events", 2)
        return {"trace_id": trace_id, "backend_url": backend_url, "page_origin": page_origin}
    finally:
        backend.terminate()
        backend.wait(10)
        static.shutdown()


def _wait_for_rows(db: Path, sql: str, expected: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with sqlite3.connect(db) as conn:
            count = conn.execute(sql).fetchone()[0]
        if count >= expected:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout:.0f}s, {sql!r} gives {count}, expected {expected}")
        time.sleep(0.1)

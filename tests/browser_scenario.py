"""The seed scenario in a real browser: a page with the real @sentry/browser
calls a real FastAPI backend with the real sentry-sdk, both reporting to the
collector under test.

The page comes from the `page` fixture (conftest's Chromium): Playwright's
sync API cannot be started twice in one thread, so the harness drives the
session's browser rather than launching its own."""

from __future__ import annotations

import functools
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from helpers import free_port

HERE = Path(__file__).parent
BROWSER_DIR = HERE / "browser"
BACKEND = HERE / "apps" / "browser_backend.py"
BACKEND_PATHS = ("/api/login", "/api/orders", "/api/fail")


def build_bundle(out_dir: Path, entry: str = "page.js") -> Path:
    """tests/browser/<entry> with the real @sentry/browser, as out_dir/bundle.js."""
    esbuild = BROWSER_DIR / "node_modules" / ".bin" / "esbuild"
    if not esbuild.exists():
        pytest.fail("tests/browser/node_modules missing: run `make test`, which runs npm ci there")
    out = out_dir / "bundle.js"
    subprocess.run(
        [str(esbuild), str(BROWSER_DIR / entry), "--bundle", "--format=iife", f"--outfile={out}"],
        check=True,
        capture_output=True,
        cwd=BROWSER_DIR,
        timeout=60,
    )
    return out


def open_test_page(page, site: Path, origin: str, config: dict, title: str = "shop", body: str = "") -> None:
    """Writes site/index.html, which hands `config` to the bundled test script
    as window.__config (with `body` before the script), and opens it."""
    (site / "index.html").write_text(
        f"<!doctype html><title>{title}</title><script>window.__config = "
        + json.dumps(config).replace("<", "\\u003c")
        + f"</script>{body}<script src=bundle.js></script>"
    )
    page.goto(origin + "/index.html")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve_static(directory: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def start_app(script: Path, *args: str, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """`python script ARGS[0] PORT ARGS[1:]` on a free port, once it accepts
    connections; its URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(script), args[0], str(port), *args[1:]],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{script.name} exited: {proc.stdout.read()}")
        # A TCP connect, not a request: a probe request would be a
        # transaction of its own in the collector.
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    stop_app(proc)
    raise RuntimeError(f"{script.name} did not start within 20s")


def stop_app(proc: subprocess.Popen) -> str:
    """Stops a start_app process; what it printed."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    return proc.stdout.read()


def start_backend(dsn: str, page_origin: str, anonymous_only: bool) -> tuple[subprocess.Popen, str]:
    return start_app(BACKEND, dsn, page_origin, *(["--anonymous-only"] if anonymous_only else []))


def backend_segments(trace: dict) -> dict[str, dict]:
    """The backend's request segments in a /api/traces/<id> answer, by route."""
    return {s["description"]: s for s in trace["spans"] if s["op"] == "http.server" and s["is_segment"]}


def _backend_heads(listing: dict, browser_trace_id: str) -> list[dict]:
    """Traces of their own that a backend request started (its segment is the root)."""
    return [t for t in listing["traces"] if t["root_op"] == "http.server" and t["trace_id"] != browser_trace_id]


def run_scenario(
    collector,
    page,
    tmp_path: Path,
    lifecycle: str = "stream",
    propagate: bool = True,
    anonymous_only: bool = False,
    login_first: bool = False,
) -> dict:
    """Drive the page once; return the browser's trace id, the backend's URL
    and the page's origin once the collector holds the browser's pageload
    and error and the backend's three requests and its error."""
    site = tmp_path / "site"
    site.mkdir()
    build_bundle(site)
    static, page_origin = serve_static(site)
    try:
        backend, backend_url = start_backend(collector.dsn, page_origin, anonymous_only)
        try:
            config = {
                "dsn": collector.dsn,
                "backend": backend_url,
                "lifecycle": lifecycle,
                "propagate": propagate,
                # The user is named only after the login request, as a real app does.
                "loginFirst": login_first,
            }
            open_test_page(page, site, page_origin, config)
            page.wait_for_function("window.__done === true", timeout=30_000)
            assert page.evaluate("window.__flushed"), "the browser SDK did not flush within 5s"
            # The browser's envelopes were answered (so stored) before
            # flush() returned; the backend's SDK sends on its own schedule.
            trace_id = page.evaluate("window.__traceId")
            if propagate:
                collector.wait_for(
                    lambda t: len(backend_segments(t)) == len(BACKEND_PATHS) and len(t["errors"]) == 2,
                    f"/api/traces/{trace_id}",
                    timeout=20,
                )
            else:
                collector.wait_for(
                    lambda r: (
                        len(_backend_heads(r, trace_id)) == len(BACKEND_PATHS)
                        and sum(t["error_count"] for t in r["traces"]) == 2
                    ),
                    "/api/traces",
                    timeout=20,
                )
        finally:
            stop_app(backend)
    finally:
        static.shutdown()
        static.server_close()
    return {"trace_id": trace_id, "backend_url": backend_url, "page_origin": page_origin}

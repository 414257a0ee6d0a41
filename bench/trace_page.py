"""The 10,000-span trace page (issue 17's target): the server's time
(Server-Timing), the bytes of the page and of everything it fetches before
the waterfall is ready, and the time Chromium takes to get there.

The trace is built as `make bench`'s scaling phase builds it (JS SDK v11
streaming v2 spans through ingest). Medians of --runs page loads, after two
untimed ones. Chromium is found on PATH (or CHROMIUM); without it, or
without Playwright, the browser's figures are skipped with a message.

    .venv/bin/python bench/trace_page.py [--runs 5] [--spans 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import envelopes
from run import post, running_collector, server_ms

BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def server_side(server, path: str, runs: int) -> dict:
    """Server-Timing's median, and the CPU the collector's processes spent
    per request: on a shared machine the wall time swings with the other
    load, the CPU much less."""
    times, sizes, cpu = [], [], []
    for i in range(runs + 2):
        before = server.cpu_seconds()
        with urllib.request.urlopen(server.url + path, timeout=120) as r:
            body = r.read()
        if i >= 2:
            cpu.append((server.cpu_seconds() - before) * 1000)
            times.append(server_ms(r.headers["Server-Timing"]))
            sizes.append(len(body))
    return {"server_ms": statistics.median(times), "cpu_ms": statistics.median(cpu), "bytes": statistics.median(sizes)}


def in_chromium(url: str, path: str, runs: int) -> dict | None:
    """Navigation start to body[data-waterfall=ready], and the HTML and JSON
    bytes fetched until then (static JS and CSS counted apart)."""
    executable = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("skipped Chromium: Playwright is not installed")
        return None
    if not executable:
        print("skipped Chromium: no chromium on PATH (set CHROMIUM)")
        return None
    ready, fetched, static = [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True, args=BROWSER_ARGS)
        for i in range(runs + 2):
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            page = context.new_page()
            sizes = {"data": 0, "static": 0}

            def count(response, sizes=sizes):
                kind = "static" if "/static/" in response.url else "data"
                try:
                    sizes[kind] += len(response.body())
                except PlaywrightError:
                    return  # a streamed answer (the live feed) has no body to count

            page.on("response", count)
            page.goto(url + path, timeout=120_000)
            page.wait_for_selector("body[data-waterfall=ready]", timeout=120_000)
            at = page.evaluate("performance.now()")
            if i >= 2:
                ready.append(at)
                fetched.append(sizes["data"])
                static.append(sizes["static"])
            context.close()
        browser.close()
    return {"ready_ms": statistics.median(ready), "data_bytes": statistics.median(fetched), "static_bytes": max(static)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--spans", type=int, default=10_000)
    parser.add_argument("--no-browser", action="store_true", help="the server's figures only")
    args = parser.parse_args()
    trace = os.urandom(16).hex()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, running_collector(Path(tmp) / "page.db") as server:
        for body in envelopes.span_stream(trace, args.spans):
            post(server, body)
        time.sleep(0.5)
        result = {
            "spans": args.spans,
            "page": server_side(server, f"/traces/{trace}", args.runs),
            "api": server_side(server, f"/api/traces/{trace}", args.runs),
            "chromium": None if args.no_browser else in_chromium(server.url, f"/traces/{trace}", args.runs),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

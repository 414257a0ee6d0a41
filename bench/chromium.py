"""The 10,000-span trace page in Chromium (Playwright driving Debian's
chromium, as the browser tests do): how soon it is ready to scroll, and
how many bytes of HTML and JSON it needs to get there."""

from __future__ import annotations

import shutil
import statistics

# Ready to scroll: the first waterfall row is on screen and the viewport
# holding the rows can scroll. Timed by the page's own clock, from the
# start of navigation.
READY = """() => {
  const row = document.querySelector("#rows > *");
  const viewport = document.querySelector("#viewport");
  if (!row || !viewport) return false;
  const box = row.getBoundingClientRect();
  if (box.height === 0 || box.bottom < 0 || box.top > innerHeight) return false;
  return viewport.scrollHeight > viewport.clientHeight ? performance.now() : false;
}"""
# What the page needs: the HTML and the JSON it fetches, not the static
# scripts and styles, which a browser caches.
COUNTED = ("document", "fetch", "xhr")


def executable() -> str | None:
    return shutil.which("chromium")


def trace_page(url: str, runs: int = 5) -> dict | None:
    """Medians over `runs` fresh page loads (after one untimed load that
    warms the server and the browser's cache of static files); None, with a
    message, when Playwright or Chromium is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("bench: Playwright is missing (pip install -e '.[test]'): skipping the page in Chromium")
        return None
    if not executable():
        print("bench: chromium is missing (make chromium): skipping the page in Chromium")
        return None
    ready, needed = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable())
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        try:
            for i in range(runs + 1):
                page = context.new_page()
                sizes: list[int] = []
                page.on("response", lambda r, sizes=sizes: sizes.append(len(r.body())) if counted(r) else None)
                page.goto(url, wait_until="commit")
                ms = page.wait_for_function(READY, polling="raf", timeout=60_000).json_value()
                page.wait_for_load_state("load")
                if i:
                    ready.append(ms)
                    needed.append(sum(sizes))
                page.close()
        finally:
            browser.close()
    return {"ready_ms": statistics.median(ready), "bytes": statistics.median(needed), "runs": runs}


def counted(response) -> bool:
    return response.request.resource_type in COUNTED and response.status == 200

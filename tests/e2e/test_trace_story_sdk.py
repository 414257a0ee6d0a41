"""The trace page tells the story with the real SDKs: @sentry/browser in
Chromium names the user only after logging in, and the FastAPI backend's
segments show the sentry-trace and baggage they received."""

import os

from browser_scenario import BACKEND_PATHS, backend_segments, run_scenario


def test_the_page_marks_the_user_switch_and_what_the_backend_received(collector, page, tmp_path):
    run = run_scenario(collector, page, tmp_path, login_first=True)
    trace = collector.get(f"/api/traces/{run['trace_id']}")
    fetches = {
        s["data"]["url.full"].removeprefix(run["backend_url"]): s for s in trace["spans"] if s["op"] == "http.client"
    }
    servers = backend_segments(trace)
    assert set(servers) == set(BACKEND_PATHS)

    page.goto(f"{collector.url}/traces/{run['trace_id']}")
    # The login request went out before setUser: the next fetch is where the user changed.
    change = page.locator(f'#user-changes li[data-span-id="{fetches["/api/orders"]["span_id"]}"]')
    text = change.inner_text()
    assert text.startswith("web: anonymous until +") and "then id 42, email ada@example.com" in text
    assert page.locator(f'#user-changes li[data-span-id="{fetches["/api/login"]["span_id"]}"]').count() == 0

    for path, server in servers.items():
        row = page.locator(f'#incoming tr[data-span-id="{server["span_id"]}"]')
        received = row.inner_text()
        sent_by = fetches[path]["span_id"]
        # The parent span the header names is the browser's fetch, stored on this trace: a link to its row.
        assert row.locator(f'a[href="#span-{sent_by}"]').inner_text() == f"span {sent_by}"
        assert f"{run['trace_id']}-{sent_by}-1" in received and "sampled=true" in received
        assert "rate 1 · web@1.0.0 · test" in received, received

    # README's screenshot: the user switch above the waterfall, and the
    # details of a backend segment showing what it received.
    page.click(f'#rows .row[data-span-id="{servers["/api/orders"]["span_id"]}"]')
    details = page.locator("#details")
    assert details.is_visible() and "sentry-trace" in details.inner_text()
    if os.environ.get("SCREENSHOT_DIR"):
        page.set_viewport_size({"width": 1400, "height": 1000})
        page.screenshot(path=os.path.join(os.environ["SCREENSHOT_DIR"], "trace-view.png"))

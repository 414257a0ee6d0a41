"""The seed scenario end to end: real @sentry/browser in headless Chromium,
a real FastAPI backend with sentry-sdk, one stitched trace in the collector,
checked through the API and on the collector's own trace page."""

import os

import pytest

from browser_scenario import run_scenario
from collector.doctor import span_url


def by_url(spans, path):
    # v2 spans name fetches "GET 127.0.0.1" and keep the URL in url.full;
    # classic spans say "GET http://…" and keep it in data.url.
    return next(s for s in spans if s["op"] == "http.client" and (span_url(s) or "").endswith(path))


@pytest.mark.parametrize("lifecycle", ["stream", "static"])
def test_browser_and_backend_stitch_into_one_trace(collector, page, tmp_path, lifecycle):
    run = run_scenario(collector, page, tmp_path, lifecycle=lifecycle)
    trace = collector.get(f"/api/traces/{run['trace_id']}")
    spans = trace["spans"]
    [pageload] = [s for s in spans if s["op"] == "pageload"]
    assert pageload["sdk"]["name"] == "sentry.javascript.browser" and pageload["is_segment"]
    assert pageload["user"]["email"] == "ada@example.com"
    assert {s["origin"] for s in spans if s["sdk"]["name"] == "sentry.javascript.browser"} == {"span_v2" if lifecycle == "stream" else "transaction"}

    servers = {s["description"]: s for s in spans if s["op"] == "http.server"}
    assert set(servers) == {"/api/login", "/api/orders", "/api/fail"}
    for path, server in servers.items():
        # The stitch: each backend segment's parent is the browser's fetch span.
        assert server["parent_span_id"] == by_url(spans, path)["span_id"], path
        assert server["sdk"]["name"] == "sentry.python.fastapi" and server["is_segment"]
        assert server["user"]["id"] == "42" and server["user"]["email"] == "ada@example.com"
        assert server["tags"]["authenticated"] == "true"
    db = [s for s in spans if s["op"] == "db" and s["parent_span_id"] == servers["/api/orders"]["span_id"]]
    assert db and db[0]["description"] == "SELECT 1 AS order_id"

    errors = {e["value"]: e for e in trace["errors"]}
    assert errors["backend exploded"]["span_id"] == servers["/api/fail"]["span_id"]
    assert errors["backend exploded"]["type"] == "RuntimeError"
    assert "frontend boom" in errors and errors["frontend boom"]["sdk"]["name"] == "sentry.javascript.browser"
    stats = collector.get("/api/stats")
    assert stats["failed_items"] == 0 and stats["rejected_requests"] == 0

    # What a person sees on the trace page.
    page.errors.clear()  # "frontend boom" was the test page's, on purpose
    page.goto(f"{collector.url}/traces/{run['trace_id']}")
    page.wait_for_selector("body[data-waterfall=ready]")
    for path, server in servers.items():
        fetch = by_url(spans, path)
        row = page.locator(f"#span-{server['span_id']}")
        assert row.get_attribute("data-parent-span-id") == fetch["span_id"]
        assert int(row.get_attribute("data-depth")) == int(page.get_attribute(f"#span-{fetch['span_id']}", "data-depth")) + 1
        assert "backend · sentry.python.fastapi" in row.inner_text()
        assert path in page.inner_text(f"#span-{fetch['span_id']}")  # the fetch's URL is shown
    assert "RuntimeError: backend exploded" in page.inner_text(f"#span-{servers['/api/fail']['span_id']}")
    assert "web · sentry.javascript.browser" in page.inner_text(f"#span-{pageload['span_id']}")
    users = page.inner_text("#segment-users")
    assert users.count("ada@example.com") == 4  # the pageload and three backend segments
    assert page.inner_text("#findings").startswith("Doctor: nothing wrong found")
    assert page.errors == []
    if os.environ.get("SCREENSHOT_DIR"):
        page.set_viewport_size({"width": 1400, "height": 1000})
        page.screenshot(path=os.path.join(os.environ["SCREENSHOT_DIR"], "trace-view.png"), full_page=True)


def test_without_propagation_the_backend_starts_its_own_traces(collector, page, tmp_path):
    run = run_scenario(collector, page, tmp_path, propagate=False)
    trace = collector.get(f"/api/traces/{run['trace_id']}")
    assert not [s for s in trace["spans"] if s["op"] == "http.server"]
    assert [s for s in trace["spans"] if s["op"] == "http.client"]

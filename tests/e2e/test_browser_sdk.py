"""The seed scenario end to end: real @sentry/browser in headless Chromium,
a real FastAPI backend with sentry-sdk, one stitched trace in the collector,
checked through the API and on the collector's own trace page."""

import pytest

from browser_scenario import BACKEND_PATHS, backend_segments, run_scenario


def fetches(trace, backend_url):
    """The browser's http.client spans to the backend, by path. Both
    lifecycles keep the URL in url.full (v2 spans are named just
    "GET 127.0.0.1", classic ones "GET http://…")."""
    spans = [s for s in trace["spans"] if s["op"] == "http.client"]
    return {s["data"]["url.full"].removeprefix(backend_url): s for s in spans}


def assert_nothing_failed(collector):
    stats = collector.get("/api/stats")
    assert stats["failed_items"] == 0 and stats["rejected_requests"] == 0, stats


@pytest.mark.parametrize("lifecycle", ["stream", "static"])
def test_browser_and_backend_stitch_into_one_trace(collector, page, tmp_path, lifecycle):
    run = run_scenario(collector, page, tmp_path, lifecycle=lifecycle)
    trace = collector.get(f"/api/traces/{run['trace_id']}")
    spans = trace["spans"]
    [pageload] = [s for s in spans if s["op"] == "pageload"]
    assert pageload["sdk"]["name"] == "sentry.javascript.browser" and pageload["is_segment"]
    assert pageload["user"]["email"] == "ada@example.com"
    # Streaming sends v2 span items; static sends a classic transaction.
    assert {s["origin"] for s in spans if s["sdk"]["name"] == "sentry.javascript.browser"} == {
        "span_v2" if lifecycle == "stream" else "transaction"
    }

    # The browser asks for its address to be inferred (infer_ip: auto).
    assert pageload["user"]["ip"] == "127.0.0.1" and pageload["platform"] == "javascript"

    calls = fetches(trace, run["backend_url"])
    assert set(calls) == set(BACKEND_PATHS)
    # The same failure reads the same in both lifecycles.
    assert calls["/api/fail"]["status"] == "internal_error"
    servers = backend_segments(trace)
    assert set(servers) == set(BACKEND_PATHS)
    for path, server in servers.items():
        # The stitch: each backend segment's parent is the browser's fetch span.
        assert server["parent_span_id"] == calls[path]["span_id"], path
        assert calls[path]["parent_span_id"] == pageload["span_id"], path
        assert server["sdk"]["name"] == "sentry.python.fastapi"
        assert server["user"]["id"] == "42" and server["user"]["email"] == "ada@example.com"
        assert server["tags"]["authenticated"] == "true"
    db = [s for s in spans if s["op"] == "db" and s["parent_span_id"] == servers["/api/orders"]["span_id"]]
    assert [s["description"] for s in db] == ["SELECT 1 AS order_id"]

    errors = {e["value"]: e for e in trace["errors"]}
    assert set(errors) == {"backend exploded", "frontend boom"}
    assert errors["backend exploded"]["span_id"] == servers["/api/fail"]["span_id"]
    assert errors["backend exploded"]["type"] == "RuntimeError"
    assert errors["frontend boom"]["sdk"]["name"] == "sentry.javascript.browser"
    assert errors["frontend boom"]["span_id"] == pageload["span_id"]
    assert_nothing_failed(collector)

    # What a person sees on the trace page.
    page.errors.clear()  # "frontend boom" was the test page's, on purpose
    page.goto(f"{collector.url}/traces/{run['trace_id']}")
    page.wait_for_selector("body[data-waterfall=ready]")
    for path, server in servers.items():
        fetch = calls[path]
        row = page.locator(f"#span-{server['span_id']}")
        assert row.get_attribute("data-parent-span-id") == fetch["span_id"]
        assert (
            int(row.get_attribute("data-depth"))
            == int(page.get_attribute(f"#span-{fetch['span_id']}", "data-depth")) + 1
        )
        assert "backend · sentry.python.fastapi" in row.inner_text()
        assert path in page.inner_text(f"#span-{fetch['span_id']}")  # the fetch's URL is shown
    assert "RuntimeError: backend exploded" in page.inner_text(f"#span-{servers['/api/fail']['span_id']}")
    assert "web · sentry.javascript.browser" in page.inner_text(f"#span-{pageload['span_id']}")
    users = page.inner_text("#segment-users")
    assert users.count("ada@example.com") == 4  # the pageload and three backend segments
    assert page.inner_text("#findings").startswith("Doctor: nothing wrong found")
    assert page.errors == []


def test_without_propagation_the_backend_starts_its_own_traces(collector, page, tmp_path):
    run = run_scenario(collector, page, tmp_path, propagate=False)
    trace = collector.get(f"/api/traces/{run['trace_id']}")
    assert set(fetches(trace, run["backend_url"])) == set(BACKEND_PATHS)
    assert backend_segments(trace) == {}
    # Each request heads a trace of its own, with its own trace id.
    heads = [t for t in collector.get("/api/traces")["traces"] if t["root_op"] == "http.server"]
    assert sorted(t["root"] for t in heads) == sorted(BACKEND_PATHS)
    assert run["trace_id"] not in {t["trace_id"] for t in heads} and len({t["trace_id"] for t in heads}) == 3
    assert_nothing_failed(collector)

"""A replay from the real @sentry/browser 11.12, played in Chromium.

The page records a replay only when an error happens
(replaysOnErrorSampleRate: 1): the test clicks a button whose handler
fetches from the FastAPI test backend (a traced request) and then throws.
The error page links to the replay at the error's moment, the replay page
plays it in Sentry's rrweb player (whose frame rebuilds the recorded page,
button included), and the request in the activity list opens its span on
the trace page."""

from __future__ import annotations

import base64
import os

import pytest

from browser_scenario import build_bundle, open_test_page, serve_static, start_backend, stop_app


@pytest.fixture
def recorded(collector, page, tmp_path):
    """Run the page once, click #buy, flush; the replay's API answer, once
    it names the stored error, with the backend's URL."""
    site = tmp_path / "site"
    site.mkdir()
    build_bundle(site, "replay_page.js")
    static, page_origin = serve_static(site)
    backend, backend_url = start_backend(collector.dsn, page_origin, anonymous_only=True)
    try:
        shop = "<h1>Shop</h1><p>One item in your basket.</p><button id=buy>Buy</button>"
        open_test_page(page, site, page_origin, {"dsn": collector.dsn, "backend": backend_url}, body=shop)
        page.click("#buy")
        page.wait_for_function("window.__fetched === true", timeout=15_000)
        flushed = page.evaluate("window.__flushAll()")
        assert flushed["flushed"] and flushed["replayId"], flushed
        replay = collector.wait_for(
            lambda r: r["errors"] and r["events"],
            f"/api/replays/{flushed['replayId']}",
            timeout=20,
        )
    finally:
        stop_app(backend)
        static.shutdown()
        static.server_close()
    return {"replay": replay, "backend_url": backend_url}


def _orders_span(collector, trace_ids, backend_url):
    """The browser's http.client span of its fetch to /api/orders."""
    for trace_id in trace_ids:
        for span in collector.get(f"/api/traces/{trace_id}")["spans"]:
            if span["op"] == "http.client" and span["data"].get("url.full") == f"{backend_url}/api/orders":
                return span
    raise AssertionError(f"no http.client span for /api/orders on traces {trace_ids}")


def test_what_the_browser_sent_for_an_error_replay(recorded):
    replay = recorded["replay"]
    # An on-error replay: the buffer of the moments before the error, as one segment or more.
    assert replay["replay_type"] == "buffer"
    assert replay["sdk"] == {"name": "sentry.javascript.browser", "version": "11.12.0"}
    assert replay["segment_failures"] == []
    (error,) = replay["errors"]
    assert error["event_id"] in replay["error_ids"] and error["trace_id"] in replay["trace_ids"]
    customs = [e for e in replay["events"] if e["type"] == 5]
    crumbs = [e["data"]["payload"] for e in customs if e["data"]["tag"] == "breadcrumb"]
    assert any(c.get("category") == "ui.click" and c.get("message") == "body > button#buy" for c in crumbs), crumbs
    fetches = [
        e for e in customs if e["data"]["tag"] == "performanceSpan" and e["data"]["payload"]["op"] == "resource.fetch"
    ]
    (fetch,) = fetches
    assert fetch["data"]["payload"]["description"] == f"{recorded['backend_url']}/api/orders"
    # The unit trap the page handles: rrweb's times are ms, a performanceSpan's are seconds.
    assert fetch["timestamp"] < 1e11 < replay["events"][0]["timestamp"]
    # Without networkDetailAllowUrls no header is kept, so no sentry-trace to link by.
    assert fetch["data"]["payload"]["data"]["request"]["headers"] == {}


def test_the_error_links_to_its_replay_which_plays_and_links_its_request_to_the_trace(collector, page, recorded):
    replay = recorded["replay"]
    replay_id = replay["replay_id"]
    error_id = replay["errors"][0]["event_id"]

    # The recorded page's own error is on the list already; ours must not join it.
    errors_before = len(page.errors)
    page.goto(f"{collector.url}/events/{error_id}")
    link = page.locator("#replay-link")
    href = link.get_attribute("href")
    assert href.startswith(f"/replays/{replay_id}#t="), href
    # The error came a moment after the replay began (the page's load), never before it.
    assert 0 < float(href.split("#t=")[1]) < 60

    link.click()
    page.wait_for_selector("body[data-replay-ready=true]", timeout=15_000)
    assert page.errors[errors_before:] == []
    # The player rebuilt the recorded page in its frame: the button, by id.
    recorded_button = page.frame_locator("#player iframe").locator("#buy")
    assert recorded_button.inner_text() == "Buy"
    assert page.locator(".rr-controller").is_visible()

    clicks = page.locator("#replay-activity li.activity-click")
    assert "body > button#buy" in clicks.first.inner_text()
    request = page.locator("#replay-activity li.activity-request", has_text="/api/orders")
    assert "200" in request.inner_text()
    span = _orders_span(collector, replay["trace_ids"], recorded["backend_url"])
    trace_link = request.locator("a.trace-link")
    assert trace_link.get_attribute("href") == f"/traces/{span['trace_id']}#span-{span['span_id']}"

    replay_picture = None
    if os.environ.get("SCREENSHOT_DIR"):
        # README's picture: the replay at the click, its activity list beside it.
        clicks.first.click()
        page.set_viewport_size({"width": 1400, "height": 1000})
        replay_picture = page.screenshot()

    trace_link.click()
    page.wait_for_url(f"**/traces/{span['trace_id']}#span-{span['span_id']}")
    assert page.locator(f'#rows .row[data-span-id="{span["span_id"]}"]').count() == 1
    if replay_picture is not None:
        page.evaluate("window.scrollTo(0, 0)")
        _save_side_by_side(page, replay_picture, page.screenshot(), "replay-view.png")


def _save_side_by_side(page, left: bytes, right: bytes, name: str) -> None:
    """Two screenshots as one picture: the replay and the trace it links to."""
    images = "".join(
        f'<img style="width:50%;display:block" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
        for png in (left, right)
    )
    page.set_viewport_size({"width": 2000, "height": 720})
    page.set_content(f'<body style="margin:0;display:flex;gap:4px;background:#999">{images}</body>')
    page.screenshot(path=os.path.join(os.environ["SCREENSHOT_DIR"], name), full_page=True)

"""Live pages in real Chromium, fed by the real sentry-sdk: a transaction
appears on /traces without a reload, a late backend segment appears under
its parent on an open trace page, and after a collector restart the page
reconnects by itself and catches up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

from helpers import post_envelope

# One transaction from the real sentry-sdk, with an outgoing-request child
# span; given a sentry-trace header it continues that trace, as a backend does.
SEND = """
import json, sys
import sentry_sdk
dsn, name = sys.argv[1], sys.argv[2]
headers = {"sentry-trace": sys.argv[3]} if len(sys.argv) > 3 else {}
sentry_sdk.init(dsn=dsn, traces_sample_rate=1.0, default_integrations=False)
tx = sentry_sdk.continue_trace(headers, op="http.server", name=name)
with sentry_sdk.start_transaction(tx):
    with sentry_sdk.start_span(op="http.client", name="GET /api/backend") as child:
        ids = {"trace_id": tx.trace_id, "span_id": tx.span_id, "child_span_id": child.span_id}
sentry_sdk.flush()
print(json.dumps(ids))
"""
# An error from the real sentry-sdk, with a user.
CAPTURE = """
import sys
import sentry_sdk
sentry_sdk.init(dsn=sys.argv[1], default_integrations=False)
sentry_sdk.set_user({"email": "ada@example.com"})
sentry_sdk.capture_message(sys.argv[2], level="error")
sentry_sdk.flush()
"""
WAIT_MS = 20_000


def send(collector, name: str, sentry_trace: str | None = None) -> dict:
    args = [sys.executable, "-c", SEND, collector.dsn, name] + ([sentry_trace] if sentry_trace else [])
    out = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def mark_page(page) -> None:
    """A value that survives only as long as the page is not reloaded."""
    page.evaluate("window.__notReloaded = true")


def not_reloaded(page) -> bool:
    return page.evaluate("window.__notReloaded === true")


def test_a_transaction_appears_on_the_trace_list_without_a_reload(collector, page):
    page.goto(collector.url + "/traces")
    page.wait_for_selector('#live-bar[data-state="live"]')
    mark_page(page)
    ids = send(collector, "GET /checkout")
    row = page.wait_for_selector(f'tr[data-key="{ids["trace_id"]}"]', timeout=WAIT_MS)
    assert "GET /checkout" in row.inner_text()
    assert not_reloaded(page) and page.errors == []
    # Its time is shown in the browser's zone like the rows there at load:
    # the local time, then the server's UTC text, on hover.
    assert ";" in row.query_selector("time[datetime]").get_attribute("title")


def test_a_health_check_stays_hidden_and_the_count_updates(collector, page):
    page.goto(collector.url + "/traces")
    page.wait_for_selector('#live-bar[data-state="live"]')
    send(collector, "/healthz")
    ids = send(collector, "GET /cart")
    page.wait_for_selector(f'tr[data-key="{ids["trace_id"]}"]', timeout=WAIT_MS)
    page.wait_for_selector("#noise-line", timeout=WAIT_MS)
    assert "1 health check hidden" in page.inner_text("#noise-line")
    assert page.locator("tr[data-key]").count() == 1
    if os.environ.get("SCREENSHOT_DIR"):
        # README's picture: rows that arrived while the page was open, the health check hidden.
        ids = send(collector, "POST /api/orders")
        page.wait_for_selector(f'tr[data-key="{ids["trace_id"]}"]', timeout=WAIT_MS)
        page.set_viewport_size({"width": 1400, "height": 420})
        page.screenshot(path=os.path.join(os.environ["SCREENSHOT_DIR"], "live-traces.png"))


def test_paused_rows_are_counted_and_shown_on_request(collector, page):
    send(collector, "GET /first")
    page.goto(collector.url + "/traces")
    page.wait_for_selector('#live-bar[data-state="live"]')
    page.click("#live-pause")
    assert page.inner_text("#live-state") == "paused"
    ids = send(collector, "GET /while-paused")
    page.wait_for_selector("#live-new:not([hidden])", timeout=WAIT_MS)
    assert page.inner_text("#live-new").startswith("1 new")
    assert page.locator(f'tr[data-key="{ids["trace_id"]}"]').count() == 0
    page.click("#live-new")
    page.wait_for_selector(f'tr[data-key="{ids["trace_id"]}"]')
    assert page.locator("tr[data-key]").first.get_attribute("data-key") == ids["trace_id"]


def test_a_late_backend_segment_appears_under_its_parent(collector, page):
    front = send(collector, "/cart")
    collector.wait_for(lambda s: s["rows"]["transactions"] >= 1)
    page.goto(f"{collector.url}/traces/{front['trace_id']}")
    page.wait_for_selector('body[data-waterfall="ready"]')
    page.wait_for_selector('#trace-live[data-state="live"]')
    # The user's selection must survive the update.
    page.click(f"#span-{front['child_span_id']}")
    mark_page(page)
    back = send(collector, "POST /api/backend", f"{front['trace_id']}-{front['child_span_id']}-1")
    assert back["trace_id"] == front["trace_id"]
    row = page.wait_for_selector(f"#span-{back['span_id']}", timeout=WAIT_MS)
    assert row.get_attribute("data-parent-span-id") == front["child_span_id"]
    parent_depth = int(page.get_attribute(f"#span-{front['child_span_id']}", "data-depth"))
    assert int(row.get_attribute("data-depth")) == parent_depth + 1
    assert page.locator(f"#span-{front['child_span_id']}.selected").count() == 1
    assert "POST /api/backend" in page.inner_text("#segment-users")
    assert not_reloaded(page) and page.errors == []


def test_after_a_restart_the_page_reconnects_and_catches_up(collector, page):
    page.goto(collector.url + "/traces")
    page.wait_for_selector('#live-bar[data-state="live"]')
    mark_page(page)
    collector.stop()
    page.wait_for_selector('#live-bar[data-state="reconnecting…"]', timeout=WAIT_MS)
    collector.start()
    ids = send(collector, "GET /after-restart")
    page.wait_for_selector(f'tr[data-key="{ids["trace_id"]}"]', timeout=WAIT_MS)
    page.wait_for_selector('#live-bar[data-state="live"]', timeout=WAIT_MS)
    assert not_reloaded(page)


def test_an_error_appears_on_the_errors_and_users_lists(collector, page):
    page.goto(collector.url + "/errors")
    page.wait_for_selector('#live-bar[data-state="live"]')
    mark_page(page)
    out = subprocess.run([sys.executable, "-c", CAPTURE, collector.dsn, "<b>card declined</b>"], timeout=60)
    assert out.returncode == 0
    page.wait_for_selector("#live-list tr[data-key]", timeout=WAIT_MS)
    # Escaped by the server's partial: the markup is text, not an element.
    assert "<b>card declined</b>" in page.inner_text("#live-list")
    assert page.locator("#live-list tr[data-key] b").count() == 0
    assert not_reloaded(page) and page.errors == []
    page.goto(collector.url + "/users")
    page.wait_for_selector('tr[data-key="ada@example.com"]')


def crafted_transaction(name: str) -> tuple[dict, dict]:
    now = time.time()
    payload = {
        "type": "transaction",
        "transaction": name,
        "start_timestamp": now - 0.05,
        "timestamp": now,
        "contexts": {"trace": {"trace_id": uuid.uuid4().hex, "span_id": uuid.uuid4().hex[:16], "op": "http.server"}},
    }
    return {"type": "transaction"}, payload


def test_scrolled_down_new_rows_wait_above_behind_a_marker(collector, page):
    for n in range(45):
        post_envelope(collector, {}, crafted_transaction(f"GET /old/{n}"))
    page.set_viewport_size({"width": 1200, "height": 500})
    page.goto(collector.url + "/traces")
    page.wait_for_selector('#live-bar[data-state="live"]')
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    first = page.locator("tr[data-key]").first.get_attribute("data-key")
    header, payload = crafted_transaction("GET /new")
    post_envelope(collector, {}, (header, payload))
    marker = page.wait_for_selector("#live-new.floating:not([hidden])", timeout=WAIT_MS)
    assert marker.inner_text() == "1 new ↑"
    assert page.locator("tr[data-key]").first.get_attribute("data-key") == first
    marker.click()
    new_id = payload["contexts"]["trace"]["trace_id"]
    page.wait_for_selector(f'tr[data-key="{new_id}"]')
    assert page.locator("tr[data-key]").first.get_attribute("data-key") == new_id
    assert page.evaluate("document.getElementById('live-list').getBoundingClientRect().top") >= -1

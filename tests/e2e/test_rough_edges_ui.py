"""Issue 14's rough edges, in Chromium and with the real @sentry/node: an
event page never scrolls sideways, times show in the reader's zone, and a
captureMessage with a stack reads as a message."""

from __future__ import annotations

import re
import time

import orjson

from helpers import post_envelope, run_node

EVENT_ID = "7" * 32
WIDTH = 1440


def _send_event_with_long_values(collector) -> None:
    long_value = "x" * 5000
    event = {
        "event_id": EVENT_ID,
        "timestamp": time.time(),
        "message": "long values",
        "tags": {"build": long_value},
        "extra": {"payload": long_value, "nested": {"blob": [long_value]}},
        "breadcrumbs": [{"timestamp": time.time() - 2, "category": "log", "message": long_value}],
        "contexts": {"trace": {"trace_id": "ab" * 16, "span_id": "cd" * 8}},
    }
    post_envelope(collector, {"event_id": EVENT_ID}, ({"type": "event"}, orjson.dumps(event)))
    collector.wait_for(lambda s: s["rows"]["events"] >= 1)


def test_an_event_page_with_5000_character_values_fits_the_window(collector, chromium):
    _send_event_with_long_values(collector)
    context = chromium.new_context(viewport={"width": WIDTH, "height": 900}, timezone_id="Asia/Kolkata")
    try:
        page = context.new_page()
        page.goto(f"{collector.url}/events/{EVENT_ID}")
        assert page.locator("table.tags").inner_text().count("x") >= 5000
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
        # The UTC text is replaced by local time (India is UTC+05:30), UTC kept on hover.
        when = page.locator("p.facts time")
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(UTC\+05:30\)", when.inner_text())
        assert when.get_attribute("title").endswith(" UTC")
        crumb = page.locator("table.crumbs time")
        assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3} \(UTC\+05:30\)", crumb.inner_text())
        assert page.locator("table.crumbs td.num").inner_text() == "-2.0 s"
    finally:
        context.close()


def test_times_show_in_utc_with_scripts_off(collector, chromium):
    _send_event_with_long_values(collector)
    context = chromium.new_context(java_script_enabled=False, timezone_id="Asia/Kolkata")
    try:
        page = context.new_page()
        page.goto(f"{collector.url}/events/{EVENT_ID}")
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", page.locator("p.facts time").inner_text())
    finally:
        context.close()


def test_a_node_capture_message_with_a_stack_is_a_message(collector, page):
    run_node("message.mjs", collector.dsn)
    groups = collector.wait_for(lambda g: len(g["groups"]) == 2, "/api/errors")["groups"]
    assert {(g["title"], g["level"]) for g in groups} == {
        ("node worker finished", "info"),
        ("disk almost full", "warning"),
    }
    page.goto(f"{collector.url}/errors")
    info = page.locator("tr", has_text="node worker finished").locator(".level")
    assert (info.inner_text(), info.get_attribute("class")) == ("info", "level level-info")
    warning = page.locator("tr", has_text="disk almost full").locator(".level")
    assert warning.get_attribute("class") == "level level-warning"
    page.locator("a", has_text="node worker finished").click()
    assert page.locator("h1").inner_text() == "node worker finished"
    assert page.locator("pre.message").inner_text() == "node worker finished"
    assert page.locator(".exception .type").count() == 0 and "None" not in page.locator("main").inner_text()
    assert page.errors == []

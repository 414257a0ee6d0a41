"""The waterfall as Sentry's trace view draws it, in headless Chromium: alike
siblings grouped, gaps marked as missing instrumentation, web vitals on the
axis, key:value search, the keyboard, a details pane beside the timeline."""

import time

import helpers
from helpers import post_envelope

T0 = time.time() - 60
TRACE = "c3" * 16
PAGELOAD, FETCH, LATE = "1000000000000001", "1000000000000002", "1000000000000003"
BACKEND, UPDATE = "2000000000000001", "20000000000000ff"
DB_SPANS = [f"21000000000000{k:02x}" for k in range(1, 8)]
VITALS = {"lcp": 3100.0, "fcp": 900.0, "ttfb": 2000.0, "inp": 600.0, "cls": 0.05}


def v2_span(span_id, parent, name, op, start, end, segment=False, **numbers):
    return helpers.v2_span(TRACE, T0, span_id, parent, name, op, start, end, segment, numbers)


def post_browser_spans(collector):
    vitals = {f"browser.web_vital.{name}.value": value for name, value in VITALS.items()}
    spans = [
        v2_span(PAGELOAD, None, "/checkout", "pageload", 0, 2.0, segment=True, **vitals),
        v2_span(FETCH, PAGELOAD, "GET /api/orders", "http.client", 0.05, 1.5),
        # Ends at the trace's end: its label must not run off the right edge.
        v2_span(LATE, PAGELOAD, "late beacon", "http.client", 1.95, 1.999),
    ]
    post_envelope(
        collector,
        {"sdk": {"name": "sentry.javascript.browser", "version": "11.12.0"}, "trace": {"trace_id": TRACE}},
        (
            {"type": "span", "item_count": len(spans), "content_type": "application/vnd.sentry.items.span.v2+json"},
            {"version": 2, "items": spans},
        ),
    )


def db_span(span_id, description, start, length):
    return {
        "trace_id": TRACE,
        "span_id": span_id,
        "parent_span_id": BACKEND,
        "op": "db",
        "description": description,
        "start_timestamp": T0 + start,
        "timestamp": T0 + start + length,
    }


def post_backend_transaction(collector):
    # Seven alike queries of 8 ms, then 300 ms where nothing ran, then a 2 ms one.
    spans = [db_span(s, f"SELECT * FROM orders WHERE id = {k}", 0.11 + k * 0.01, 0.008) for k, s in enumerate(DB_SPANS)]
    spans.append(db_span(UPDATE, "UPDATE carts SET seen = 1", 0.478, 0.002))
    event = {
        "type": "transaction",
        "transaction": "GET /api/orders",
        "platform": "python",
        "start_timestamp": T0 + 0.1,
        "timestamp": T0 + 1.4,
        "sdk": {"name": "sentry.python.fastapi", "version": "2.75.0"},
        "contexts": {"trace": {"trace_id": TRACE, "span_id": BACKEND, "parent_span_id": FETCH, "op": "http.server"}},
        "spans": spans,
    }
    post_envelope(collector, {"event_id": "d" * 32, "trace": {"trace_id": TRACE}}, ({"type": "transaction"}, event))


def open_trace(collector, page):
    post_browser_spans(collector)
    post_backend_transaction(collector)
    page.goto(f"{collector.url}/traces/{TRACE}")
    page.wait_for_selector("body[data-waterfall=ready]")


def span_rows(page):
    return page.eval_on_selector_all("#rows .row[data-span-id]", "els => els.map(e => e.dataset.spanId)")


def box(page, selector):
    return page.locator(selector).bounding_box()


def test_alike_siblings_fold_into_a_group_and_gaps_show_as_missing_instrumentation(collector, page):
    open_trace(collector, page)
    group = page.locator("#rows .row.group-row")
    assert group.count() == 1
    assert group.get_attribute("data-count") == "7" and "\u00d77" in group.inner_text()
    assert "SELECT * FROM orders WHERE id = ?" in group.inner_text()
    assert not set(DB_SPANS) & set(span_rows(page))
    # The 2 ms UPDATE is not alike: it stays a row of its own.
    assert UPDATE in span_rows(page)
    group.locator("button.toggle").click()
    shown = span_rows(page)
    assert [s for s in shown if s in DB_SPANS] == DB_SPANS
    depths = page.eval_on_selector_all("#rows .row[data-span-id^='21']", "els => els.map(e => e.dataset.depth)")
    assert len(set(depths)) == 1
    # 300 ms between the queries and the UPDATE; 450 ms between the browser's two fetches.
    gaps = page.eval_on_selector_all(
        "#rows .row.gap-row",
        "els => els.map(e => [e.querySelector('.name').textContent, e.querySelector('.dur').textContent])",
    )
    assert gaps == [["missing instrumentation", "300 ms"], ["missing instrumentation", "450 ms"]]
    kinds = page.eval_on_selector_all("#rows .row", "els => els.map(e => e.dataset.spanId || e.dataset.kind)")
    assert kinds[kinds.index(DB_SPANS[-1]) + 1] == "gap" and kinds[kinds.index(UPDATE) - 1] == "gap"
    # A collapsed parent says how much it hides.
    page.click(f"#span-{BACKEND} button.toggle")
    assert page.inner_text(f"#span-{BACKEND} .tag.kids") == "8 spans hidden"
    assert page.errors == []


def test_web_vitals_are_marked_on_the_axis_by_googles_thresholds(collector, page):
    open_trace(collector, page)
    for name, rating in (("lcp", "meh"), ("fcp", "good"), ("ttfb", "poor")):
        mark = page.locator(f".axis .vital.vital-{name}")
        assert mark.count() == 1 and rating in mark.get_attribute("class").split(), name
    # LCP at 3.1 s lies past this 2 s trace's end, FCP at 0.9 s inside it.
    fcp, axis = box(page, ".axis .vital-fcp"), box(page, ".axis .ticks")
    assert axis["x"] + 0.4 * axis["width"] < fcp["x"] < axis["x"] + 0.5 * axis["width"]
    for name, rating in (("inp", "poor"), ("cls", "good")):
        assert rating in page.get_attribute(f"#vitals .vital-{name}", "class").split(), name
    assert page.inner_text("#vitals .vital-cls") == "CLS 0.05"
    assert page.errors == []


def test_search_by_key_and_duration_steps_through_the_matches(collector, page):
    open_trace(collector, page)
    page.fill("#span-search", "op:db duration:>5ms")
    assert page.inner_text("#search-count") == "7 matches"
    page.press("#span-search", "Enter")
    assert page.inner_text("#search-count") == "1 of 7"
    # The match sat in the folded group: stepping to it opens the group.
    assert "current-match" in page.get_attribute(f"#span-{DB_SPANS[0]}", "class")
    page.press("#span-search", "Enter")
    assert page.inner_text("#search-count") == "2 of 7"
    assert "current-match" in page.get_attribute(f"#span-{DB_SPANS[1]}", "class")
    assert "match" not in page.get_attribute(f"#span-{UPDATE}", "class").split()
    page.click("#search-prev")
    assert page.inner_text("#search-count") == "1 of 7"
    page.fill("#span-search", "op:db !description:select")
    assert page.inner_text("#search-count") == "1 match"
    page.fill("#span-search", "duration:>soon")
    assert "duration:>100ms" in page.inner_text("#search-count")
    assert page.errors == []


def test_keyboard_opens_a_pane_that_leaves_the_timeline_in_view(collector, page):
    open_trace(collector, page)
    page.focus("#viewport")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert "cursor" in page.get_attribute(f"#span-{FETCH}", "class")
    page.keyboard.press("Enter")
    assert page.is_visible("#details") and "GET /api/orders" in page.inner_text("#details h2")
    pane, timeline = box(page, "#details"), box(page, "#viewport")
    assert timeline["x"] + timeline["width"] <= pane["x"] + 1
    assert timeline["width"] > 600
    page.keyboard.press("Escape")
    assert page.is_hidden("#details")
    assert page.errors == []


def test_no_duration_label_runs_past_the_waterfall(collector, page):
    open_trace(collector, page)
    page.click("#expand-all")
    outer = box(page, "#waterfall")
    labels = page.eval_on_selector_all(
        "#rows .dur", "els => els.map(e => { const b = e.getBoundingClientRect(); return [b.left, b.right]; })"
    )
    assert len(labels) >= 13
    for left, right in labels:
        assert outer["x"] <= left and right <= outer["x"] + outer["width"]
    assert page.errors == []

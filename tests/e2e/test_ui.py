"""The pages, in headless Chromium: what a person sees."""

import json
import subprocess
import sys
import time
from pathlib import Path

import helpers
from collector.web.filters import fmt_duration
from helpers import post_envelope
from stored_rows import healthy_rows, row_ids, write_rows

T0 = time.time() - 60
TRACE = "a1" * 16


def v2_span(span_id, parent, name, op, start, end, segment=False, **attrs):
    attributes = {k.replace("_", "."): v for k, v in attrs.items()}
    return helpers.v2_span(TRACE, T0, span_id, parent, name, op, start, end, segment, attributes)


def browser_envelope(collector, spans, email="ada@example.com"):
    for s in spans:
        s["attributes"]["user.email"] = {"type": "string", "value": email}
    post_envelope(
        collector,
        {
            "sdk": {"name": "sentry.javascript.browser", "version": "11.12.0"},
            "trace": {"trace_id": TRACE, "sample_rate": "0.5", "sampled": "true"},
        },
        (
            {"type": "span", "item_count": len(spans), "content_type": "application/vnd.sentry.items.span.v2+json"},
            {"version": 2, "items": spans},
        ),
    )


def backend_transaction(
    collector, span_id, parent, name, start, end, user, trace=TRACE, error=None, sdk="sentry.python.fastapi"
):
    event = {
        "type": "transaction",
        "transaction": name,
        "platform": "python",
        "start_timestamp": T0 + start,
        "timestamp": T0 + end,
        "sdk": {"name": sdk, "version": "2.75.0"},
        "user": user,
        "environment": "test",
        "release": "backend@2",
        "contexts": {
            "trace": {
                "trace_id": trace,
                "span_id": span_id,
                "parent_span_id": parent,
                "op": "http.server",
                "status": "ok",
            }
        },
        "spans": [
            {
                "trace_id": trace,
                "span_id": span_id[:-1] + "f",
                "parent_span_id": span_id,
                "op": "db",
                "description": "SELECT * FROM orders",
                "start_timestamp": T0 + start + 0.01,
                "timestamp": T0 + start + 0.02,
            }
        ],
    }
    items = [({"type": "transaction"}, event)]
    if error:
        items.append(
            (
                {"type": "event"},
                {
                    "event_id": error,
                    "level": "error",
                    "platform": "python",
                    "sdk": {"name": sdk},
                    "user": user,
                    "timestamp": T0 + end,
                    "exception": {"values": [{"type": "RuntimeError", "value": "orders exploded"}]},
                    "contexts": {"trace": {"trace_id": trace, "span_id": span_id}},
                },
            )
        )
    # Each transaction its own event id: a second one with the same id is a resend, and kept once.
    post_envelope(
        collector, {"event_id": error or "e" * 16 + span_id, "trace": {"trace_id": trace, "sample_rate": "0.5"}}, *items
    )


def rows(page):
    return page.eval_on_selector_all(
        "#rows .row",
        "els => els.map(e => ({id: e.dataset.spanId, parent: e.dataset.parentSpanId,"
        " depth: +e.dataset.depth, text: e.innerText, cls: e.className}))",
    )


def test_stitched_trace_with_orphan_second_root_and_users(collector, page):
    browser_envelope(
        collector,
        [
            v2_span("1000000000000001", None, "/checkout", "pageload", 0, 1.0, segment=True),
            v2_span("1000000000000002", "1000000000000001", "GET http://api.local/orders", "http.client", 0.1, 0.5),
        ],
    )
    backend_transaction(
        collector,
        "2000000000000001",
        "1000000000000002",
        "/orders",
        0.15,
        0.45,
        {"id": "42", "email": "ada@example.com"},
        error="c" * 32,
    )
    # A segment whose caller never reported, and one that started on its own.
    backend_transaction(collector, "3000000000000001", "9999999999999999", "/lost", 0.6, 0.7, {"id": "anon-7"})
    backend_transaction(collector, "4000000000000001", None, "/cron", 2.0, 2.1, {"id": "anon-7"})

    page.goto(f"{collector.url}/traces/{TRACE}")
    page.wait_for_selector("body[data-waterfall=ready]")
    shown = {r["id"]: r for r in rows(page)}
    fetch, backend = shown["1000000000000002"], shown["2000000000000001"]
    # The backend segment hangs under the browser's fetch span.
    assert backend["parent"] == fetch["id"] and backend["depth"] == fetch["depth"] + 1
    order = [r["id"] for r in rows(page)]
    assert order.index("2000000000000001") == order.index("1000000000000002") + 1
    assert "web · sentry.javascript.browser" in shown["1000000000000001"]["text"]
    assert "backend · sentry.python.fastapi" in backend["text"]
    assert "RuntimeError: orders exploded" in backend["text"]
    assert page.get_attribute("#span-2000000000000001 a.err", "href") == "/events/" + "c" * 32
    # Broken structure is shown, not hidden.
    assert "orphan" in shown["3000000000000001"]["cls"] and "orphan" in shown["3000000000000001"]["text"]
    assert "orphan" not in shown["4000000000000001"]["cls"]
    assert page.is_visible("#warn-orphans") and page.is_visible("#warn-roots")
    assert "2 root spans" in page.inner_text("#warn-roots")
    assert page.is_visible("#gaps")
    # Who the user was, per segment, and where the sides disagree.
    users = page.inner_text("#segment-users")
    assert users.count("ada@example.com") == 2 and "anon-7" in users
    # The doctor panel names the segments that sent no named user.
    findings = page.inner_text("#findings")
    assert "anonymous_events" in findings and "'/lost'" in findings and "orphan_segment" in findings
    summary = page.inner_text(".services")
    assert "rate 0.5" in summary and "backend@2" in summary
    assert page.errors == []


def test_collapse_search_and_details(collector, page):
    browser_envelope(
        collector,
        [
            v2_span("1000000000000001", None, "/checkout", "pageload", 0, 1.0, segment=True),
            v2_span(
                "1000000000000002",
                "1000000000000001",
                "GET /orders",
                "http.client",
                0.1,
                0.5,
                http_url="http://api.local/orders?id=77",
            ),
            v2_span("1000000000000003", "1000000000000002", "parse", "function", 0.2, 0.3),
        ],
    )
    page.goto(f"{collector.url}/traces/{TRACE}")
    page.wait_for_selector("body[data-waterfall=ready]")
    assert len(rows(page)) == 3
    page.click("#span-1000000000000002 button.toggle")
    assert [r["id"] for r in rows(page)] == ["1000000000000001", "1000000000000002"]
    page.click("#expand-all")
    page.fill("#span-search", "id=77")
    assert page.inner_text("#search-count") == "1 match"
    assert "match" in page.get_attribute("#span-1000000000000002", "class")
    page.click("#span-1000000000000002 .desc")
    details = page.inner_text("#details")
    assert "http.url" in details and "http://api.local/orders?id=77" in details and "1000000000000001" in details


def test_ten_thousand_spans_render_without_freezing(collector, page):
    spans = [v2_span("5" + f"{0:015x}", None, "/big", "pageload", 0, 20.0, segment=True)]
    for i in range(1, 10_000):
        parent = "5" + f"{(i - 1) // 10 * 10 if i > 10 else 0:015x}" if i % 10 else "5" + f"{0:015x}"
        spans.append(v2_span("5" + f"{i:015x}", parent, f"step {i}", "function", i * 0.001, i * 0.001 + 0.5))
    for chunk in range(0, len(spans), 1000):
        browser_envelope(collector, spans[chunk : chunk + 1000])
    page.goto(f"{collector.url}/traces/{TRACE}", timeout=60_000)
    page.wait_for_selector("body[data-waterfall=ready]", timeout=60_000)
    assert "10,000 spans" in page.inner_text(".facts")
    # Virtualised: a screenful of rows in the DOM, not ten thousand.
    assert 10 < len(rows(page)) < 200
    page.fill("#span-search", "step 9999")
    page.press("#span-search", "Enter")
    page.wait_for_selector("#span-5" + f"{9999:015x}")
    assert page.evaluate("document.querySelectorAll('#rows .row').length") < 200
    assert page.errors == []


# Where the old Python and JS formatters differed (4.2 ms, exact halves), and the edges of the rule.
DURATION_PROBES = [
    0,
    0.0004,
    0.0025,
    0.0042,
    0.0125,
    0.9994,
    0.9995,
    1.125,
    1.2345,
    -0.25,
    -0.0025,
    59.999,
    1e6,
    -2e6,
    None,
    "1.5",
]


def test_durations_read_the_same_on_the_page_as_the_python_formatter_gives(collector, page):
    browser_envelope(
        collector,
        [
            v2_span("1000000000000001", None, "/checkout", "pageload", 0, 1.2345, segment=True),
            v2_span("1000000000000002", "1000000000000001", "GET /a", "http.client", 0.1, 0.1042),
            v2_span("1000000000000003", "1000000000000001", "GET /b", "http.client", 0.2, 0.2125),
        ],
    )
    page.goto(f"{collector.url}/traces/{TRACE}")
    page.wait_for_selector("body[data-waterfall=ready]")
    spans = collector.get(f"/api/traces/{TRACE}")["spans"]
    for span in spans:
        label = page.inner_text(f"#span-{span['span_id']} .dur")
        assert label == fmt_duration(span["timestamp"] - span["start_timestamp"]), span["span_id"]
    assert page.inner_text("#span-1000000000000002 .dur") == "4.2 ms"
    # The summary is drawn by the server, the axis by the script: the trace's length reads the same in both.
    ticks = page.eval_on_selector_all(".axis .tick", "els => els.map(e => e.textContent)")
    assert ticks[-1] == page.inner_text(".facts b")
    shown = page.evaluate("values => values.map(window.fmtDuration)", DURATION_PROBES)
    assert shown == [fmt_duration(v) for v in DURATION_PROBES]
    assert page.errors == []


XSS_SCRIPT = "<script>window.__pwned = 1</script>"
XSS_ATTR = '"><img src=x onerror="window.__pwned = 2">'


def test_event_content_is_never_executed(collector, page):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    user = {"id": XSS_ATTR, "email": XSS_SCRIPT}
    event_id = "d" * 32
    post_envelope(
        collector,
        {"event_id": event_id},
        (
            {"type": "event"},
            {
                "event_id": event_id,
                "message": XSS_SCRIPT + XSS_ATTR,
                "level": "error",
                "user": user,
                "tags": {"evil": XSS_ATTR, XSS_SCRIPT: "key"},
                "timestamp": T0,
                "exception": {
                    "values": [
                        {
                            "type": XSS_SCRIPT,
                            "value": XSS_ATTR,
                            "stacktrace": {
                                "frames": [
                                    {
                                        "function": XSS_SCRIPT,
                                        "in_app": True,
                                        "context_line": XSS_ATTR,
                                        "vars": {"x": XSS_SCRIPT},
                                    }
                                ]
                            },
                        }
                    ]
                },
                "breadcrumbs": [{"message": XSS_ATTR, "category": XSS_SCRIPT}],
                "contexts": {
                    "trace": {"trace_id": TRACE, "span_id": "1000000000000001"},
                    "browser": {"name": XSS_SCRIPT},
                },
            },
        ),
    )
    browser_envelope(
        collector,
        [v2_span("1000000000000001", None, XSS_SCRIPT + "</script>", XSS_ATTR, 0, 1, segment=True, evil=XSS_ATTR)],
        email=XSS_SCRIPT,
    )
    for path in (f"/events/{event_id}", f"/traces/{TRACE}", "/traces", "/errors", "/users", "/users/" + "%3Cscript%3E"):
        page.goto(collector.url + path)
        page.wait_for_load_state("load")
        if path.startswith("/traces/"):
            page.wait_for_selector("body[data-waterfall=ready]")
            page.click("#span-1000000000000001 .desc")
        assert page.evaluate("window.__pwned") is None, path
        assert page.evaluate("document.querySelectorAll('img').length") == 0, path
    page.goto(f"{collector.url}/events/{event_id}")
    assert XSS_SCRIPT in page.inner_text("main")
    assert dialogs == [] and page.errors == []


def test_list_filters_and_jump_box(collector, page):
    browser_envelope(collector, [v2_span("1000000000000001", None, "/slow-page", "pageload", 0, 3.0, segment=True)])
    backend_transaction(
        collector,
        "6000000000000001",
        None,
        "/fast",
        0,
        0.01,
        {"email": "bob@example.com"},
        trace="b2" * 16,
        error="f" * 32,
    )
    page.goto(collector.url + "/")
    assert "/slow-page" in page.inner_text("table.list") and "/fast" in page.inner_text("table.list")
    page.goto(collector.url + "/traces?has_errors=1")
    assert "/fast" in page.inner_text("table.list") and "/slow-page" not in page.inner_text("table.list")
    page.goto(collector.url + "/traces?min_duration_ms=1000")
    assert "/slow-page" in page.inner_text("table.list") and "/fast" not in page.inner_text("table.list")
    page.goto(collector.url + "/traces?user=bob@")
    assert "/fast" in page.inner_text("table.list") and "/slow-page" not in page.inner_text("table.list")
    page.goto(collector.url + "/traces?sdk=javascript.browser&environment=nope")
    assert "No trace matches" in page.inner_text("main")
    # The jump box takes a span id to its trace, with the span open.
    page.fill("input[name=q]", "6000000000000001")
    page.press("input[name=q]", "Enter")
    page.wait_for_selector("body[data-waterfall=ready]")
    assert page.url.endswith("/traces/" + "b2" * 16 + "#span-6000000000000001")
    assert not page.is_hidden("#details") and "6000000000000001" in page.inner_text("#details")
    page.fill("input[name=q]", "f" * 32)
    page.press("input[name=q]", "Enter")
    assert "orders exploded" in page.inner_text("h1")
    page.goto(collector.url + "/errors")
    assert "RuntimeError: orders exploded" in page.inner_text("table.list")
    page.goto(collector.url + "/users/bob@example.com")
    assert "/fast" in page.inner_text("main") and "orders exploded" in page.inner_text("main")


def test_error_page_from_the_real_python_sdk(collector, page):
    app = Path(__file__).resolve().parent.parent / "apps" / "fastapi_app.py"
    out = subprocess.run([sys.executable, str(app), collector.dsn], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    trace_id = json.loads(out.stderr.strip().splitlines()[-1])["boom"]
    [error] = collector.get(f"/api/traces/{trace_id}")["errors"]
    page.goto(f"{collector.url}/events/{error['event_id']}")
    main = page.inner_text("main")
    assert "RuntimeError" in main and "kaboom from the backend" in main
    in_app = page.locator(".frame.in-app").first.inner_text()
    assert "boom" in in_app and 'raise RuntimeError("kaboom from the backend")' in in_app
    assert "anon-1" in main and "sentry.python.fastapi" in main
    assert "Context: runtime" in main
    page.click("#trace-link")
    page.wait_for_selector("body[data-waterfall=ready]")
    assert "/boom" in page.inner_text("#details")


def test_a_trace_with_poisoned_rows_still_draws(tmp_path, page):
    """Rows as an older version may have stored them: the waterfall draws
    every span and opens each one's details without a script error."""
    from conftest import Collector

    rows = healthy_rows(row_ids(1, 0))
    segment, child = rows["spans"]
    poison = [
        {"start_timestamp": 1.7e12},
        {"timestamp": None, "start_timestamp": "soon"},
        {"data": "[1, 2]", "tags": '[["a", "b", "c"]]'},
        {"description": b"\xff blob", "op": 5},
        {"dsc": '"x"', "status": 7},
        {"data": '{"url.full": 5, "url": ["x"]}', "op": "http.client"},
        {"timestamp": float("inf"), "data": "{bad json"},
        {"parent_span_id": child["span_id"], "description": "<img src=x onerror=alert(1)>"},
    ]
    spans = [segment, child] + [{**child, "span_id": f"7{i:015x}", **p} for i, p in enumerate(poison)]
    write_rows(tmp_path / "old.db", {**{t: rows[t] for t in ("traces", "events", "logs")}, "spans": spans})
    collector = Collector(tmp_path / "old.db").start()
    try:
        page.goto(f"{collector.url}/traces/{segment['trace_id']}")
        page.wait_for_selector("body[data-waterfall=ready]")
        # Five alike siblings fold into a group row: expand all to see every span.
        page.click("#expand-all")
        shown = page.eval_on_selector_all("#rows .row[data-span-id]", "els => els.map(e => e.dataset.spanId)")
        assert len(shown) == len(spans)
        for span_id in shown:
            page.click(f"#span-{span_id} .name")
            assert not page.is_hidden("#details")
        assert page.evaluate("document.querySelectorAll('img').length") == 0
        assert page.errors == []
    finally:
        collector.stop()

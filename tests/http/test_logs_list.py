"""The logs list: /api/logs searched and filtered (q, level, sdk, trace_id,
user), paged newest first, and the /logs page linking each log to its trace."""

from __future__ import annotations

import time

import orjson

from helpers import TRACE, envelope, post

OTHER_TRACE = "fedcba9876543210fedcba9876543210"
SPAN = "0123456789abcdef"


def _attr(value):
    kind = "integer" if isinstance(value, int) else "string"
    return {"value": value, "type": kind}


def log_record(body, level="info", trace_id=TRACE, span_id=SPAN, ts=None, **attributes):
    record = {"timestamp": ts or time.time(), "trace_id": trace_id, "level": level, "body": body}
    attrs = {k.replace("__", "."): _attr(v) for k, v in attributes.items()}
    if span_id:
        attrs["sentry.trace.parent_span_id"] = _attr(span_id)
    record["attributes"] = attrs
    return record


def log_envelope(records, sdk="sentry.python"):
    item = {"type": "log", "item_count": len(records), "content_type": "application/vnd.sentry.items.log+json"}
    return envelope((item, orjson.dumps({"items": records})), header={"sdk": {"name": sdk, "version": "2.0.0"}})


async def store_logs(client):
    now = time.time()
    python_logs = [
        log_record("checkout started", ts=now - 50, user__id=42, cart="a_b%"),
        log_record("payment failed", level="error", ts=now - 40, user__email="ana@example.com"),
        log_record("no span here", level="warn", span_id=None, ts=now - 30),
    ]
    browser_logs = [log_record("clicked buy", trace_id=OTHER_TRACE, ts=now - 20, user__id="7")]
    assert (await post(client, log_envelope(python_logs))).status == 200
    assert (await post(client, log_envelope(browser_logs, sdk="sentry.javascript.browser"))).status == 200


async def bodies(client, query=""):
    r = await client.get(f"/api/logs{query}")
    assert r.status == 200, await r.text()
    return [log["body"] for log in (await r.json())["logs"]]


async def test_logs_newest_first_and_filtered(client):
    await store_logs(client)
    assert await bodies(client) == ["clicked buy", "no span here", "payment failed", "checkout started"]
    assert await bodies(client, "?q=payment") == ["payment failed"]
    # q searches the attributes too, and % and _ in it are literal.
    assert await bodies(client, "?q=a_b%25") == ["checkout started"]
    assert await bodies(client, "?q=a%25") == []
    assert await bodies(client, "?level=ERROR") == ["payment failed"]
    assert await bodies(client, "?sdk=javascript") == ["clicked buy"]
    assert await bodies(client, f"?trace_id={OTHER_TRACE.upper()}") == ["clicked buy"]
    # The user only in attributes; a numeric user.id matches its text.
    assert await bodies(client, "?user=42") == ["checkout started"]
    assert await bodies(client, "?user=ana@example.com") == ["payment failed"]
    assert await bodies(client, "?user=7&sdk=browser") == ["clicked buy"]
    assert await bodies(client, "?user=nobody") == []


async def test_logs_paged(client):
    await store_logs(client)
    assert await bodies(client, "?limit=2") == ["clicked buy", "no span here"]
    assert await bodies(client, "?limit=2&offset=2") == ["payment failed", "checkout started"]
    assert await bodies(client, "?limit=2&page=2") == ["payment failed", "checkout started"]
    r = await client.get("/api/logs?limit=abc")
    assert r.status == 400 and "limit" in (await r.json())["detail"]


async def test_each_log_links_to_its_trace_and_span(client):
    await store_logs(client)
    logs = {log["body"]: log for log in (await (await client.get("/api/logs")).json())["logs"]}
    assert logs["payment failed"]["trace_url"] == f"/traces/{TRACE}#span-{SPAN}"
    assert logs["no span here"]["trace_url"] == f"/traces/{TRACE}"
    assert logs["checkout started"]["user"] == {"id": "42"}
    assert logs["checkout started"]["attributes"]["cart"] == "a_b%"


async def test_logs_page(client):
    await store_logs(client)
    html = await (await client.get("/logs?limit=3")).text()
    assert "payment failed" in html and "checkout started" not in html
    assert f'href="/traces/{TRACE}#span-{SPAN}"' in html
    assert 'class="level level-error"' in html
    assert "older →" in html
    # Attributes are shown on expand, escaped.
    assert "<details><summary>checkout started" in (await (await client.get("/logs?page=2&limit=3")).text())
    empty = await (await client.get("/logs?q=nothing-matches")).text()
    assert "No log matches these filters" in empty
    bad = await client.get("/logs?limit=x")
    assert bad.status == 400 and 'id="log-filters"' in await bad.text()


async def test_logs_page_escapes_what_the_sdk_sent(client):
    hostile = "<script>alert(1)</script>"
    assert (await post(client, log_envelope([log_record(hostile, level=hostile, **{"x": hostile})]))).status == 200
    html = await (await client.get("/logs")).text()
    assert hostile not in html and "&lt;script&gt;" in html


async def test_no_logs_yet_says_how_to_send_them(client):
    html = await (await client.get("/logs")).text()
    assert "No logs yet" in html and "enable_logs=True" in html

"""The trace page tells the whole story: a trace of logs only or errors only
has a page, and a trace's doctor panel shows what /doctor shows for it,
for both halves of a request that did not link."""

from __future__ import annotations

import re
import time

import orjson
from markupsafe import escape

from helpers import envelope, post

CLIENT_TRACE = "a" * 32
BACKEND_TRACE = "f" * 32
WEB = {"name": "sentry.javascript.browser", "version": "11.0.0"}
PY = {"name": "sentry.python.fastapi", "version": "2.0.0"}


def _item(kind: str, payload: dict) -> tuple[dict, bytes]:
    return {"type": kind}, orjson.dumps(payload)


def _transaction(event_id, trace_id, span_id, op, name, start, sdk, parent=None, spans=(), request=None):
    trace = {"trace_id": trace_id, "span_id": span_id, "op": op, **({"parent_span_id": parent} if parent else {})}
    return _item(
        "transaction",
        {
            "event_id": event_id,
            "type": "transaction",
            "transaction": name,
            "start_timestamp": start,
            "timestamp": start + 1,
            "contexts": {"trace": trace},
            "spans": list(spans),
            "sdk": sdk,
            **({"request": request} if request else {}),
        },
    )


async def store_unlinked_pair(client, headers) -> None:
    """A browser pageload whose fetch reached the backend, which started a trace of its own."""
    now = time.time() - 60
    fetch = {
        "trace_id": CLIENT_TRACE,
        "span_id": "b000000000000002",
        "parent_span_id": "b000000000000001",
        "op": "http.client",
        "description": "GET http://127.0.0.1:8000/api/orders",
        "start_timestamp": now + 0.1,
        "timestamp": now + 0.5,
        "data": {"url": "http://127.0.0.1:8000/api/orders"},
    }
    front = _transaction("1" * 32, CLIENT_TRACE, "b000000000000001", "pageload", "/shop", now, WEB, spans=[fetch])
    request = {"url": "http://localhost:8000/api/orders", "headers": headers}
    back = _transaction(
        "2" * 32, BACKEND_TRACE, "c000000000000001", "http.server", "/api/orders", now + 0.2, PY, request=request
    )
    for item in (front, back):
        assert (await post(client, envelope(item, header={}))).status == 200


def page_findings(text: str) -> list[str]:
    return re.findall(r'<div class="finding kind-[^"]*" data-kind="([^"]+)"', text)


async def test_both_halves_of_an_unlinked_request_show_the_findings_doctor_shows(client):
    await store_unlinked_pair(client, [["Host", "localhost:8000"]])
    window = (await (await client.get("/api/doctor?since=1h")).json())["findings"]
    (unlinked,) = [f for f in window if f["kind"] == "unlinked_outgoing_request"]
    assert unlinked["evidence"]["backend_trace_id"] == BACKEND_TRACE
    for trace_id in (CLIENT_TRACE, BACKEND_TRACE):
        mine = [f for f in window if f["trace_id"] == trace_id or trace_id in f["evidence"].values()]
        api = (await (await client.get(f"/api/doctor?trace_id={trace_id}")).json())["findings"]
        assert api == mine and unlinked in api
        r = await client.get(f"/traces/{trace_id}")
        text = await r.text()
        assert r.status == 200
        assert page_findings(text) == [f["kind"] for f in mine]
        assert all(str(escape(f["detail"])) in text for f in mine)
        assert "nothing wrong found" not in text
    # The rows link both ways.
    client_page = await (await client.get(f"/traces/{CLIENT_TRACE}")).text()
    assert f'href="/traces/{BACKEND_TRACE}#span-c000000000000001"' in client_page
    backend_page = await (await client.get(f"/traces/{BACKEND_TRACE}")).text()
    assert f'href="/traces/{CLIENT_TRACE}#span-b000000000000002"' in backend_page


async def test_the_backend_segment_shows_the_headers_it_received(client):
    sentry_trace = f"{CLIENT_TRACE}-b000000000000002-1"
    baggage = "sentry-trace_id=" + CLIENT_TRACE + ",sentry-sample_rate=0.25,sentry-release=shop%402.0"
    await store_unlinked_pair(client, {"Sentry-Trace": sentry_trace, "BAGGAGE": baggage, "traceparent": "00-a-b-01"})
    text = await (await client.get(f"/traces/{BACKEND_TRACE}")).text()
    block = text[text.index('id="incoming"') :]
    assert sentry_trace in block and "rate 0.25 · shop@2.0" in block and "received" in block
    assert 'span b000000000000002 <span class="bad">(not stored on this trace)</span>' in block


async def test_a_trace_of_logs_only_has_a_page(client):
    trace_id = "0" * 31 + "1"
    records = [
        {"timestamp": time.time(), "trace_id": trace_id, "level": "info", "body": "only a log <b>"},
        {"timestamp": time.time() + 0.1, "trace_id": trace_id, "level": "warn", "body": "and another"},
    ]
    item = {"type": "log", "item_count": 2, "content_type": "application/vnd.sentry.items.log+json"}
    body = envelope((item, orjson.dumps({"items": records})), header={"sdk": {"name": "sentry.python"}})
    assert (await post(client, body)).status == 200
    r = await client.get(f"/traces/{trace_id}")
    text = await r.text()
    assert r.status == 200, text
    assert "only a log &lt;b&gt;" in text and "and another" in text and "2 logs" in text
    assert "errors and logs of sentry.python — no span stored" in text
    assert (await client.get(f"/api/traces/{trace_id}")).status == 200
    # The logs tab lists them in time order, below the waterfall, and points to /logs.
    logs_tab = text[text.index('id="trace-logs"') :]
    assert logs_tab.index("only a log &lt;b&gt;") < logs_tab.index("and another")
    assert text.index('id="waterfall"') < text.index('id="trace-logs"')
    assert f"/logs?trace_id={trace_id}" in text


async def test_a_trace_of_errors_only_has_a_page(client):
    trace_id = "0" * 31 + "2"
    event = {
        "event_id": "3" * 32,
        "message": "card declined",
        "level": "error",
        "timestamp": time.time(),
        "contexts": {"trace": {"trace_id": trace_id, "span_id": "d000000000000001"}},
        "sdk": PY,
    }
    assert (await post(client, envelope(_item("event", event), header={}))).status == 200
    r = await client.get(f"/traces/{trace_id}")
    text = await r.text()
    assert r.status == 200, text
    assert "card declined" in text and f'href="/events/{"3" * 32}"' in text
    assert "sentry.python.fastapi — no span stored" in text

"""Health checks and preflights: hidden from the trace list and /api/traces
by default, counted and named there, shown with ?noise=1, never deleted;
`--hide-route` rules (create_app's hide_routes) hide more."""

from __future__ import annotations

import re
import time
import uuid

import orjson

from helpers import envelope, post


def transaction(name: str) -> bytes:
    now = time.time()
    payload = {
        "type": "transaction",
        "event_id": uuid.uuid4().hex,
        "transaction": name,
        "start_timestamp": now - 0.1,
        "timestamp": now,
        "contexts": {"trace": {"trace_id": uuid.uuid4().hex, "span_id": uuid.uuid4().hex[:16], "op": "http.server"}},
        "spans": [],
    }
    return envelope(({"type": "transaction"}, orjson.dumps(payload)), header={"event_id": payload["event_id"]})


async def store(client, *names: str) -> None:
    for name in names:
        assert (await post(client, transaction(name))).status == 200


async def roots(client, query: str = "") -> tuple[list[str], dict]:
    r = await client.get(f"/api/traces{query}")
    assert r.status == 200, await r.text()
    body = await r.json()
    return sorted(t["root"] for t in body["traces"]), body["noise"]


async def test_health_checks_and_preflights_are_hidden_counted_and_shown_on_request(client):
    await store(client, "GET /checkout", "/healthz", "GET /health/db?full=1", "OPTIONS /api/cart", "/metrics/")
    shown, noise = await roots(client)
    assert shown == ["GET /checkout"]
    assert noise["hidden"] == 4 and noise["shown"] is False
    assert "/healthz" in noise["routes"]
    everything, noise = await roots(client, "?noise=1")
    assert everything == ["/healthz", "/metrics/", "GET /checkout", "GET /health/db?full=1", "OPTIONS /api/cart"]
    # Still counted when shown: the page offers to hide them again.
    assert noise["hidden"] == 4 and noise["shown"] is True


async def test_the_page_says_how_many_are_hidden_lists_the_rules_and_links_to_show_them(client):
    await store(client, "GET /checkout", "/healthz", "/ready")
    page = await (await client.get("/traces?sdk=")).text()
    assert "2 health checks hidden" in page
    assert "--hide-route" in page and "<code>/readyz</code>" in page
    toggle = re.search(r'id="noise-toggle" href="([^"]+)"', page).group(1)
    assert "noise=1" in toggle and "sdk=" in toggle
    shown = await (await client.get("/traces" + toggle.replace("&amp;", "&"))).text()
    assert "/healthz" in shown and "2 health checks shown" in shown and ">hide them<" in shown
    assert page.count("<tr data-key=") == 1 and shown.count("<tr data-key=") == 3


async def test_a_list_of_only_health_checks_says_so_rather_than_no_traces_yet(client):
    await store(client, "/health")
    page = await (await client.get("/traces")).text()
    assert "Only health checks and preflights so far" in page
    assert "No traces yet" not in page


async def test_hide_route_rules_add_to_the_defaults(make_client):
    client = await make_client(hide_routes=["/internal/*", "/status"])
    await store(client, "GET /checkout", "GET /internal/cron", "/status", "/health")
    shown, noise = await roots(client)
    assert shown == ["GET /checkout"]
    assert noise["hidden"] == 3
    assert noise["routes"][-2:] == ["/internal/*", "/status"]


async def test_the_other_filters_apply_to_the_count(client):
    await store(client, "/healthz", "/ready")
    _, noise = await roots(client, "?environment=nowhere")
    assert noise["hidden"] == 0


async def test_the_fragment_is_the_list_alone_with_rows_keyed_by_trace(client):
    await store(client, "GET /checkout")
    fragment = await (await client.get("/traces?fragment=list")).text()
    assert "<html" not in fragment and "<form" not in fragment
    assert re.search(r'<tr data-key="[0-9a-f]{32}">', fragment)
    assert "GET /checkout" in fragment

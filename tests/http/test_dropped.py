"""Dropped data made visible: /api/dropped and /dropped list failed items
and rejected requests by reason, the kept bytes download raw, and the
doctor names each on its trace (or in its window); a transaction over
Sentry's size limit but within the collector's is stored, found and flagged."""

from __future__ import annotations

import gzip
import time
import uuid

import orjson

from collector.ingest import normalize
from helpers import envelope, event_item, post

BIG_TRACE = "a" * 32
HUGE_TRACE = "b" * 32


def transaction(trace_id: str, padding: int) -> tuple[dict, bytes]:
    now = time.time()
    payload = {
        "type": "transaction",
        "event_id": uuid.uuid4().hex,
        "transaction": "GET /big",
        "start_timestamp": now - 1,
        "timestamp": now,
        "contexts": {"trace": {"trace_id": trace_id, "span_id": "1" * 16, "op": "http.server"}},
        "extra": {"padding": "x" * padding},
    }
    return {"type": "transaction"}, orjson.dumps(payload)


async def post_gzip(client, body, **headers):
    return await post(client, gzip.compress(body, 1), **{"Content-Encoding": "gzip", **headers})


async def findings(client, query: str) -> list[dict]:
    r = await client.get(f"/api/doctor?{query}")
    assert r.status == 200, await r.text()
    return (await r.json())["findings"]


async def test_a_transaction_over_sentrys_limit_is_stored_found_and_flagged(client):
    body = envelope(transaction(BIG_TRACE, 2_600_000), header={"sdk": {"name": "sentry.python", "version": "2"}})
    assert (await post_gzip(client, body)).status == 200
    assert (await client.get(f"/api/traces/{BIG_TRACE}")).status == 200
    assert (await (await client.get(f"/api/search?q={BIG_TRACE}")).json())["trace_id"] == BIG_TRACE
    [flag] = [f for f in await findings(client, f"trace_id={BIG_TRACE}") if f["kind"] == "over_sentry_limit"]
    assert flag["trace_id"] == BIG_TRACE and flag["sdk"] == "sentry.python"
    assert "the transaction is 2.6 MB; Sentry drops transaction items over 1 MiB" in flag["detail"]
    assert "fewer spans" in flag["fix"]
    page = await (await client.get(f"/traces/{BIG_TRACE}")).text()
    assert "over_sentry_limit" in page and "Sentry drops transaction items over 1 MiB" in page


async def test_an_item_over_the_collectors_limit_is_a_finding_on_its_trace(client):
    huge = transaction(HUGE_TRACE, normalize.ITEM_LIMITS["transaction"] + 10)
    assert (await post_gzip(client, envelope(huge, event_item("kept")))).status == 200
    on_trace = [f for f in await findings(client, f"trace_id={HUGE_TRACE}") if f["kind"] == "dropped_item"]
    assert len(on_trace) == 1 and on_trace[0]["trace_id"] == HUGE_TRACE
    assert "this collector drops transaction items over 10 MiB" in on_trace[0]["detail"]
    in_window = [f for f in await findings(client, "since=1h") if f["kind"] == "dropped_item"]
    assert [f["trace_id"] for f in in_window] == [HUGE_TRACE]
    # Another trace's panel does not show it.
    assert not [f for f in await findings(client, f"trace_id={BIG_TRACE}") if f["kind"] == "dropped_item"]


async def test_failures_without_a_trace_and_refusals_are_window_findings(client):
    bad = envelope(({"type": "transaction"}, b"{not json"), ({"type": "transaction"}, b"{not json either"))
    assert (await post(client, bad)).status == 200
    assert (await post(client, envelope(event_item()), query="", **{"User-Agent": "sentry.python/2.0"})).status == 401
    window = await findings(client, "since=1h")
    [dropped] = [f for f in window if f["kind"] == "dropped_item"]
    assert dropped["trace_id"] is None and dropped["evidence"]["count"] == 2
    assert "a transaction item was not stored" in dropped["detail"] and "/dropped" in dropped["fix"]
    [refused] = [f for f in window if f["kind"] == "rejected_request"]
    assert "answered 401" in refused["detail"] and "DSN" in refused["fix"]
    assert refused["evidence"]["user_agents"] == ["sentry.python/2.0"]


async def test_api_dropped_lists_newest_first_and_the_raw_bytes_download(client):
    assert (await post(client, envelope(({"type": "event"}, b"first not json")))).status == 200
    body = envelope(({"type": "event"}, b"second not json"), header={"sdk": {"name": "sentry.javascript.node"}})
    assert (await post(client, body)).status == 200
    assert (await post(client, b"garbage", **{"User-Agent": "curl/8"})).status == 400
    data = await (await client.get("/api/dropped")).json()
    items = data["failed_items"]
    assert [i["size"] for i in items] == [len(b"second not json"), len(b"first not json")]
    assert items[0]["sdk_name"] == "sentry.javascript.node" and items[0]["item_type"] == "event"
    assert items[0]["received_at"] > time.time() - 60 and "reason" in items[0]
    [rejection] = data["rejections"]
    assert rejection["status"] == 400 and rejection["user_agent"] == "curl/8" and rejection["endpoint"]
    assert sum(data["totals"]["failed_items"].values()) == 2
    raw = await client.get(items[0]["raw_url"])
    assert raw.status == 200 and raw.content_type == "application/octet-stream"
    assert await raw.read() == b"second not json"
    assert raw.headers["Content-Disposition"] == f'attachment; filename="failed-item-{items[0]["id"]}.bin"'
    for missing in ("999999", "abc", "1" * 30):
        r = await client.get(f"/api/dropped/items/{missing}/raw")
        assert r.status == 404 and "detail" in await r.json()


async def test_dropped_page_groups_by_reason_with_counts(client):
    bad = envelope(*[({"type": "event"}, b"<script>x</script>") for _ in range(3)])
    assert (await post(client, bad)).status == 200
    assert (await post(client, envelope(event_item()), query="")).status == 401
    html = await (await client.get("/dropped")).text()
    assert (
        '<span class="count">(3)</span>' in html
        and '<span class="count">(1)</span>' in html
        and html.count('class="failed-item"') == 3
    )
    assert html.count('class="raw" href="/api/dropped/items/') == 3
    assert "missing authentication" in html.lower()


async def test_nothing_dropped_says_so_and_what_to_check(client):
    html = await (await client.get("/dropped")).text()
    assert "No failed items" in html and "No rejected requests" in html and "/doctor" in html

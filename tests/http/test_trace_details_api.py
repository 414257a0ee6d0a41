"""A large trace's page embeds its rows packed and without their details;
the details pane asks /api/traces/{id}/details for one span's tags and
attributes, a search for every span's."""

from __future__ import annotations

import time

import orjson

from helpers import envelope, post, v2_span

TRACE = "d7" * 16
T0 = time.time() - 60
SPANS = 1_500  # past trace_compact.EMBED_DETAILS_MAX


def span_id(i: int) -> str:
    return f"{i + 1:016x}"


async def store_large_trace(client) -> None:
    spans = [v2_span(TRACE, T0, span_id(0), None, "/checkout", "pageload", 0, 20, segment=True)]
    for i in range(1, SPANS):
        attributes = {"http.url": f"https://app.example.com/chunk-{i}.js", "chunk.size": i}
        parent = span_id(i // 10)
        spans.append(
            v2_span(TRACE, T0, span_id(i), parent, f"chunk {i}", "resource.script", i / 1e3, 1, False, attributes)
        )
    header = {"sdk": {"name": "sentry.javascript.browser", "version": "11.12.0"}, "trace": {"trace_id": TRACE}}
    for first in range(0, SPANS, 500):
        chunk = spans[first : first + 500]
        item = {"type": "span", "item_count": len(chunk), "content_type": "application/vnd.sentry.items.span.v2+json"}
        body = envelope((item, orjson.dumps({"version": 2, "items": chunk})), header=header)
        assert (await post(client, body)).status == 200


def embedded(html: str) -> dict:
    return orjson.loads(html.split('id="trace-data">', 1)[1].split("</script>", 1)[0])


async def test_a_large_traces_page_leaves_details_to_the_api(client):
    await store_large_trace(client)
    html = await (await client.get(f"/traces/{TRACE}")).text()
    data = embedded(html)
    assert len(data["rows"]) == SPANS and data["details"] is None
    # Every span's attributes would be ~100 bytes more each; the rows carry none of them.
    assert "chunk.size" not in html and len(html) < 200 * SPANS

    one = await (await client.get(f"/api/traces/{TRACE}/details?span_id={span_id(77)}")).json()
    (details,) = one["details"].values()
    assert list(one["details"]) == [span_id(77)] and set(details) == {"segment_id", "origin", "tags", "data", "dsc"}
    assert details["data"]["http.url"] == "https://app.example.com/chunk-77.js" and details["data"]["chunk.size"] == 77
    every = (await (await client.get(f"/api/traces/{TRACE}/details")).json())["details"]
    assert len(every) == SPANS and every[span_id(1499)]["data"]["chunk.size"] == 1499
    # The page's own window: ?offset= and ?limit= as /api/traces/{id} reads them.
    window = (await (await client.get(f"/api/traces/{TRACE}/details?offset=1000&limit=10")).json())["details"]
    assert len(window) == 10


async def test_details_of_what_is_not_stored(client):
    await store_large_trace(client)
    missing_span = await client.get(f"/api/traces/{TRACE}/details?span_id=ffffffffffffffff")
    assert missing_span.status == 200 and (await missing_span.json())["details"] == {}
    missing_trace = await client.get(f"/api/traces/{'0' * 32}/details?span_id=1")
    assert missing_trace.status == 404 and "no trace" in (await missing_trace.json())["detail"]
    bad = await client.get(f"/api/traces/{TRACE}/details?limit=zero")
    assert bad.status == 400

"""/api/live: what was just stored, as Server-Sent Events, resumable with
Last-Event-ID, filtered by kind and trace, with health checks hidden."""

from __future__ import annotations

import asyncio
import time

import orjson

from helpers import envelope, event_item, post


def transaction_item(name: str, trace_id: str = "ab" * 16, span_id: str = "cd" * 8):
    now = time.time()
    payload = {
        "type": "transaction",
        "transaction": name,
        "start_timestamp": now - 0.25,
        "timestamp": now,
        "contexts": {"trace": {"trace_id": trace_id, "span_id": span_id, "op": "http.server"}},
        "spans": [],
    }
    return {"type": "transaction"}, orjson.dumps(payload)


async def read_events(response, count: int, timeout: float = 10) -> list[dict]:
    """The next `count` SSE events (comments skipped) as {id, event, data}."""
    events, current = [], {}

    async def collect():
        async for raw in response.content:
            line = raw.decode().rstrip("\r\n")
            if not line:
                if current.get("event") not in (None, "ready"):
                    events.append(dict(current))
                current.clear()
                if len(events) == count:
                    return
            elif not line.startswith(":"):
                field, _, value = line.partition(": ")
                current[field] = value

    await asyncio.wait_for(collect(), timeout)
    return [{**e, "data": orjson.loads(e["data"])} for e in events]


async def test_an_error_stored_while_connected_arrives_with_a_database_id(client):
    async with client.get("/api/live") as live:
        assert live.status == 200
        assert live.headers["Content-Type"].startswith("text/event-stream")
        await post(client, envelope(event_item("it happened now", user={"email": "ada@example.com"})))
        [event] = await read_events(live, 1)
    assert event["event"] == "error"
    assert event["data"]["title"] == "it happened now"
    assert event["data"]["user"] == "ada@example.com"
    envelope_id, _, entry = event["id"].partition(".")
    assert int(envelope_id) >= 1 and entry == "0"


async def test_a_client_that_reconnects_with_last_event_id_gets_what_it_missed_once(client):
    async with client.get("/api/live") as live:
        await post(client, envelope(event_item("before the disconnect")))
        [seen] = await read_events(live, 1)
    for n in range(3):
        await post(client, envelope(event_item(f"missed {n}")))
    async with client.get("/api/live", headers={"Last-Event-ID": seen["id"]}) as again:
        caught_up = await read_events(again, 3)
        await post(client, envelope(event_item("after the reconnect")))
        [later] = await read_events(again, 1)
    assert [e["data"]["title"] for e in caught_up] == ["missed 0", "missed 1", "missed 2"]
    assert later["data"]["title"] == "after the reconnect"
    assert len({e["id"] for e in [seen, *caught_up, later]}) == 5


async def test_health_checks_are_hidden_unless_asked_for(client):
    async with client.get("/api/live") as live, client.get("/api/live?noise=1") as noisy:
        await post(client, envelope(transaction_item("GET /healthz", span_id="11" * 8)))
        await post(client, envelope(transaction_item("OPTIONS /api/orders", span_id="22" * 8)))
        await post(client, envelope(transaction_item("GET /api/orders", span_id="33" * 8)))
        [shown] = await read_events(live, 1)
        everything = await read_events(noisy, 3)
    assert shown["data"]["name"] == "GET /api/orders"
    assert shown["data"]["duration"] == 0.25
    assert [e["data"]["name"] for e in everything] == ["GET /healthz", "OPTIONS /api/orders", "GET /api/orders"]


async def test_filters_by_kind_and_trace(client):
    wanted = "ef" * 16
    async with client.get(f"/api/live?kinds=segment&trace_id={wanted.upper()}") as live:
        await post(client, envelope(event_item("an error, not a segment")))
        await post(client, envelope(transaction_item("GET /other", trace_id="12" * 16)))
        await post(client, envelope(transaction_item("GET /wanted", trace_id=wanted)))
        [event] = await read_events(live, 1)
    assert event["data"]["name"] == "GET /wanted"


async def test_bad_parameters_are_refused_with_the_fix(client):
    response = await client.get("/api/live?kinds=errors")
    assert response.status == 400
    assert "kinds must list some of segment" in (await response.json())["detail"]
    response = await client.get("/api/live", headers={"Last-Event-ID": "yesterday"})
    assert response.status == 400
    assert "Last-Event-ID" in (await response.json())["detail"]


def test_an_open_live_stream_does_not_hold_up_the_collectors_shutdown(collector):
    import urllib.request

    stream = urllib.request.urlopen(collector.url + "/api/live", timeout=30)
    assert stream.readline().startswith(b"id: ")
    output = collector.stop()
    # Stopped by SIGTERM and exited by itself (stop() kills after 15 s, which leaves code -9).
    assert collector.proc.returncode == 0, output
    assert "collector: stopped" in output
    stream.close()


async def test_a_client_that_left_is_not_read_for_any_more(client, monkeypatch):
    from collector.read import live

    reads = []
    # The shared read and a client's own read (catching up) both count.
    for name in ("read_after", "entries_after"):
        real = getattr(live, name)
        monkeypatch.setattr(live, name, lambda *args, real=real: reads.append(1) or real(*args))
    # A raw socket, so that leaving really closes the connection (aiohttp's
    # client would keep it for reuse).
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(b"GET /api/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    await writer.drain()
    # The feed starts after what was stored when it answered: wait for that.
    await asyncio.wait_for(reader.readuntil(b"event: ready"), 10)
    await post(client, envelope(event_item("seen before leaving")))
    await asyncio.wait_for(reader.readuntil(b"seen before leaving"), 10)
    writer.close()
    await writer.wait_closed()
    await asyncio.sleep(0.5)
    settled = len(reads)
    await asyncio.sleep(2)
    assert len(reads) == settled


async def test_clients_at_the_head_share_one_read_and_each_gets_what_its_filters_pass(client, monkeypatch):
    from collector.read import live

    own, shared = [], []
    for name, calls in (("entries_after", own), ("read_after", shared)):
        real = getattr(live, name)
        monkeypatch.setattr(live, name, lambda *args, real=real, calls=calls: calls.append(1) or real(*args))
    everything = [await client.get("/api/live").__aenter__() for _ in range(4)]
    errors_only = await client.get("/api/live?kinds=error").__aenter__()
    # The first commit starts the shared reads (each client first catches up on its own).
    await post(client, envelope(event_item("warm-up")))
    for stream in [*everything, errors_only]:
        await read_events(stream, 1)
    own.clear()
    shared.clear()
    for n in range(3):
        await post(client, envelope(event_item(f"error {n}"), transaction_item(f"GET /orders/{n}")))
        seen = [await read_events(stream, 2) for stream in everything]
        [error] = await read_events(errors_only, 1)
        expected = [("segment", f"GET /orders/{n}"), ("error", f"error {n}")]
        assert all(
            [(e["event"], e["data"].get("title") or e["data"].get("name")) for e in events] == expected
            for events in seen
        )
        assert error["data"]["title"] == f"error {n}"
        assert len({tuple(e["id"] for e in events) for events in seen}) == 1
    # One read per commit for all five clients, none of their own.
    assert own == [] and 3 <= len(shared) <= 6, (own, shared)
    for stream in [*everything, errors_only]:
        stream.close()

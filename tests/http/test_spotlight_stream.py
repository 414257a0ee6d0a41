"""GET /stream: stored envelopes framed as Spotlight's sidecar frames them
(event named by content type, id = the header's __spotlight_envelope_id,
data = the envelope parsed to JSON), recent ones sent on connect, resumable
with Last-Event-ID, not readable by other origins; and the ring and client
bounds that keep it from holding memory or slowing ingest."""

from __future__ import annotations

import asyncio
import base64

import orjson

from collector.web.spotlight import CLIENT_ENVELOPES, SPOTLIGHT, Listener, Ring, SpotlightStream, Stored
from helpers import envelope, event_item, post

ENVELOPE = "application/x-sentry-envelope"


async def read_frames(response, count: int, timeout: float = 10) -> list[dict]:
    """The next `count` SSE events (comments skipped) as {id, event, data}."""
    frames, current = [], {}

    async def collect():
        async for raw in response.content:
            line = raw.decode().rstrip("\r\n")
            if not line:
                if current:
                    frames.append(dict(current))
                current.clear()
                if len(frames) == count:
                    return
            elif not line.startswith(":"):
                field, _, value = line.partition(": ")
                current[field] = value

    await asyncio.wait_for(collect(), timeout)
    return [{**f, "data": orjson.loads(f["data"])} for f in frames]


def titled(message: str) -> bytes:
    return envelope(event_item(message), header={"event_id": "ab" * 16, "sdk": {"name": "sentry.python"}})


async def test_an_envelope_posted_to_stream_arrives_framed_as_spotlights_sidecar_frames_it(client):
    async with client.get("/stream") as stream:
        assert stream.status == 200
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        assert await stream.content.readline() == b"\n"
        answer = await post(client, titled("sent to spotlight"), path="/stream", query="", **{"User-Agent": "urllib3"})
        assert answer.status == 200
        [frame] = await read_frames(stream, 1)
    assert frame["event"] == ENVELOPE
    header, items = frame["data"]
    assert header["__spotlight_envelope_id"] == frame["id"]
    assert header["event_id"] == "ab" * 16
    assert header["__spotlight_sender_user_agent"] == "urllib3"
    assert header["__spotlight_inferred_source"] == "server"
    [[item_header, payload]] = items
    assert item_header == {"type": "event"}
    assert payload["message"] == "sent to spotlight" and payload["type"] == "event"


async def test_envelopes_from_the_envelope_endpoint_stream_too_and_refused_ones_do_not(client):
    async with client.get("/stream") as stream:
        await stream.content.readline()
        assert (await post(client, b"{not json\n", path="/stream", query="")).status == 400
        assert (await post(client, titled("by the dsn"))).status == 200
        [frame] = await read_frames(stream, 1)
    assert frame["data"][1][0][1]["message"] == "by the dsn"


async def test_base64_names_the_event_as_spotlights_ui_asks_and_attachments_are_text_or_base64(client):
    png = bytes(range(256))
    recording = b'{"segment_id":0}\n\x78\x9c\x03\x00'
    body = envelope(
        ({"type": "attachment", "length": len(png), "content_type": "image/png", "filename": "a.png"}, png),
        ({"type": "attachment", "content_type": "text/plain", "filename": "a.txt"}, "héllo".encode()),
        ({"type": "replay_recording", "length": len(recording)}, recording),
        header={"event_id": "cd" * 16},
    )
    async with client.get("/stream?base64=1&client=spotlight-ui") as stream:
        await stream.content.readline()
        assert (await post(client, body, path="/stream", query="")).status == 200
        [frame] = await read_frames(stream, 1)
    assert frame["event"] == ENVELOPE + ";base64"
    binary, text, replay = frame["data"][1]
    assert base64.b64decode(binary[1]["data"]) == png
    assert text[1] == {"data": "héllo"}
    # Not JSON: Spotlight's parser gives null too.
    assert replay == [{"type": "replay_recording", "length": len(recording)}, None]


async def test_a_client_connecting_later_gets_recent_envelopes_and_resumes_after_last_event_id(client):
    for n in range(3):
        assert (await post(client, titled(f"earlier {n}"), path="/stream", query="")).status == 200
    async with client.get("/stream") as first:
        seen = await read_frames(first, 3)
    assert [f["data"][1][0][1]["message"] for f in seen] == ["earlier 0", "earlier 1", "earlier 2"]
    await post(client, titled("missed"), path="/stream", query="")
    async with client.get("/stream", headers={"Last-Event-ID": seen[-1]["id"]}) as again:
        [caught_up] = await read_frames(again, 1)
        await post(client, titled("live"), path="/stream", query="")
        [live] = await read_frames(again, 1)
    assert caught_up["data"][1][0][1]["message"] == "missed"
    assert live["data"][1][0][1]["message"] == "live"
    assert len({f["id"] for f in [*seen, caught_up, live]}) == 5


async def test_another_origin_may_not_read_the_stream(client):
    for headers in (
        {"Origin": "http://localhost:3000"},
        {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"},
        {"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "cors"},
    ):
        answer = await client.get("/stream", headers=headers)
        assert answer.status == 403, headers
        assert "Access-Control-Allow-Origin" not in answer.headers


async def test_the_stream_carries_the_private_headers_of_the_read_api(client):
    async with client.get("/stream") as stream:
        assert stream.headers["Cross-Origin-Resource-Policy"] == "same-origin"
        assert stream.headers["X-Content-Type-Options"] == "nosniff"
        assert "Access-Control-Allow-Origin" not in stream.headers


async def test_shutting_down_ends_open_streams_instead_of_waiting_on_them(client):
    async with client.get("/stream") as stream:
        await stream.content.readline()
        await client.server.app[SPOTLIGHT].close()
        assert await asyncio.wait_for(stream.content.read(), 5) == b""
    assert not client.server.app[SPOTLIGHT].listeners


# --- the bounds -----------------------------------------------------------------


def stored(n: int, size: int = 10) -> Stored:
    return Stored(f"id-{n}", b"x" * size, None)


def test_the_ring_keeps_at_most_its_count_and_its_bytes():
    ring = Ring(max_count=3, max_bytes=100)
    for n in range(5):
        ring.add(stored(n))
    assert [e.id for e in ring.after(None)] == ["id-2", "id-3", "id-4"]
    ring.add(stored(5, size=95))
    assert [e.id for e in ring.after(None)] == ["id-5"] and ring.bytes == 95
    ring.add(stored(6, size=101))
    assert [e.id for e in ring.after(None)] == ["id-5"]


def test_resuming_from_an_id_the_ring_forgot_sends_all_it_has():
    ring = Ring(max_count=2, max_bytes=100)
    for n in range(4):
        ring.add(stored(n))
    assert [e.id for e in ring.after("id-2")] == ["id-3"]
    assert [e.id for e in ring.after("id-0")] == ["id-2", "id-3"]


async def test_a_client_that_falls_behind_is_dropped_and_publishing_never_waits():
    stream = SpotlightStream(Ring(max_count=5, max_bytes=1000))
    slow = stream.listen(None)
    for _ in range(CLIENT_ENVELOPES + 1):
        stream.publish(b"{}\n", None)
    assert slow.dropped and slow not in stream.listeners
    assert slow.take() is None
    fresh = stream.listen(None)
    assert len(fresh.pending) == 5


def test_one_envelope_larger_than_a_clients_backlog_still_reaches_an_idle_client():
    listener = Listener([])
    big = Stored("big", b"x" * (200 * 1024 * 1024), None)
    listener.offer(big)
    assert not listener.dropped and listener.take() is big

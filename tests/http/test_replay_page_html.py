"""The replay page and the error page's links to replays and feedback, as
HTML from the app in-process, fed envelopes shaped as the SDKs send them."""

from __future__ import annotations

import time
import zlib

import orjson

from helpers import TRACE, envelope, post

REPLAY = "ab" * 16
ERROR = "e3" * 16
SDK = {"name": "sentry.javascript.browser", "version": "11.12.0"}


def replay_envelope(segment_id: int, ts: float, record_body: bytes, **extra) -> bytes:
    event = {
        "type": "replay_event",
        "replay_id": REPLAY,
        "segment_id": segment_id,
        "timestamp": ts,
        "replay_start_timestamp": ts - segment_id,
        "replay_type": "buffer",
        "sdk": SDK,
        **extra,
    }
    record = orjson.dumps({"segment_id": segment_id}) + b"\n" + record_body
    return envelope(
        ({"type": "replay_event"}, orjson.dumps(event)),
        ({"type": "replay_recording", "length": len(record)}, record),
        header={"event_id": REPLAY, "sdk": SDK},
    )


def error_envelope(event_id: str, ts: float, replay_id: str, *, tag=False) -> bytes:
    contexts = {"trace": {"trace_id": TRACE, "span_id": "0123456789abcdef"}}
    event = {"event_id": event_id, "timestamp": ts, "exception": {"values": [{"type": "Error", "value": "boom"}]}}
    # @sentry/browser 11 names the replay in a tag only; others in contexts.replay.
    if tag:
        event["tags"] = {"replayId": replay_id}
    else:
        contexts["replay"] = {"replay_id": replay_id}
    event["contexts"] = contexts
    return envelope(({"type": "event"}, orjson.dumps(event)), header={"event_id": event_id})


async def send(client, body: bytes) -> None:
    r = await post(client, body)
    assert r.status == 200, await r.text()


async def page(client, path: str) -> str:
    r = await client.get(path)
    assert r.status == 200, await r.text()
    return await r.text()


async def test_a_corrupt_segment_is_named_and_the_others_still_reach_the_player(client):
    t0 = time.time() - 60
    await send(client, replay_envelope(0, t0, zlib.compress(orjson.dumps([{"type": 4, "timestamp": 1000}]))))
    await send(client, replay_envelope(1, t0 + 1, b"x\x9cnot zlib at all"))
    await send(
        client,
        replay_envelope(2, t0 + 2, orjson.dumps([{"type": 3, "timestamp": 3000}]), urls=["https://shop.test/<b>"]),
    )

    html = await page(client, f"/replays/{REPLAY}")
    assert "Segment 1 could not be decoded:" in html
    assert "Segment 0 could not" not in html and "Segment 2 could not" not in html
    # The recorded URL is text, not markup.
    assert "https://shop.test/&lt;b&gt;" in html and "<b>" not in html.split("<main>")[1]
    assert f'data-replay-id="{REPLAY}"' in html and "/static/vendor/rrweb-player.js" in html

    # What replay.js hands the player: the decodable segments' events, in order.
    detail = await (await client.get(f"/api/replays/{REPLAY}")).json()
    assert [e["timestamp"] for e in detail["events"]] == [1000, 3000]


async def test_the_error_links_to_its_replay_at_the_moment_it_happened(client):
    t0 = time.time() - 60
    await send(client, replay_envelope(0, t0 + 5, zlib.compress(b"[]"), replay_start_timestamp=t0))
    await send(client, error_envelope(ERROR, t0 + 2.5, REPLAY, tag=True))

    html = await page(client, f"/events/{ERROR}")
    assert f'href="/replays/{REPLAY}#t=2.5"' in html


async def test_an_error_whose_replay_never_came_says_so(client):
    missing = "cd" * 16
    await send(client, error_envelope(ERROR, time.time(), missing))
    html = await page(client, f"/events/{ERROR}")
    assert 'id="replay-link"' not in html
    assert f'replay <span class="id">{missing}</span>, but that replay was not received' in html
    assert "replaysOnErrorSampleRate" in html


async def test_the_error_page_shows_its_feedback(client):
    await send(client, error_envelope(ERROR, time.time(), REPLAY))
    feedback = {
        "event_id": "f4" * 16,
        "timestamp": time.time(),
        "contexts": {"feedback": {"message": "<i>cart</i> emptied", "name": "Ana", "associated_event_id": ERROR}},
    }
    other = {**feedback, "event_id": "f5" * 16, "contexts": {"feedback": {"message": "another error's"}}}
    for payload in (feedback, other):
        await send(client, envelope(({"type": "feedback"}, orjson.dumps(payload)), header={"event_id": "f0" * 16}))
    report = {"event_id": ERROR, "name": "Bo", "email": "bo@example.com", "comments": "legacy report"}
    await send(client, envelope(({"type": "user_report"}, orjson.dumps(report)), header={"event_id": ERROR}))

    html = await page(client, f"/events/{ERROR}")
    section = html.split('id="feedback"')[1]
    assert "&lt;i&gt;cart&lt;/i&gt; emptied" in section and "— Ana" in section
    assert "legacy report" in section and "bo@example.com" in section
    assert "another error&#39;s" not in section and "another error's" not in section

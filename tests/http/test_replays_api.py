"""The replay API and pages, fed crafted envelopes as the SDKs send them:
the list's fields, one replay's events in segment order whatever order its
segments arrived in, mobile videos, and what a bad item or field does."""

from __future__ import annotations

import time
import zlib

import msgpack
import orjson

from helpers import TRACE, envelope, post

REPLAY = "aa" * 16
ERROR_ID = "e1" * 16
OTHER_ERROR = "e2" * 16
SDK = {"name": "sentry.javascript.browser", "version": "11.12.0"}
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 4


def replay_event(segment_id, ts, replay_id=REPLAY, **extra):
    return {
        "type": "replay_event",
        "replay_id": replay_id,
        "event_id": replay_id,
        "segment_id": segment_id,
        "timestamp": ts,
        "replay_type": "buffer",
        "platform": "javascript",
        "environment": "production",
        "release": "web@1.0",
        "sdk": SDK,
        **extra,
    }


def recording(segment_id, events) -> bytes:
    return orjson.dumps({"segment_id": segment_id}) + b"\n" + zlib.compress(orjson.dumps(events))


def replay_envelope(event: dict, record: bytes, replay_id=REPLAY) -> bytes:
    return envelope(
        ({"type": "replay_event"}, orjson.dumps(event)),
        ({"type": "replay_recording", "length": len(record)}, record),
        header={"event_id": replay_id, "sdk": SDK},
    )


def error_envelope(event_id, trace_id=TRACE, ts=None) -> bytes:
    event = {
        "event_id": event_id,
        "timestamp": ts or time.time(),
        "exception": {"values": [{"type": "TypeError", "value": "boom"}]},
        "contexts": {"trace": {"trace_id": trace_id, "span_id": "0123456789abcdef"}, "replay": {"replay_id": REPLAY}},
    }
    return envelope(({"type": "event"}, orjson.dumps(event)), header={"event_id": event_id})


def feedback_envelope(event_id, message, **feedback) -> bytes:
    payload = {
        "event_id": event_id,
        "timestamp": time.time(),
        "contexts": {"feedback": {"message": message, "name": "Ana", "contact_email": "ana@example.com", **feedback}},
    }
    return envelope(({"type": "feedback"}, orjson.dumps(payload)), header={"event_id": event_id})


async def send(client, body: bytes) -> None:
    r = await post(client, body)
    assert r.status == 200, await r.text()


async def store_three_segments(client, t0: float) -> None:
    """Segments 2, 0, 1 of one replay, sent in that order."""
    user = {"id": "42", "email": "ana@example.com", "username": "ana", "ip_address": "10.0.0.1"}
    segments = {
        0: replay_event(
            0,
            t0 + 5,
            replay_start_timestamp=t0,
            urls=["http://localhost:5173/"],
            trace_ids=[TRACE],
            error_ids=[ERROR_ID],
        ),
        1: replay_event(1, t0 + 10, urls=["http://localhost:5173/cart"], error_ids=[ERROR_ID, OTHER_ERROR]),
        2: replay_event(2, t0 + 20, urls=["http://localhost:5173/"], trace_ids=[TRACE], user=user),
    }
    for segment_id in (2, 0, 1):
        events = [{"type": 3, "timestamp": (t0 + segment_id) * 1000, "data": {"segment": segment_id}}]
        await send(client, replay_envelope(segments[segment_id], recording(segment_id, events)))


async def get_json(client, path, status=200):
    r = await client.get(path)
    assert r.status == status, await r.text()
    return await r.json()


async def test_the_list_merges_a_replays_segments(client):
    t0 = time.time() - 60
    await store_three_segments(client, t0)
    body = await get_json(client, "/api/replays")
    assert (body["limit"], body["offset"]) == (50, 0)
    [replay] = body["replays"]
    assert replay["replay_id"] == REPLAY
    assert replay["started"] == t0
    assert abs(replay["duration"] - 20) < 1e-6
    assert replay["segments"] == 3
    assert replay["error_ids"] == [ERROR_ID, OTHER_ERROR]
    assert replay["trace_ids"] == [TRACE]
    assert replay["urls"] == ["http://localhost:5173/", "http://localhost:5173/cart"]
    assert replay["user"] == {"id": "42", "email": "ana@example.com", "username": "ana", "ip_address": "10.0.0.1"}
    assert replay["sdk"] == {"name": "sentry.javascript.browser", "version": "11.12.0"}
    assert (await get_json(client, "/api/replays?user=ana@example.com"))["replays"][0]["replay_id"] == REPLAY
    assert (await get_json(client, "/api/replays?user=42"))["replays"][0]["replay_id"] == REPLAY
    assert (await get_json(client, "/api/replays?user=someone"))["replays"] == []


async def test_newest_first_and_paged(client):
    now = time.time()
    for n, replay_id in enumerate(("01" * 16, "02" * 16, "03" * 16)):
        event = replay_event(0, now - 100 + n, replay_id=replay_id, replay_start_timestamp=now - 100 + n)
        await send(client, replay_envelope(event, recording(0, []), replay_id=replay_id))
    ids = [r["replay_id"] for r in (await get_json(client, "/api/replays"))["replays"]]
    assert ids == ["03" * 16, "02" * 16, "01" * 16]
    page = await get_json(client, "/api/replays?limit=1&offset=1")
    assert [r["replay_id"] for r in page["replays"]] == ["02" * 16]


async def test_detail_events_in_segment_order_with_errors_and_feedback(client):
    t0 = time.time() - 60
    await store_three_segments(client, t0)
    await send(client, error_envelope(ERROR_ID))
    await send(client, feedback_envelope("f1" * 16, "the cart emptied itself", associated_event_id=ERROR_ID))
    await send(client, feedback_envelope("f2" * 16, "on the replay"))
    await send(client, feedback_envelope("f3" * 16, "someone else's"))
    # The replay named by the feedback's contexts (as the JS SDK sends it).
    r = await post(
        client,
        envelope(
            (
                {"type": "feedback"},
                orjson.dumps(
                    {
                        "event_id": "f4" * 16,
                        "timestamp": time.time(),
                        "contexts": {
                            "feedback": {"message": "replay context"},
                            "replay": {"replay_id": REPLAY.upper()},
                        },
                    }
                ),
            )
        ),
    )
    assert r.status == 200
    # Any case, with dashes: the id is found.
    dashed = f"{REPLAY[:8]}-{REPLAY[8:12]}-{REPLAY[12:16]}-{REPLAY[16:20]}-{REPLAY[20:]}".upper()
    detail = await get_json(client, f"/api/replays/{dashed}")
    assert [e["data"]["segment"] for e in detail["events"]] == [0, 1, 2]
    assert detail["segment_failures"] == [] and detail["videos"] == []
    assert (detail["platform"], detail["release"], detail["environment"], detail["replay_type"]) == (
        "javascript",
        "web@1.0",
        "production",
        "buffer",
    )
    # Only the stored one of its two errors.
    assert [(e["event_id"], e["trace_id"]) for e in detail["errors"]] == [(ERROR_ID, TRACE)]
    assert detail["errors"][0]["title"]
    assert sorted(f["message"] for f in detail["feedback"]) == ["replay context", "the cart emptied itself"]


async def test_a_corrupt_segment_is_reported_and_the_others_play(client):
    t0 = time.time() - 60
    await send(client, replay_envelope(replay_event(0, t0), recording(0, [{"type": 4, "timestamp": 1}])))
    bad = orjson.dumps({"segment_id": 1}) + b"\n\x78\x9cnot zlib"
    await send(client, replay_envelope(replay_event(1, t0 + 1), bad))
    await send(client, replay_envelope(replay_event(2, t0 + 2), recording(2, [{"type": 3, "timestamp": 3}])))
    detail = await get_json(client, f"/api/replays/{REPLAY}")
    assert [e["type"] for e in detail["events"]] == [4, 3]
    [failure] = detail["segment_failures"]
    assert failure["segment_id"] == 1 and "deflate" in failure["reason"]


async def test_an_unknown_replay_is_a_404_that_says_what_to_do(client):
    body = await get_json(client, f"/api/replays/{'ff' * 16}", status=404)
    assert "no replay" in body["detail"] and "replayIntegration" in body["detail"]
    r = await client.get(f"/replays/{'ff' * 16}")
    assert r.status == 404
    assert (await get_json(client, f"/api/replays/{REPLAY}/videos/0", status=404))["detail"]
    assert (await get_json(client, f"/api/replays/{REPLAY}/videos/x", status=404))["detail"]


def video_item(replay_id, segment_id, ts, video=MP4) -> bytes:
    event = replay_event(segment_id, ts, replay_id=replay_id, platform="android", sdk={"name": "sentry.java.android"})
    rrweb = [
        {"type": 4, "timestamp": ts * 1000, "data": {"href": "", "height": 800, "width": 400}},
        {
            "type": 5,
            "timestamp": ts * 1000,
            "data": {"tag": "video", "payload": {"segmentId": segment_id, "duration": 5000, "container": "mp4"}},
        },
    ]
    record = orjson.dumps({"segment_id": segment_id}) + b"\n" + orjson.dumps(rrweb)
    parts = {"replay_event": orjson.dumps(event), "replay_recording": record, "replay_video": video}
    return msgpack.packb(parts, use_bin_type=True)


async def test_a_mobile_replay_video_lists_and_serves_its_mp4(client):
    mobile = "bb" * 16
    ts = time.time() - 30
    item = video_item(mobile, 0, ts)
    # React Native's native layer sends no envelope event_id with it: the replay event's id is used.
    await send(client, envelope(({"type": "replay_video", "length": len(item)}, item), header={}))
    [listed] = (await get_json(client, "/api/replays"))["replays"]
    assert listed["replay_id"] == mobile and listed["sdk"]["name"] == "sentry.java.android"
    detail = await get_json(client, f"/api/replays/{mobile}")
    [video] = detail["videos"]
    assert video["segment_id"] == 0 and video["duration"] == 5.0 and abs(video["timestamp"] - ts) < 1e-3
    assert [e["type"] for e in detail["events"]] == [4, 5]
    r = await client.get(video["url"])
    assert r.status == 200
    assert r.headers["Content-Type"] == "video/mp4"
    assert await r.read() == MP4


async def test_a_bad_replay_video_fails_alone(client):
    event = {"event_id": ERROR_ID, "message": "kept", "timestamp": time.time()}
    garbage = b"\xc1\xc1 no msgpack"
    body = envelope(
        ({"type": "replay_video", "length": len(garbage)}, garbage),
        ({"type": "event"}, orjson.dumps(event)),
        header={"event_id": ERROR_ID},
    )
    await send(client, body)
    assert (await client.get(f"/api/events/{ERROR_ID}")).status == 200
    assert (await get_json(client, "/api/replays"))["replays"] == []
    failures = (await get_json(client, "/api/stats"))["failures"]
    assert any(f["item_type"] == "replay_video" and "msgpack" in f["reason"] for f in failures)


async def test_the_trace_lists_its_replays_and_feedback(client):
    t0 = time.time() - 60
    await store_three_segments(client, t0)
    await send(client, error_envelope(ERROR_ID))
    await send(client, feedback_envelope("f1" * 16, "on the error", associated_event_id=ERROR_ID))
    trace = await get_json(client, f"/api/traces/{TRACE}")
    assert [r["replay_id"] for r in trace["replays"]] == [REPLAY]
    assert [f["message"] for f in trace["feedback"]] == ["on the error"]
    page = await (await client.get(f"/traces/{TRACE}")).text()
    assert f'href="/replays/{REPLAY}"' in page and "on the error" in page


HOSTILE = {
    "user": ["not", "an", "object"],
    "urls": "http://a-string/",
    "error_ids": {"an": "object"},
    "trace_ids": 12,
    "replay_start_timestamp": "yesterday",
    "replay_type": ["buffer"],
    "sdk": "sdk",
}


async def test_hostile_field_types_still_answer(client):
    t0 = time.time() - 60
    await send(client, replay_envelope(replay_event("0", t0, **HOSTILE), b'{"segment_id": "x"}\n[1, "two"]'))
    await send(client, replay_envelope(replay_event(1, t0 + 1, urls=[1, None, {"x": 1}, "ok"]), b"[]"))
    [replay] = (await get_json(client, "/api/replays"))["replays"]
    assert replay["urls"] == ["1", "ok"] and replay["error_ids"] == [] and replay["trace_ids"] == []
    detail = await get_json(client, f"/api/replays/{REPLAY}")
    assert detail["events"] == []
    page = await client.get("/replays")
    assert page.status == 200
    assert f'href="/replays/{REPLAY}"' in await page.text()


async def test_the_list_page_links_each_replay_and_says_how_to_record(client):
    empty = await (await client.get("/replays")).text()
    assert "Sentry.replayIntegration()" in empty and "replaysOnErrorSampleRate: 1.0" in empty
    await store_three_segments(client, time.time() - 60)
    page = await (await client.get("/replays")).text()
    assert f'href="/replays/{REPLAY}"' in page
    assert 'href="/users/ana%40example.com"' in page
    assert "http://localhost:5173/cart" in page


async def test_poisoned_stored_rows_still_answer(make_client, tmp_path):
    """What an older version (or a hand-edited file) may hold: text in
    number columns, blobs in text columns, JSON columns that are not JSON."""
    from stored_rows import write_rows

    poison = {
        "replay_id": REPLAY,
        "segment_id": "zero",
        "timestamp": "not a time",
        "trace_ids": "{not json",
        "urls": b"\xff\xfe",
        "user_id": b"\xff blob",
        "data": "[1, 2",
    }
    recordings = [
        {"replay_id": REPLAY, "segment_id": 0, "kind": "replay_recording", "payload": "text, not bytes"},
        {"replay_id": REPLAY, "segment_id": 1, "kind": "replay_video", "payload": None},
        {"replay_id": REPLAY, "segment_id": "x", "kind": None, "payload": recording(2, [{"type": 3}])},
    ]
    feedback = [{"event_id": "f1" * 16, "trace_id": TRACE, "data": "{not json", "message": 12, "timestamp": "x"}]
    events = [{"event_id": ERROR_ID, "trace_id": TRACE, "timestamp": time.time()}]
    write_rows(
        tmp_path / "c.db",
        {
            "replays": [poison, {**poison, "trace_ids": orjson.dumps([TRACE, 5, None]).decode(), "data": "{}"}],
            "replay_recordings": recordings,
            "feedback": feedback,
            "events": events,
        },
    )
    client = await make_client()
    [replay] = (await get_json(client, "/api/replays"))["replays"]
    assert replay["replay_id"] == REPLAY and replay["user"]["id"] == "\ufffd blob"
    detail = await get_json(client, f"/api/replays/{REPLAY}")
    assert detail["events"] == [{"type": 3}]
    assert {f["segment_id"] for f in detail["segment_failures"]} == {0, 1}
    trace = await get_json(client, f"/api/traces/{TRACE}")
    assert [r["replay_id"] for r in trace["replays"]] == [REPLAY]
    assert [f["event_id"] for f in trace["feedback"]] == ["f1" * 16]
    for path in ("/replays", f"/traces/{TRACE}"):
        assert (await client.get(path)).status == 200, path

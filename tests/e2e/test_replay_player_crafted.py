"""The replay player in Chromium on a crafted three-segment replay whose
middle segment is corrupt: the first segment's page and the third's change
still play, `#t=` seeks, and a click in the activity list seeks back.

rrweb's serialized DOM: node types 0 document, 1 doctype, 2 element, 3 text;
an incremental event (type 3) with source 0 is a mutation adding nodes."""

from __future__ import annotations

import time
import zlib

import orjson

from helpers import post_envelope

REPLAY = "cafe" * 8
SDK = {"name": "sentry.javascript.browser", "version": "11.12.0"}


def element(node_id, tag, attributes=None, children=()):
    return {"type": 2, "tagName": tag, "attributes": attributes or {}, "childNodes": list(children), "id": node_id}


def first_segment(t0_ms):
    button = element(5, "button", {"id": "kept"}, [{"type": 3, "textContent": "Kept", "id": 6}])
    body = element(4, "body", {}, [button])
    html = element(2, "html", {}, [element(3, "head"), body])
    document = {"type": 0, "childNodes": [{"type": 1, "name": "html", "publicId": "", "systemId": "", "id": 7}, html]}
    return [
        {"type": 4, "timestamp": t0_ms, "data": {"href": "https://shop.test/", "width": 800, "height": 600}},
        {
            "type": 2,
            "timestamp": t0_ms + 1,
            "data": {"node": {**document, "id": 1}, "initialOffset": {"left": 0, "top": 0}},
        },
        # A click breadcrumb, as the Replay SDK writes one (ms outside, seconds inside).
        {
            "type": 5,
            "timestamp": t0_ms + 500,
            "data": {
                "tag": "breadcrumb",
                "payload": {"timestamp": (t0_ms + 500) / 1000, "category": "ui.click", "message": "body > button#kept"},
            },
        },
    ]


def last_segment(t0_ms):
    # A mutation adds each node on its own (rrweb builds an added node without its children).
    added = [
        {"parentId": 4, "nextId": None, "node": element(8, "p", {"id": "later"})},
        {"parentId": 8, "nextId": None, "node": {"type": 3, "textContent": "added later", "id": 9}},
    ]
    mutation = {"source": 0, "texts": [], "attributes": [], "removes": [], "adds": added}
    return [{"type": 3, "timestamp": t0_ms + 3000, "data": mutation}]


def send_segment(collector, segment_id, ts, body):
    event = {"type": "replay_event", "replay_id": REPLAY, "segment_id": segment_id, "timestamp": ts, "sdk": SDK}
    record = orjson.dumps({"segment_id": segment_id}) + b"\n" + body
    post_envelope(
        collector,
        {"event_id": REPLAY, "sdk": SDK},
        ({"type": "replay_event"}, event),
        ({"type": "replay_recording", "length": len(record)}, record),
    )


def test_the_player_plays_the_segments_around_a_corrupt_one_and_seeks(collector, page):
    t0 = time.time() - 60
    t0_ms = t0 * 1000
    send_segment(collector, 0, t0, zlib.compress(orjson.dumps(first_segment(t0_ms))))
    send_segment(collector, 1, t0 + 1, b"x\x9c\x00\x01 broken")
    send_segment(collector, 2, t0 + 3, zlib.compress(orjson.dumps(last_segment(t0_ms))))

    # 3.5 s from the replay's start: after segment 2 added its paragraph.
    page.goto(f"{collector.url}/replays/{REPLAY}#t=3.5")
    page.wait_for_selector("body[data-replay-ready=true]", timeout=15_000)
    assert page.errors == []
    assert "Segment 1 could not be decoded" in page.locator(".segment-failure").inner_text()
    frame = page.frame_locator("#player iframe")
    assert frame.locator("#kept").inner_text() == "Kept"
    assert frame.locator("#later").inner_text() == "added later"

    # The click, at 0.5 s, is before the paragraph was added: seeking there removes it.
    page.locator("#replay-activity li.activity-click .at").click()
    assert frame.locator("#later").count() == 0
    assert frame.locator("#kept").count() == 1

"""Replay payloads decoded: every form a recording segment comes in, a
segment that fails beside good ones, and mobile replay_video items."""

from __future__ import annotations

import gzip
import zlib

import msgpack
import orjson
import pytest

from collector.protocol.replays import (
    ReplayDecodeError,
    decode_recording,
    unpack_video_item,
)
from collector.read.replay_detail import decode_segments

EVENTS = [{"type": 4, "timestamp": 1, "data": {"href": "http://localhost/"}}, {"type": 2, "timestamp": 2, "data": {}}]
BODY = orjson.dumps(EVENTS)


def recording(segment_id, body: bytes) -> bytes:
    return orjson.dumps({"segment_id": segment_id}) + b"\n" + body


@pytest.mark.parametrize(
    "body",
    [zlib.compress(BODY), gzip.compress(BODY), BODY],
    ids=["zlib (the JS SDK)", "gzip", "plain JSON"],
)
def test_each_encoding_after_a_header_line(body):
    segment = decode_recording(recording(3, body))
    assert segment.segment_id == 3
    assert segment.events == EVENTS


@pytest.mark.parametrize("body", [zlib.compress(BODY), gzip.compress(BODY), BODY], ids=["zlib", "gzip", "plain"])
def test_a_missing_header_line(body):
    segment = decode_recording(body)
    assert segment.segment_id is None
    assert segment.events == EVENTS


def test_non_object_events_are_left_out():
    assert decode_recording(recording(0, b'[1, "x", null, {"type": 3}]')).events == [{"type": 3}]


@pytest.mark.parametrize(
    "payload, reason",
    [
        (b"", "empty"),
        (recording(0, b"\x78\x9c not zlib at all"), "not valid deflate"),
        (recording(0, b"\x1f\x8b\x08 cut"), "gzip"),
        (recording(0, b"{not json"), "not JSON"),
        (recording(0, b'{"type": 2}'), "not a JSON array"),
        (recording(0, zlib.compress(b"[" + b"{}," * 10 + b"{}]")[:-6]), "truncated"),
    ],
)
def test_undecodable_segments_say_why(payload, reason):
    with pytest.raises(ReplayDecodeError, match=reason):
        decode_recording(payload)


def test_decompression_is_bounded():
    bomb = zlib.compress(b"[" + b" " * 5_000_000 + b"]")
    with pytest.raises(ReplayDecodeError, match="exceeds 1000 bytes"):
        decode_recording(recording(0, bomb), limit=1000)


def test_a_corrupt_segment_between_two_good_ones():
    first = [{"type": 4, "timestamp": 1}]
    third = [{"type": 3, "timestamp": 3}]
    segments = [
        (0, recording(0, zlib.compress(orjson.dumps(first)))),
        (1, recording(1, b"\x78\x9cgarbage")),
        (2, recording(2, gzip.compress(orjson.dumps(third)))),
    ]
    events, failures = decode_segments(segments)
    assert events == first + third
    assert [f["segment_id"] for f in failures] == [1]
    assert "deflate" in failures[0]["reason"]


# --- replay_video (mobile) ---------------------------------------------------------

MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256))


def video_item(**parts) -> bytes:
    return msgpack.packb(parts, use_bin_type=True)


def test_a_video_item_with_json_bytes_event():
    replay_event = {"type": "replay_event", "replay_id": "ab" * 16, "segment_id": 2}
    payload = video_item(replay_event=orjson.dumps(replay_event), replay_recording=recording(2, BODY), replay_video=MP4)
    item = unpack_video_item(payload)
    assert item.replay_event == replay_event
    assert decode_recording(item.recording).events == EVENTS
    assert item.video == MP4


def test_a_video_item_with_a_map_event_and_no_video():
    item = unpack_video_item(video_item(replay_event={"segment_id": 0}))
    assert item.replay_event == {"segment_id": 0}
    assert item.recording is None and item.video is None


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\xc1 never valid msgpack",
        msgpack.packb([1, 2, 3]),
        msgpack.packb({"other": 1}),
        msgpack.packb({"replay_event": 1}) + b"\x01extra",
        video_item(replay_event=b"{not json"),
        # A map keyed by an array: unhashable in Python.
        b"\x81\x91\x01\x01",
        # A string that claims 2**32-1 bytes, with 3.
        b"\x81\xdb\xff\xff\xff\xffabc",
        # Nested a thousand deep.
        b"\x91" * 5000,
    ],
)
def test_garbage_video_items_raise_a_reason(payload):
    with pytest.raises(ReplayDecodeError) as e:
        unpack_video_item(payload)
    assert str(e.value)


# --- ingest: which replay a recording or video belongs to ---------------------------


def _rows(header: dict, *items) -> dict:
    from collector.ingest.normalize import normalize
    from collector.protocol.envelope import Envelope, Item

    return normalize(Envelope(header, [Item({"type": t}, p) for t, p in items]), "1").rows


def test_a_recording_without_an_envelope_event_id_takes_its_replay_events_id():
    event = orjson.dumps({"replay_id": "AB" * 16, "segment_id": 4})
    rows = _rows({}, ("replay_event", event), ("replay_recording", recording(4, BODY)))
    assert [(r["replay_id"], r["segment_id"]) for r in rows["replay_recordings"]] == [("ab" * 16, 4)]
    # The envelope header's id comes first, as the JS SDK sends it.
    rows = _rows({"event_id": "CD" * 16}, ("replay_event", event), ("replay_recording", recording(4, BODY)))
    assert rows["replay_recordings"][0]["replay_id"] == "cd" * 16


def test_a_video_item_lists_its_replay_and_a_bad_one_fails_alone():
    good = video_item(replay_event=orjson.dumps({"replay_id": "ab" * 16, "segment_id": 1}), replay_video=MP4)
    rows = _rows(
        {},
        ("replay_video", good),
        ("replay_video", b"\xc1"),
        ("event", orjson.dumps({"event_id": "e1" * 16, "message": "kept"})),
    )
    assert [(r["replay_id"], r["segment_id"]) for r in rows["replays"]] == [("ab" * 16, 1)]
    assert [(r["replay_id"], r["kind"], r["payload"]) for r in rows["replay_recordings"]] == [
        ("ab" * 16, "replay_video", good)
    ]
    assert [f["item_index"] for f in rows["item_failures"]] == [1]
    assert len(rows["events"]) == 1

"""Session replay payloads, pure: a recording segment's rrweb events, and a
mobile `replay_video` item's parts.

A `replay_recording` payload is a `{"segment_id": N}` line, then the rrweb
events as a JSON array: zlib-compressed by the JS SDK (first byte 0x78),
gzip (1f 8b) or plain JSON. Some senders leave the header line out. A
`replay_video` item (the mobile SDKs' native layer) is a msgpack map of
`replay_event` (JSON bytes or a map), `replay_recording` (the form above)
and `replay_video` (mp4 bytes).

Everything here is untrusted input: each function either returns what it
found or raises `ReplayDecodeError` with a reason a person can read.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgpack
import orjson

from .compression import Decoder
from .refusals import Refusal

# Relay's limit: a replay recording decompresses to at most 100 MB.
MAX_RECORDING_BYTES = 100 * 1000 * 1000
# A replay_video item is at most 100 MiB (Relay's item limit), so no string
# or byte string inside it is longer; maps and arrays of the replay event
# hold a few hundred entries, never a million.
MAX_VIDEO_ITEM_BYTES = 100 * 1024 * 1024
MAX_CONTAINER_ENTRIES = 1_000_000

GZIP_MAGIC = b"\x1f\x8b"
ZLIB_FIRST_BYTE = 0x78


class ReplayDecodeError(ValueError):
    """A replay payload that cannot be read; the message says why."""


@dataclass(frozen=True, slots=True)
class Segment:
    """One decoded recording segment."""

    segment_id: int | None
    events: list[dict]
    # Bytes of JSON the events were decoded from.
    size: int


def split_header(payload: bytes) -> tuple[dict | None, bytes]:
    """The `{"segment_id": N}` header line (None when there is none) and the body."""
    if not payload.startswith(b"{"):
        return None, payload
    first, newline, rest = payload.partition(b"\n")
    try:
        header = orjson.loads(first)
    except orjson.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or not newline:
        # Not a header line: a body that happens to start with "{" (an
        # object, which fails below with its own reason).
        return None, payload
    return header, rest


def header_segment_id(header: dict | None) -> int | None:
    value = header.get("segment_id") if header else None
    return value if value.__class__ is int and 0 <= value < 2**63 else None


def _encoding(body: bytes) -> str:
    if body.startswith(GZIP_MAGIC):
        return "gzip"
    if body[:1] == bytes([ZLIB_FIRST_BYTE]):
        return "deflate"
    return ""


def decode_body(body: bytes, limit: int = MAX_RECORDING_BYTES) -> tuple[list[dict], int]:
    """The rrweb events of a recording body (compressed or not), and the
    size of their JSON."""
    encoding = _encoding(body)
    try:
        text = Decoder(body, encoding, limit).run()
    except Refusal as e:
        raise ReplayDecodeError(e.reason) from None
    try:
        events = orjson.loads(text)
    except orjson.JSONDecodeError as e:
        what = f"{encoding} data" if encoding else "data"
        raise ReplayDecodeError(f"recording {what} is not JSON: {e}") from None
    if not isinstance(events, list):
        raise ReplayDecodeError("recording is not a JSON array of rrweb events")
    # rrweb events are objects; anything else would only trip the player.
    return [event for event in events if isinstance(event, dict)], len(text)


def decode_recording(payload: bytes, limit: int = MAX_RECORDING_BYTES) -> Segment:
    """A `replay_recording` payload: its segment id and rrweb events."""
    if not payload:
        raise ReplayDecodeError("empty recording")
    header, body = split_header(payload)
    return Segment(header_segment_id(header), *decode_body(body, limit))


@dataclass(frozen=True, slots=True)
class VideoItem:
    """The parts of a `replay_video` item; any may be missing."""

    replay_event: dict | None
    recording: bytes | None
    video: bytes | None


def _as_bytes(value) -> bytes | None:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return None


def _replay_event(value) -> dict | None:
    if isinstance(value, dict):
        return value
    raw = _as_bytes(value)
    if raw is None:
        return None
    try:
        event = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise ReplayDecodeError(f"replay_video's replay_event is not JSON: {e}") from None
    return event if isinstance(event, dict) else None


def unpack_video_item(payload: bytes) -> VideoItem:
    """A `replay_video` payload's replay event, recording and mp4 bytes."""
    try:
        value = msgpack.unpackb(
            payload,
            raw=False,
            strict_map_key=False,
            max_str_len=MAX_VIDEO_ITEM_BYTES,
            max_bin_len=MAX_VIDEO_ITEM_BYTES,
            max_array_len=MAX_CONTAINER_ENTRIES,
            max_map_len=MAX_CONTAINER_ENTRIES,
            max_ext_len=0,
        )
    except (ValueError, TypeError, msgpack.UnpackException) as e:
        # ExtraData, FormatError, StackError and bad UTF-8 are ValueErrors;
        # a map keyed by an array is a TypeError (lists are unhashable).
        raise ReplayDecodeError(f"replay_video is not msgpack: {e.__class__.__name__}: {e}") from None
    if not isinstance(value, dict):
        raise ReplayDecodeError("replay_video is not a msgpack map")
    item = VideoItem(
        _replay_event(value.get("replay_event")),
        _as_bytes(value.get("replay_recording")),
        value.get("replay_video") if isinstance(value.get("replay_video"), bytes) else None,
    )
    if item.replay_event is None and item.recording is None and item.video is None:
        raise ReplayDecodeError("replay_video map has none of replay_event, replay_recording, replay_video")
    return item

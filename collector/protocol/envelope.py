"""The Sentry envelope format: parse and serialize, and the item types.

An envelope is one line of JSON (the envelope header), then items. Each item
is one line of JSON (the item header), a newline, and a payload. The rules
below follow Relay, the server Sentry itself runs; each is named beside the
code that enforces it. Parsing is pure: bytes in, an `Envelope` or a
`MalformedEnvelope` refusal out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import orjson

from .refusals import MalformedEnvelope


class ItemType(StrEnum):
    """The item types SDKs send today. An item's `type` is a plain string:
    a type not listed here is kept as sent, never a reason to refuse its
    envelope. A member equals (and hashes as) its string, so tables keyed
    by ItemType are looked up with the type an item header holds."""

    EVENT = "event"
    TRANSACTION = "transaction"
    SPAN = "span"
    LOG = "log"
    OTEL_LOG = "otel_log"
    TRACE_METRIC = "trace_metric"
    SESSION = "session"
    SESSIONS = "sessions"
    ATTACHMENT = "attachment"
    REPLAY_EVENT = "replay_event"
    REPLAY_RECORDING = "replay_recording"
    REPLAY_VIDEO = "replay_video"
    CLIENT_REPORT = "client_report"
    USER_REPORT = "user_report"
    FEEDBACK = "feedback"
    PROFILE = "profile"
    PROFILE_CHUNK = "profile_chunk"
    CHECK_IN = "check_in"
    STATSD = "statsd"
    METRIC_BUCKETS = "metric_buckets"
    # Not an envelope item: what the security endpoint wraps a CSP, NEL or
    # Expect-CT report in.
    SECURITY = "security"


@dataclass(slots=True)
class Item:
    headers: dict
    payload: bytes

    @property
    def type(self) -> str:
        return self.headers["type"]


@dataclass(slots=True)
class Envelope:
    headers: dict
    items: list[Item] = field(default_factory=list)

    @property
    def event_id(self) -> str | None:
        """The header's event id as Relay stores ids: lower case, no dashes."""
        value = self.headers.get("event_id")
        return value.replace("-", "").lower() or None if isinstance(value, str) else None


def _json_object(line: bytes, what: str) -> dict:
    # Rule: the envelope header and every item header is one JSON object.
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as e:
        raise MalformedEnvelope(f"invalid {what}: {e}") from None
    if not isinstance(value, dict):
        raise MalformedEnvelope(f"invalid {what}: expected a JSON object")
    return value


def _line(body: bytes, offset: int) -> tuple[bytes, int]:
    """One header line starting at offset, and where the next thing starts.

    Rule: a header is terminated by a UNIX newline or by the end of the body;
    a `\\r` before it is not a line end (JSON parsing tolerates it as
    whitespace in a header, and in payloads it is data).
    """
    end = body.find(b"\n", offset)
    if end == -1:
        return body[offset:], len(body)
    return body[offset:end], end + 1


def _declared_length(headers: dict) -> int | None:
    length = headers.get("length")
    if length is None:
        return None
    # Rule: `length` is a non-negative integer byte count (bool is an int in
    # Python, but not in JSON).
    if not isinstance(length, int) or isinstance(length, bool) or length < 0:
        raise MalformedEnvelope(f"invalid item header: length must be a non-negative integer, got {length!r}")
    return length


def parse(body: bytes) -> Envelope:
    # Rule: an empty body has no envelope header.
    if not body:
        raise MalformedEnvelope("empty envelope: missing envelope header")
    line, offset = _line(body, 0)
    envelope = Envelope(_json_object(line, "envelope header"))
    size = len(body)
    while offset < size:
        line, offset = _line(body, offset)
        headers = _json_object(line, f"item header #{len(envelope.items) + 1}")
        item_type = headers.get("type")
        # Rule: every item names its type; any non-empty string will do.
        if not isinstance(item_type, str) or not item_type:
            raise MalformedEnvelope(f'invalid item header #{len(envelope.items) + 1}: missing "type"')
        length = _declared_length(headers)
        if length is None:
            # Rule: without `length` the payload runs to the next newline or
            # the end of the body (JS SDKs rely on this).
            payload, offset = _line(body, offset)
        else:
            # Rule: with `length`, exactly that many bytes, then a newline or
            # the end of the body; anything else is malformed.
            end = offset + length
            if end > size:
                raise MalformedEnvelope(
                    f"item #{len(envelope.items) + 1} ({item_type}) declares length {length} "
                    f"but only {size - offset} bytes follow"
                )
            payload = body[offset:end]
            if end < size and body[end] != 0x0A:
                raise MalformedEnvelope(
                    f"missing newline after the {length}-byte payload of item #{len(envelope.items) + 1} ({item_type})"
                )
            offset = end + 1
        envelope.items.append(Item(headers, payload))
    return envelope


def serialize(envelope: Envelope) -> bytes:
    """The inverse of `parse`: every item written with an explicit length."""
    parts = [orjson.dumps(envelope.headers), b"\n"]
    for item in envelope.items:
        headers = dict(item.headers, length=len(item.payload))
        parts += [orjson.dumps(headers), b"\n", item.payload, b"\n"]
    return b"".join(parts)

"""From parsed envelope items to rows, one dict per row, keyed by table.

Pure: an `Envelope` in, a `Records` out. An item that cannot be understood
becomes an `item_failures` row with the reason, the start of its raw bytes
and their size, and never stops its siblings. Column names match `schema.py`.

Every value comes from a typed helper (`_str`, `_id`, `_int`, `timestamp`,
`_json`) that yields only what its column can hold, so no JSON an SDK sends
can make SQLite raise; tests/test_normalize.py holds every handler to that
with any JSON value in any field. Checking each row again against its
column types (`fit`, used for the envelope's own row) would cost 40% more
per transaction, one check per span column.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

import orjson

from ..storage import schema
from ..protocol.envelope import Envelope, Item
from ..protocol.jsonshape import text
from ..protocol.sdks import platform_of
from ..protocol.grouping import exceptions_of, fingerprint, message_of

# Relay's per-item size limits (bytes); an item over its limit is dropped
# and counted as failed, the envelope still accepted.
KIB, MIB = 1024, 1024 * 1024
ITEM_LIMITS = {
    "event": 1 * MIB,
    "transaction": 1 * MIB,
    "span": 1 * MIB,
    "log": 2 * MIB,
    "otel_log": 2 * MIB,
    "attachment": 100 * MIB,
    "check_in": 100 * KIB,
    "profile": 50 * MIB,
    "profile_chunk": 50 * MIB,
    "replay_event": 1 * MIB,
    "replay_recording": 100 * MIB,
    "replay_video": 100 * MIB,
}
MAX_ATTACHMENTS = 30
MAX_SESSIONS = 100
# What one envelope may turn into. SDKs send at most 1,000 spans per
# transaction and batch far fewer logs; an envelope of hundreds of span items
# would otherwise become 360,000 rows and a gigabyte of memory. Items past
# the cap fail alone, with the reason.
MAX_ROWS = 10_000
# A failed item keeps this much of its payload (enough to see what the SDK
# sent wrong) and its full size; a 100 MB attachment over its limit is not
# stored whole.
FAILURE_PREFIX = 64 * KIB
# All failed items of one envelope together keep at most this many bytes,
# and at most this many failure rows (then one row counting the rest).
MAX_FAILURE_BYTES = 1 * MIB
MAX_FAILURES = 100

# Rule: a time is seconds since the epoch, from the epoch itself to a day
# past the time the envelope was received (a client clock a few hours
# ahead, or a naive timestamp read in the wrong zone, still fits). Anything
# else (milliseconds, a date past year 9999, a negative number) is stored
# as NULL rather than clamped: a clamped end beside an unclamped start
# invents a duration, and the raw value stays in the row's `data`. Relay
# instead moves an event's future timestamp to its receive time.
EARLIEST = 0.0
FUTURE_SLACK = 86_400.0
# SQLite integers are signed 64-bit; Python's are not, and JSON's up to
# 2**64 - 1 parse as ints.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class ItemError(ValueError):
    """One item cannot be understood; it is recorded as failed."""


@dataclass
class Records:
    rows: dict[str, list[dict]] = field(default_factory=dict)
    # Rows this may still take: an item stops being read at the cap.
    room: int = 1 << 62

    def add(self, table: str, row: dict) -> None:
        self.room -= 1
        if self.room < 0:
            raise ItemError(f"more than {MAX_ROWS} rows from one envelope")
        self.rows.setdefault(table, []).append(row)

    def count(self, table: str) -> int:
        return len(self.rows.get(table, ()))

    def extend(self, other: Records) -> None:
        for table, rows in other.rows.items():
            self.rows.setdefault(table, []).extend(rows)


def timestamp(value, latest: float) -> float | None:
    """Seconds since the epoch from a number or an RFC 3339 string, if it
    is a time (the rule above) no later than `latest`."""
    # The common case first: every span of every transaction comes here.
    if value.__class__ is float:
        return value if EARLIEST <= value <= latest else None
    if value.__class__ is int:
        return float(value) if EARLIEST <= value <= latest else None
    if value.__class__ is str:
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except (ValueError, OverflowError):
            return None
        return value if EARLIEST <= value <= latest else None
    return None


def _dumps(value) -> str:
    # orjson writes at most 254 levels of nesting but reads 1,023.
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError as e:
        raise ItemError(f"cannot store as JSON: {e}") from None


def _json(value) -> str | None:
    if value in (None, {}, []):
        return None
    return _dumps(value)


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _str(value) -> str | None:
    if value.__class__ is str:
        return value
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value)


def _id(value) -> str | None:
    """A trace, span, event or replay id as Relay stores it: lower case,
    without the dashes of a UUID, so lookups by the usual form find it."""
    if value.__class__ is str:
        return value.replace("-", "").lower() or None
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value).replace("-", "").lower()


def _int(value) -> int | None:
    """A JSON integer SQLite can hold; not a bool, float or string."""
    return value if value.__class__ is int and INT64_MIN <= value <= INT64_MAX else None


# How `fit` coerces a value to each column type of schema.TABLES.
_COERCE = {
    str: lambda value, latest: text(_str(value)),
    int: lambda value, latest: _int(value),
    float: timestamp,
    bytes: lambda value, latest: value if isinstance(value, bytes) else None,
}


def fit(table: str, row: dict) -> dict:
    """`row` with each value coerced to its column's type, for rows built
    from HTTP headers, paths and envelope headers (one per request) rather
    than by the typed helpers above. Every float column is a time."""
    kinds = schema.TABLES[table]["columns"]
    latest = time.time() + FUTURE_SLACK
    return {name: _COERCE[kinds[name]](value, latest) for name, value in row.items()}


def _load_json(item: Item) -> dict:
    try:
        value = orjson.loads(item.payload)
    except orjson.JSONDecodeError as e:
        raise ItemError(f"invalid JSON: {e}") from None
    if not isinstance(value, dict):
        raise ItemError("invalid JSON: expected an object")
    return value


@dataclass(slots=True)
class Context:
    """What the envelope says about every item inside it."""

    project_id: str
    envelope: Envelope
    client_ip: str | None = None
    # The latest time a timestamp may say (the rule beside EARLIEST).
    latest: float = 0.0

    @property
    def sdk(self) -> dict:
        return _dict(self.envelope.headers.get("sdk"))

    @property
    def dsc(self) -> dict:
        return _dict(self.envelope.headers.get("trace"))


def _infers_ip(settings) -> bool:
    # JS SDKs v10+ ask for the client's address with `infer_ip: "auto"` in
    # sdk.settings (events) or the span container's ingest_settings.
    return _dict(settings).get("infer_ip") == "auto"


def _user_columns(user: dict, ctx: Context, infer_ip: bool = False) -> dict:
    ip = _str(user.get("ip_address"))
    # `{{auto}}` (older SDKs) and infer_ip=auto ask the server to fill in the
    # client's address.
    if ip == "{{auto}}" or (ip is None and infer_ip):
        ip = ctx.client_ip
    return {
        "user_id": _str(user.get("id")),
        "user_email": _str(user.get("email")),
        "user_username": _str(user.get("username") or user.get("name")),
        "user_ip": ip,
    }


def _sdk_columns(event: dict, ctx: Context) -> dict:
    sdk = _dict(event.get("sdk")) or ctx.sdk
    return {"sdk_name": _str(sdk.get("name")), "sdk_version": _str(sdk.get("version"))}


def _event_common(event: dict, ctx: Context) -> dict:
    return {
        "project_id": ctx.project_id,
        "platform": _str(event.get("platform")),
        "environment": _str(event.get("environment")),
        "release": _str(event.get("release")),
        **_sdk_columns(event, ctx),
        **_user_columns(_dict(event.get("user")), ctx, _infers_ip(_dict(event.get("sdk")).get("settings"))),
    }


# --- events -----------------------------------------------------------------


def _event(item: Item, ctx: Context, out: Records) -> None:
    event = _load_json(item)
    if event.get("type") == "transaction":
        return _transaction_event(event, ctx, out)
    trace = _dict(_dict(event.get("contexts")).get("trace"))
    exceptions = exceptions_of(event)
    # The outermost exception (the one raised last) is listed last.
    top = exceptions[-1] if exceptions else {}
    event_id = _id(event.get("event_id")) or ctx.envelope.event_id
    if not event_id:
        raise ItemError("event has no event_id")
    message = message_of(event)
    group, title = fingerprint(event, top or None, message)
    out.add(
        "events",
        {
            "event_id": event_id,
            "trace_id": _id(trace.get("trace_id")),
            "span_id": _id(trace.get("span_id")),
            "level": _str(event.get("level")) or "error",
            "exception_type": _str(top.get("type")),
            "exception_value": _str(top.get("value")),
            "message": message,
            "fingerprint": group,
            "title": title,
            "transaction_name": _str(event.get("transaction")),
            "culprit": _str(event.get("culprit")),
            "timestamp": timestamp(event.get("timestamp"), ctx.latest),
            **_event_common(event, ctx),
            "data": _dumps(event),
        },
    )


# --- transactions and spans -------------------------------------------------


def _span_row(span: dict, segment: dict, common: dict, origin: str, latest: float) -> dict | None:
    """A classic span's row, or None for a span without an id."""
    span_id = _id(span.get("span_id"))
    if span_id is None:
        return None
    return {
        "trace_id": _id(span.get("trace_id")) or segment["trace_id"],
        "span_id": span_id,
        "parent_span_id": _id(span.get("parent_span_id")),
        "segment_id": segment["span_id"],
        "is_segment": 0,
        "op": _str(span.get("op")),
        "description": _str(span.get("description")),
        "start_timestamp": timestamp(span.get("start_timestamp"), latest),
        "timestamp": timestamp(span.get("timestamp"), latest),
        "status": _str(span.get("status")),
        **common,
        "tags": _json(span.get("tags")),
        "data": _json(span.get("data")),
        "origin": origin,
    }


def _transaction_event(event: dict, ctx: Context, out: Records) -> None:
    trace = _dict(_dict(event.get("contexts")).get("trace"))
    trace_id, span_id = _id(trace.get("trace_id")), _id(trace.get("span_id"))
    if not trace_id or not span_id:
        raise ItemError("transaction has no contexts.trace.trace_id/span_id")
    event_id = _id(event.get("event_id")) or ctx.envelope.event_id or ""
    common = _event_common(event, ctx)
    root_data = dict(_dict(trace.get("data")))
    request = _dict(event.get("request"))
    for key in ("url", "method"):
        if request.get(key):
            root_data.setdefault(f"http.request.{key}", request[key])
    root = {
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_span_id": _id(trace.get("parent_span_id")),
        "segment_id": span_id,
        "is_segment": 1,
        "op": _str(trace.get("op")),
        "description": _str(event.get("transaction")),
        "start_timestamp": timestamp(event.get("start_timestamp"), ctx.latest),
        "timestamp": timestamp(event.get("timestamp"), ctx.latest),
        "status": _str(trace.get("status")),
        **common,
        "tags": _json(event.get("tags")),
        "data": _json(root_data),
        "origin": "transaction",
        "event_id": event_id,
        "dsc": _json(ctx.dsc),
    }
    out.add("spans", root)
    for span in _list(event.get("spans")):
        row = _span_row(span, root, common, "transaction", ctx.latest) if isinstance(span, dict) else None
        if row is not None:
            out.add("spans", row)
    stored = {k: v for k, v in event.items() if k != "spans"}
    out.add(
        "transactions",
        {
            "event_id": event_id or span_id,
            "trace_id": trace_id,
            "span_id": span_id,
            "name": root["description"],
            "op": root["op"],
            "start_timestamp": root["start_timestamp"],
            "timestamp": root["timestamp"],
            "project_id": ctx.project_id,
            "data": _dumps(stored),
        },
    )


def _transaction(item: Item, ctx: Context, out: Records) -> None:
    _transaction_event(_load_json(item), ctx, out)


def _attribute_values(attributes) -> dict:
    # v2 attributes are typed: {"sentry.op": {"type": "string", "value": "http.server"}}.
    flat = {}
    for key, value in _dict(attributes).items():
        flat[key] = value.get("value") if isinstance(value, dict) and "value" in value else value
    return flat


def _v2_status(span: dict, attrs: dict) -> str | None:
    # Streamed spans say only "ok"/"error", with the reason in an attribute;
    # classic spans carry the reason as their status. Store the reason.
    status = _str(span.get("status"))
    if status == "error" and attrs.get("sentry.status.message"):
        return _str(attrs["sentry.status.message"])
    return status


def _v2_span(span: dict, ctx: Context, infer_ip: bool = False) -> dict | None:
    """A streamed span's row, or None for a span without its ids."""
    trace_id, span_id = _id(span.get("trace_id")), _id(span.get("span_id"))
    if trace_id is None or span_id is None:
        return None
    attrs = _attribute_values(span.get("attributes"))
    sdk = ctx.sdk
    user = {
        "id": attrs.get("user.id"),
        "email": attrs.get("user.email"),
        "username": attrs.get("user.name") or attrs.get("user.username"),
        "ip_address": attrs.get("user.ip_address") or attrs.get("client.address"),
    }
    is_segment = bool(span.get("is_segment"))
    return {
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_span_id": _id(span.get("parent_span_id")),
        "segment_id": _id(attrs.get("sentry.segment.id")) or (span_id if is_segment else None),
        "is_segment": int(is_segment),
        "op": _str(attrs.get("sentry.op")),
        "description": _str(span.get("name")),
        "start_timestamp": timestamp(span.get("start_timestamp"), ctx.latest),
        "timestamp": timestamp(span.get("end_timestamp"), ctx.latest),
        "status": _v2_status(span, attrs),
        "project_id": ctx.project_id,
        "platform": _str(attrs.get("sentry.platform")) or platform_of(attrs.get("sentry.sdk.name") or sdk.get("name")),
        "environment": _str(attrs.get("sentry.environment")),
        "release": _str(attrs.get("sentry.release")),
        "sdk_name": _str(attrs.get("sentry.sdk.name") or sdk.get("name")),
        "sdk_version": _str(attrs.get("sentry.sdk.version") or sdk.get("version")),
        **_user_columns(user, ctx, infer_ip),
        "tags": None,
        "data": _json(attrs),
        "origin": "span_v2",
        "dsc": _json(ctx.dsc) if is_segment else None,
    }


def _span(item: Item, ctx: Context, out: Records) -> None:
    payload = _load_json(item)
    if "items" not in payload:
        # A v1 standalone span: one span object in the classic shape.
        segment = {"trace_id": _id(payload.get("trace_id")), "span_id": _id(payload.get("segment_id"))}
        common = {"project_id": ctx.project_id, **_sdk_columns({}, ctx)}
        row = _span_row(payload, segment, common, "span_v1", ctx.latest)
        if row is None or segment["trace_id"] is None:
            raise ItemError("span has no trace_id/span_id")
        out.add("spans", row)
        return
    infer_ip = _infers_ip(payload.get("ingest_settings"))
    for span in _list(payload.get("items")):
        row = _v2_span(span, ctx, infer_ip) if isinstance(span, dict) else None
        if row is not None:
            out.add("spans", row)


# --- logs, sessions, replays, feedback, attachments, client reports --------


def _log(item: Item, ctx: Context, out: Records) -> None:
    sdk = ctx.sdk
    for log in _list(_load_json(item).get("items")):
        if not isinstance(log, dict):
            continue
        attrs = _attribute_values(log.get("attributes"))
        out.add(
            "logs",
            {
                "trace_id": _id(log.get("trace_id")),
                "span_id": _id(log.get("span_id") or attrs.get("sentry.trace.parent_span_id")),
                "timestamp": timestamp(log.get("timestamp"), ctx.latest),
                "level": _str(log.get("level")),
                "severity_number": _int(log.get("severity_number")),
                "body": _str(log.get("body")),
                "attributes": _json(attrs),
                "sdk_name": _str(attrs.get("sentry.sdk.name") or sdk.get("name")),
                "sdk_version": _str(attrs.get("sentry.sdk.version") or sdk.get("version")),
                "environment": _str(attrs.get("sentry.environment")),
                "release": _str(attrs.get("sentry.release")),
                "project_id": ctx.project_id,
            },
        )


def _session(item: Item, ctx: Context, out: Records) -> None:
    session = _load_json(item)
    attrs = _dict(session.get("attrs"))
    out.add(
        "sessions",
        {
            "kind": "session",
            "sid": _str(session.get("sid")),
            "did": _str(session.get("did")),
            "status": _str(session.get("status")),
            "errors": _int(session.get("errors")),
            "started": timestamp(session.get("started"), ctx.latest),
            "timestamp": timestamp(session.get("timestamp"), ctx.latest),
            "release": _str(attrs.get("release")),
            "environment": _str(attrs.get("environment")),
            "data": _dumps(session),
            "project_id": ctx.project_id,
        },
    )


def _sessions(item: Item, ctx: Context, out: Records) -> None:
    payload = _load_json(item)
    attrs = _dict(payload.get("attrs"))
    aggregates = [a for a in _list(payload.get("aggregates")) if isinstance(a, dict)]
    for aggregate in aggregates[:MAX_SESSIONS]:
        out.add(
            "sessions",
            {
                "kind": "aggregate",
                "did": _str(aggregate.get("did")),
                "started": timestamp(aggregate.get("started"), ctx.latest),
                "release": _str(attrs.get("release")),
                "environment": _str(attrs.get("environment")),
                "data": _dumps(aggregate),
                "project_id": ctx.project_id,
            },
        )


def _replay_event(item: Item, ctx: Context, out: Records) -> None:
    replay = _load_json(item)
    out.add(
        "replays",
        {
            "replay_id": _id(replay.get("replay_id") or replay.get("event_id")) or ctx.envelope.event_id,
            "segment_id": _int(replay.get("segment_id")),
            "timestamp": timestamp(replay.get("timestamp"), ctx.latest),
            "trace_ids": _json(replay.get("trace_ids")),
            "urls": _json(replay.get("urls")),
            **_event_common(replay, ctx),
            "data": _dumps(replay),
        },
    )


def _replay_recording(item: Item, ctx: Context, out: Records) -> None:
    # The payload is a `{"segment_id": N}` line, then compressed rrweb JSON;
    # kept as sent, with the segment id lifted out for lookups.
    first, _, _ = item.payload.partition(b"\n")
    try:
        segment_id = orjson.loads(first).get("segment_id") if first.startswith(b"{") else None
    except (orjson.JSONDecodeError, AttributeError):
        segment_id = None
    out.add(
        "replay_recordings",
        {
            "replay_id": ctx.envelope.event_id,
            "segment_id": _int(segment_id),
            "kind": item.type,
            "size": len(item.payload),
            "payload": item.payload,
        },
    )


def _user_report(item: Item, ctx: Context, out: Records) -> None:
    report = _load_json(item)
    out.add(
        "feedback",
        {
            "kind": "user_report",
            "event_id": _id(report.get("event_id")),
            "name": _str(report.get("name")),
            "email": _str(report.get("email")),
            "message": _str(report.get("comments")),
            "data": _dumps(report),
            "project_id": ctx.project_id,
        },
    )


def _feedback(item: Item, ctx: Context, out: Records) -> None:
    event = _load_json(item)
    contexts = _dict(event.get("contexts"))
    fb = _dict(contexts.get("feedback"))
    out.add(
        "feedback",
        {
            "kind": "feedback",
            "event_id": _id(event.get("event_id")) or ctx.envelope.event_id,
            "associated_event_id": _id(fb.get("associated_event_id")),
            "trace_id": _id(_dict(contexts.get("trace")).get("trace_id")),
            "name": _str(fb.get("name")),
            "email": _str(fb.get("contact_email")),
            "message": _str(fb.get("message")),
            "timestamp": timestamp(event.get("timestamp"), ctx.latest),
            "data": _dumps(event),
            "project_id": ctx.project_id,
        },
    )


def _attachment(item: Item, ctx: Context, out: Records) -> None:
    out.add(
        "attachments",
        {
            "event_id": ctx.envelope.event_id,
            "filename": _str(item.headers.get("filename")),
            "content_type": _str(item.headers.get("content_type")),
            "attachment_type": _str(item.headers.get("attachment_type")) or "event.attachment",
            "size": len(item.payload),
            "payload": item.payload,
        },
    )


def _client_report(item: Item, ctx: Context, out: Records) -> None:
    report = _load_json(item)
    sdk = ctx.sdk
    when = timestamp(report.get("timestamp"), ctx.latest)
    for kind in ("discarded_events", "rate_limited_events", "filtered_events", "filtered_sampling_events"):
        for entry in _list(report.get(kind)):
            if not isinstance(entry, dict):
                continue
            out.add(
                "client_reports",
                {
                    "timestamp": when,
                    "kind": kind,
                    "reason": _str(entry.get("reason")),
                    "category": _str(entry.get("category")),
                    "quantity": _int(entry.get("quantity")),
                    "sdk_name": _str(sdk.get("name")),
                    "project_id": ctx.project_id,
                },
            )


HANDLERS = {
    "event": _event,
    "transaction": _transaction,
    "span": _span,
    "log": _log,
    "session": _session,
    "sessions": _sessions,
    "replay_event": _replay_event,
    "replay_recording": _replay_recording,
    "replay_video": _replay_recording,
    "user_report": _user_report,
    "feedback": _feedback,
    "attachment": _attachment,
    "client_report": _client_report,
}


def _keep_raw(item: Item, ctx: Context, out: Records) -> None:
    # Profiles, check-ins, metrics and types this collector does not know
    # yet: kept as sent, so nothing an SDK sends is lost.
    out.add(
        "other_items",
        {
            "type": item.type,
            "content_type": _str(item.headers.get("content_type")),
            "size": len(item.payload),
            "payload": item.payload,
            "project_id": ctx.project_id,
        },
    )


class _Failures:
    """The failed items of one envelope, bounded (MAX_FAILURES and the byte
    limits beside it): each keeps a prefix of its payload and its size."""

    def __init__(self):
        self.rows: list[dict] = []
        self.kept_bytes = 0
        self.dropped = 0

    def add(self, index: int, item: Item, reason: str) -> None:
        if len(self.rows) >= MAX_FAILURES:
            self.dropped += 1
            return
        kept = item.payload[: min(FAILURE_PREFIX, MAX_FAILURE_BYTES - self.kept_bytes)]
        self.kept_bytes += len(kept)
        size = len(item.payload)
        self.rows.append({"item_index": index, "item_type": item.type, "reason": reason, "payload": kept or None, "size": size})

    def into(self, out: Records) -> None:
        if self.dropped:
            reason = f"{self.dropped} more failed items of this envelope not kept (at most {MAX_FAILURES} are)"
            self.rows.append({"item_index": None, "item_type": None, "reason": reason, "payload": None, "size": None})
        if self.rows:
            out.rows["item_failures"] = self.rows


def _admit(item: Item, out: Records, room: int) -> None:
    """Refuse an item before reading it: over its size limit, or past what
    one envelope may hold."""
    limit = ITEM_LIMITS.get(item.type)
    if limit is not None and len(item.payload) > limit:
        raise ItemError(f"{item.type} item of {len(item.payload)} bytes exceeds the {limit}-byte limit")
    if item.type == "attachment" and out.count("attachments") >= MAX_ATTACHMENTS:
        raise ItemError(f"more than {MAX_ATTACHMENTS} attachments in one envelope")
    if room <= 0:
        raise ItemError(f"more than {MAX_ROWS} rows from one envelope")


def normalise(
    envelope: Envelope, project_id: str, client_ip: str | None = None, received_at: float | None = None
) -> Records:
    """The rows of an envelope received at `received_at` (default: now)."""
    latest = (time.time() if received_at is None else received_at) + FUTURE_SLACK
    ctx = Context(project_id, envelope, client_ip, latest)
    out, failures, room = Records(), _Failures(), MAX_ROWS
    for index, item in enumerate(envelope.items):
        # Each item lands whole or not at all: its rows join the envelope's
        # only once its handler has finished.
        item_rows = Records(room=room)
        try:
            _admit(item, out, room)
            HANDLERS.get(item.type, _keep_raw)(item, ctx, item_rows)
        except (ItemError, TypeError, ValueError, AttributeError, RecursionError) as e:
            # A payload of a shape no SDK sends (or nested past what repr()
            # can walk): the item fails, alone.
            failures.add(index, item, str(e))
            continue
        out.extend(item_rows)
        room = item_rows.room
    failures.into(out)
    return out

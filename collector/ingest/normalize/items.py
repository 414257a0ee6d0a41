"""The other item families to rows: logs, sessions, replays, feedback,
attachments, client reports, and raw items of any other type."""

from __future__ import annotations

import orjson

from ...protocol import replays
from ...protocol.envelope import Item, ItemType
from ...protocol.jsonshape import as_dict, as_list, as_str
from .records import Context, Records, event_columns, load_json
from .values import ItemError, as_id, attribute_values, dumps, json_int, json_or_none, timestamp

# Relay's limit: an envelope's `sessions` item aggregates at most this many.
MAX_SESSIONS = 100


def log(item: Item, ctx: Context, out: Records) -> None:
    """A `log` container: one row per log record."""
    sdk = ctx.sdk
    for record in as_list(load_json(item).get("items")):
        if not isinstance(record, dict):
            continue
        attrs = attribute_values(record.get("attributes"))
        out.add(
            "logs",
            {
                "trace_id": as_id(record.get("trace_id")),
                "span_id": as_id(record.get("span_id") or attrs.get("sentry.trace.parent_span_id")),
                "timestamp": timestamp(record.get("timestamp"), ctx.latest),
                "level": as_str(record.get("level")),
                "severity_number": json_int(record.get("severity_number")),
                "body": as_str(record.get("body")),
                "attributes": json_or_none(attrs),
                "sdk_name": as_str(attrs.get("sentry.sdk.name") or sdk.get("name")),
                "sdk_version": as_str(attrs.get("sentry.sdk.version") or sdk.get("version")),
                "environment": as_str(attrs.get("sentry.environment")),
                "release": as_str(attrs.get("sentry.release")),
                "project_id": ctx.project_id,
            },
        )


def session(item: Item, ctx: Context, out: Records) -> None:
    """A `session` update."""
    payload = load_json(item)
    attrs = as_dict(payload.get("attrs"))
    out.add(
        "sessions",
        {
            "kind": "session",
            "sid": as_str(payload.get("sid")),
            "did": as_str(payload.get("did")),
            "status": as_str(payload.get("status")),
            "errors": json_int(payload.get("errors")),
            "started": timestamp(payload.get("started"), ctx.latest),
            "timestamp": timestamp(payload.get("timestamp"), ctx.latest),
            "release": as_str(attrs.get("release")),
            "environment": as_str(attrs.get("environment")),
            "data": dumps(payload),
            "project_id": ctx.project_id,
        },
    )


def sessions(item: Item, ctx: Context, out: Records) -> None:
    """A `sessions` item: per-minute aggregates, one row each."""
    payload = load_json(item)
    attrs = as_dict(payload.get("attrs"))
    aggregates = [a for a in as_list(payload.get("aggregates")) if isinstance(a, dict)]
    for aggregate in aggregates[:MAX_SESSIONS]:
        out.add(
            "sessions",
            {
                "kind": "aggregate",
                "did": as_str(aggregate.get("did")),
                "started": timestamp(aggregate.get("started"), ctx.latest),
                "release": as_str(attrs.get("release")),
                "environment": as_str(attrs.get("environment")),
                "data": dumps(aggregate),
                "project_id": ctx.project_id,
            },
        )


def _replay_row(replay: dict, ctx: Context) -> dict:
    """A `replays` row of a replay event (from its own item or a video's)."""
    return {
        "replay_id": as_id(replay.get("replay_id") or replay.get("event_id")) or ctx.envelope.event_id,
        "segment_id": json_int(replay.get("segment_id")),
        "timestamp": timestamp(replay.get("timestamp"), ctx.latest),
        "trace_ids": json_or_none(replay.get("trace_ids")),
        "urls": json_or_none(replay.get("urls")),
        **event_columns(replay, ctx),
        "data": dumps(replay),
    }


def replay_event(item: Item, ctx: Context, out: Records) -> None:
    out.add("replays", _replay_row(load_json(item), ctx))


def _sibling_replay_id(ctx: Context) -> str | None:
    """The replay id of the envelope's replay_event, for a recording whose
    envelope header has no event_id (the JS SDK always sends one)."""
    for item in ctx.envelope.items:
        if item.type == ItemType.REPLAY_EVENT:
            try:
                replay = as_dict(orjson.loads(item.payload))
            except orjson.JSONDecodeError:
                continue
            return as_id(replay.get("replay_id") or replay.get("event_id"))
    return None


def _recording_row(item: Item, replay_id: str | None, segment_id: int | None) -> dict:
    """The item kept as sent (decoded when read): the segment id is lifted
    out for lookups."""
    return {
        "replay_id": replay_id,
        "segment_id": segment_id,
        "kind": item.type,
        "size": len(item.payload),
        "payload": item.payload,
    }


def replay_recording(item: Item, ctx: Context, out: Records) -> None:
    """A `replay_recording` item (a `{"segment_id": N}` line, then rrweb
    JSON), or a mobile `replay_video` item."""
    if item.type == ItemType.REPLAY_VIDEO:
        replay_video(item, ctx, out)
        return
    header, _ = replays.split_header(item.payload)
    replay_id = ctx.envelope.event_id or _sibling_replay_id(ctx)
    out.add("replay_recordings", _recording_row(item, replay_id, replays.header_segment_id(header)))


def replay_video(item: Item, ctx: Context, out: Records) -> None:
    """A `replay_video` item (msgpack: replay event, recording, mp4). Its
    replay event lists the replay as a `replay_event` item would; the item
    itself is kept as sent. One that does not unpack fails alone."""
    try:
        video = replays.unpack_video_item(item.payload)
    except replays.ReplayDecodeError as e:
        raise ItemError(str(e)) from None
    replay_id, segment_id = ctx.envelope.event_id, None
    if video.replay_event is not None:
        row = _replay_row(video.replay_event, ctx)
        out.add("replays", row)
        replay_id, segment_id = replay_id or row["replay_id"], row["segment_id"]
    if segment_id is None and video.recording is not None:
        segment_id = replays.header_segment_id(replays.split_header(video.recording)[0])
    out.add("replay_recordings", _recording_row(item, replay_id, segment_id))


def user_report(item: Item, ctx: Context, out: Records) -> None:
    """User feedback in its older shape, tied to an event."""
    report = load_json(item)
    out.add(
        "feedback",
        {
            "kind": "user_report",
            "event_id": as_id(report.get("event_id")),
            "name": as_str(report.get("name")),
            "email": as_str(report.get("email")),
            "message": as_str(report.get("comments")),
            "data": dumps(report),
            "project_id": ctx.project_id,
        },
    )


def feedback(item: Item, ctx: Context, out: Records) -> None:
    """User feedback as an event with `contexts.feedback`."""
    payload = load_json(item)
    contexts = as_dict(payload.get("contexts"))
    given = as_dict(contexts.get("feedback"))
    out.add(
        "feedback",
        {
            "kind": "feedback",
            "event_id": as_id(payload.get("event_id")) or ctx.envelope.event_id,
            "associated_event_id": as_id(given.get("associated_event_id")),
            "trace_id": as_id(as_dict(contexts.get("trace")).get("trace_id")),
            "name": as_str(given.get("name")),
            "email": as_str(given.get("contact_email")),
            "message": as_str(given.get("message")),
            "timestamp": timestamp(payload.get("timestamp"), ctx.latest),
            "data": dumps(payload),
            "project_id": ctx.project_id,
        },
    )


def attachment(item: Item, ctx: Context, out: Records) -> None:
    out.add(
        "attachments",
        {
            "event_id": ctx.envelope.event_id,
            "filename": as_str(item.headers.get("filename")),
            "content_type": as_str(item.headers.get("content_type")),
            "attachment_type": as_str(item.headers.get("attachment_type")) or "event.attachment",
            "size": len(item.payload),
            "payload": item.payload,
        },
    )


# The outcomes a client report counts, each a list of {reason, category, quantity}.
CLIENT_REPORT_KINDS = ("discarded_events", "rate_limited_events", "filtered_events", "filtered_sampling_events")


def client_report(item: Item, ctx: Context, out: Records) -> None:
    """What the SDK dropped and why: one row per (kind, reason, category)."""
    report = load_json(item)
    sdk_name = as_str(ctx.sdk.get("name"))
    when = timestamp(report.get("timestamp"), ctx.latest)
    for kind in CLIENT_REPORT_KINDS:
        for entry in as_list(report.get(kind)):
            if not isinstance(entry, dict):
                continue
            out.add(
                "client_reports",
                {
                    "timestamp": when,
                    "kind": kind,
                    "reason": as_str(entry.get("reason")),
                    "category": as_str(entry.get("category")),
                    "quantity": json_int(entry.get("quantity")),
                    "sdk_name": sdk_name,
                    "project_id": ctx.project_id,
                },
            )


def keep_raw(item: Item, ctx: Context, out: Records) -> None:
    """Profiles, check-ins, metrics and types this collector does not know
    yet: kept as sent, so nothing an SDK sends is lost."""
    out.add(
        "other_items",
        {
            "type": item.type,
            "content_type": as_str(item.headers.get("content_type")),
            "size": len(item.payload),
            "payload": item.payload,
            "project_id": ctx.project_id,
        },
    )

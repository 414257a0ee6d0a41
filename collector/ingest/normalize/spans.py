"""Spans to `spans` rows: the classic shape (inside a transaction, or a v1
standalone `span` item) and the streamed v2 shape (a `span` container)."""

from __future__ import annotations

from ...protocol.envelope import Item
from ...protocol.jsonshape import as_list, as_str
from ...protocol.sdks import platform_of
from .records import Context, Records, infers_ip, load_json, sdk_columns, user_columns
from .values import EARLIEST, ItemError, as_id, attribute_values, json_or_none, timestamp


def span_row(span: dict, segment: dict, common: dict, origin: str, latest: float) -> dict | None:
    """A classic span's row, or None for a span without an id."""
    rows = child_rows([span], segment, common, origin, latest)
    return rows[0] if rows else None


def child_rows(
    spans: list, segment: dict, common: dict, origin: str, latest: float, limit: int = 1 << 62
) -> list[dict]:
    """The rows of a segment's classic spans: those that are objects and
    have an id, in order; no more than `limit` + 1 (enough to tell that a
    hostile envelope holds too many, without building them all).

    The loop every span of every transaction goes through, so it is written
    for speed: each row starts as a copy of the columns its spans share, and
    each value takes the common case (an id or text that is a string, a time
    that is a float in range) inline, calling its helper only for the rest;
    the result is what the helpers alone would give.
    """
    # Every column, so that the row travels to the writer by one itemgetter (wire.values).
    shared = {
        **common,
        "segment_id": segment["span_id"],
        "is_segment": 0,
        "origin": origin,
        "event_id": None,
        "dsc": None,
    }
    segment_trace = segment["trace_id"]
    rows = []
    for span in spans:
        if span.__class__ is not dict:
            continue
        get = span.get
        span_id = get("span_id")
        span_id = (span_id.replace("-", "").lower() or None) if span_id.__class__ is str else as_id(span_id)
        if span_id is None:
            continue
        trace_id, parent, start, end = get("trace_id"), get("parent_span_id"), get("start_timestamp"), get("timestamp")
        op, description, status, tags, data = get("op"), get("description"), get("status"), get("tags"), get("data")
        row = shared.copy()
        row["trace_id"] = (None if trace_id is None else as_id(trace_id)) or segment_trace
        row["span_id"] = span_id
        row["parent_span_id"] = (parent.replace("-", "").lower() or None) if parent.__class__ is str else as_id(parent)
        row["op"] = op if op.__class__ is str or op is None else as_str(op)
        row["description"] = description if description.__class__ is str or description is None else as_str(description)
        row["start_timestamp"] = (
            start if start.__class__ is float and EARLIEST <= start <= latest else timestamp(start, latest)
        )
        row["timestamp"] = end if end.__class__ is float and EARLIEST <= end <= latest else timestamp(end, latest)
        row["status"] = status if status.__class__ is str or status is None else as_str(status)
        row["tags"] = None if tags is None else json_or_none(tags)
        row["data"] = None if data is None else json_or_none(data)
        rows.append(row)
        if len(rows) > limit:
            break
    return rows


def _v2_status(span: dict, attrs: dict) -> str | None:
    # Streamed spans say only "ok"/"error", with the reason in an attribute;
    # classic spans carry the reason as their status. Store the reason.
    status = as_str(span.get("status"))
    if status == "error" and attrs.get("sentry.status.message"):
        return as_str(attrs["sentry.status.message"])
    return status


def _v2_user(attrs: dict) -> dict:
    # v2 spans carry the user as attributes, so it can change from span to span.
    return {
        "id": attrs.get("user.id"),
        "email": attrs.get("user.email"),
        "username": attrs.get("user.name") or attrs.get("user.username"),
        "ip_address": attrs.get("user.ip_address") or attrs.get("client.address"),
    }


def _v2_span(span: dict, ctx: Context, infer_ip: bool = False) -> dict | None:
    """A streamed span's row, or None for a span without its ids."""
    trace_id, span_id = as_id(span.get("trace_id")), as_id(span.get("span_id"))
    if trace_id is None or span_id is None:
        return None
    attrs = attribute_values(span.get("attributes"))
    sdk = ctx.sdk
    sdk_name = attrs.get("sentry.sdk.name") or sdk.get("name")
    is_segment = bool(span.get("is_segment"))
    return {
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_span_id": as_id(span.get("parent_span_id")),
        "segment_id": as_id(attrs.get("sentry.segment.id")) or (span_id if is_segment else None),
        "is_segment": int(is_segment),
        "op": as_str(attrs.get("sentry.op")),
        "description": as_str(span.get("name")),
        "start_timestamp": timestamp(span.get("start_timestamp"), ctx.latest),
        "timestamp": timestamp(span.get("end_timestamp"), ctx.latest),
        "status": _v2_status(span, attrs),
        "project_id": ctx.project_id,
        "platform": as_str(attrs.get("sentry.platform")) or platform_of(sdk_name),
        "environment": as_str(attrs.get("sentry.environment")),
        "release": as_str(attrs.get("sentry.release")),
        "sdk_name": as_str(sdk_name),
        "sdk_version": as_str(attrs.get("sentry.sdk.version") or sdk.get("version")),
        **user_columns(_v2_user(attrs), ctx, infer_ip),
        "tags": None,
        "data": json_or_none(attrs),
        "origin": "span_v2",
        "dsc": json_or_none(ctx.dsc) if is_segment else None,
    }


def span(item: Item, ctx: Context, out: Records) -> None:
    """A `span` item: one v1 span, or a v2 container of streamed spans."""
    payload = load_json(item)
    if "items" not in payload:
        # A v1 standalone span: one span object in the classic shape.
        segment = {"trace_id": as_id(payload.get("trace_id")), "span_id": as_id(payload.get("segment_id"))}
        common = {"project_id": ctx.project_id, **sdk_columns({}, ctx)}
        row = span_row(payload, segment, common, "span_v1", ctx.latest)
        if row is None or segment["trace_id"] is None:
            raise ItemError("span has no trace_id/span_id")
        out.add("spans", row)
        return
    infer_ip = infers_ip(payload.get("ingest_settings"))
    for each in as_list(payload.get("items")):
        row = _v2_span(each, ctx, infer_ip) if isinstance(each, dict) else None
        if row is not None:
            out.add("spans", row)

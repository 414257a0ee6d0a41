"""Spans to `spans` rows: the classic shape (inside a transaction, or a v1
standalone `span` item) and the streamed v2 shape (a `span` container)."""

from __future__ import annotations

from ...protocol.envelope import Item
from ...protocol.jsonshape import as_list, as_str
from ...protocol.sdks import platform_of
from .records import Context, Records, infers_ip, load_json, sdk_columns, user_columns
from .values import ItemError, as_id, attribute_values, json_or_none, timestamp


def span_row(span: dict, segment: dict, common: dict, origin: str, latest: float) -> dict | None:
    """A classic span's row, or None for a span without an id."""
    span_id = as_id(span.get("span_id"))
    if span_id is None:
        return None
    return {
        "trace_id": as_id(span.get("trace_id")) or segment["trace_id"],
        "span_id": span_id,
        "parent_span_id": as_id(span.get("parent_span_id")),
        "segment_id": segment["span_id"],
        "is_segment": 0,
        "op": as_str(span.get("op")),
        "description": as_str(span.get("description")),
        "start_timestamp": timestamp(span.get("start_timestamp"), latest),
        "timestamp": timestamp(span.get("timestamp"), latest),
        "status": as_str(span.get("status")),
        **common,
        "tags": json_or_none(span.get("tags")),
        "data": json_or_none(span.get("data")),
        "origin": origin,
    }


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

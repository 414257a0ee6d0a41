"""Events to rows: an error becomes an `events` row, grouped; a transaction
becomes its root span, its child spans and a `transactions` row."""

from __future__ import annotations

from ...protocol.envelope import Item
from ...protocol.events import exceptions_of, message_of
from ...protocol.grouping import fingerprint
from ...protocol.jsonshape import as_dict, as_list, as_str
from .records import Context, Records, event_columns, load_json
from .spans import child_rows
from .values import ItemError, as_id, dumps, json_or_none, timestamp


def event(item: Item, ctx: Context, out: Records) -> None:
    """An `event` item: an error, or (from old SDKs) a transaction."""
    payload = load_json(item)
    if payload.get("type") == "transaction":
        return transaction_event(payload, ctx, out)
    trace = as_dict(as_dict(payload.get("contexts")).get("trace"))
    exceptions = exceptions_of(payload)
    # The outermost exception (the one raised last) is listed last.
    top = exceptions[-1] if exceptions else {}
    event_id = as_id(payload.get("event_id")) or ctx.envelope.event_id
    if not event_id:
        raise ItemError("event has no event_id")
    message = message_of(payload)
    group, title = fingerprint(payload, top or None, message)
    out.add(
        "events",
        {
            "event_id": event_id,
            "trace_id": as_id(trace.get("trace_id")),
            "span_id": as_id(trace.get("span_id")),
            "level": as_str(payload.get("level")) or "error",
            "exception_type": as_str(top.get("type")),
            "exception_value": as_str(top.get("value")),
            "message": message,
            "fingerprint": group,
            "title": title,
            "transaction_name": as_str(payload.get("transaction")),
            "culprit": as_str(payload.get("culprit")),
            "timestamp": timestamp(payload.get("timestamp"), ctx.latest),
            **event_columns(payload, ctx),
            "data": dumps(payload),
        },
    )


def transaction(item: Item, ctx: Context, out: Records) -> None:
    transaction_event(load_json(item), ctx, out)


def _root_span(payload: dict, trace: dict, ctx: Context, common: dict, event_id: str) -> dict:
    """The transaction itself as the root span of its segment."""
    span_id = as_id(trace.get("span_id"))
    root_data = dict(as_dict(trace.get("data")))
    request = as_dict(payload.get("request"))
    for key in ("url", "method"):
        if request.get(key):
            root_data.setdefault(f"http.request.{key}", request[key])
    # Web vitals of a classic pageload (lcp, fcp, ttfb, cls…) travel in the
    # event's measurements; the waterfall draws them from the root's data.
    measurements = as_dict(payload.get("measurements"))
    if measurements:
        root_data.setdefault("measurements", measurements)
    return {
        "trace_id": as_id(trace.get("trace_id")),
        "span_id": span_id,
        "parent_span_id": as_id(trace.get("parent_span_id")),
        "segment_id": span_id,
        "is_segment": 1,
        "op": as_str(trace.get("op")),
        "description": as_str(payload.get("transaction")),
        "start_timestamp": timestamp(payload.get("start_timestamp"), ctx.latest),
        "timestamp": timestamp(payload.get("timestamp"), ctx.latest),
        "status": as_str(trace.get("status")),
        **common,
        "tags": json_or_none(payload.get("tags")),
        "data": json_or_none(root_data),
        "origin": "transaction",
        "event_id": event_id,
        "dsc": json_or_none(ctx.dsc),
    }


def transaction_event(payload: dict, ctx: Context, out: Records) -> None:
    trace = as_dict(as_dict(payload.get("contexts")).get("trace"))
    event_id = as_id(payload.get("event_id")) or ctx.envelope.event_id or ""
    common = event_columns(payload, ctx)
    root = _root_span(payload, trace, ctx, common, event_id)
    if not root["trace_id"] or not root["span_id"]:
        raise ItemError("transaction has no contexts.trace.trace_id/span_id")
    out.add("spans", root)
    children = child_rows(as_list(payload.get("spans")), root, common, "transaction", ctx.latest, out.room)
    out.add_all("spans", children)
    stored = {k: v for k, v in payload.items() if k != "spans"}
    out.add(
        "transactions",
        {
            "event_id": event_id or root["span_id"],
            "trace_id": root["trace_id"],
            "span_id": root["span_id"],
            "name": root["description"],
            "op": root["op"],
            "start_timestamp": root["start_timestamp"],
            "timestamp": root["timestamp"],
            "project_id": ctx.project_id,
            "data": dumps(stored),
        },
    )

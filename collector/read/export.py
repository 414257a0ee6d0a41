"""A trace's stored rows back into envelopes, to share the trace.

The file format is a concatenation of envelopes as Sentry's envelope
endpoint takes them, one after the other. Each envelope is a header line
(`event_id` where it has one, `sdk`, and `trace`: the dynamic sampling
context the segment came with, or at least the trace id) and items, each
an item header with `type` and `length`, a newline, the payload and a
newline. Because every item says its length (binary recordings and
attachments are safe), and an item header always has a `type` while an
envelope header never has one, `protocol.envelope_files.split` can cut
the file into envelopes again. No header carries a `dsn`: any endpoint
takes each envelope with its own key (Relay refuses an envelope whose `dsn`
disagrees with the request's auth).

What was stored is normalized, so each item is rebuilt from what ingest
kept of it: an error from `events.data` (the event as sent); a transaction
from `transactions.data` with its child spans from their `spans` rows;
streamed (v2) spans and v1 standalone spans as `span` items in their own
shape; logs as `log` containers; a replay segment as its `replay_event` and
its recording's bytes as stored; attachments and the session updates with
the error they came with; feedback as sent. Ids and timestamps are written
as stored, so importing the file shows the same trace. Any stored value
may be of any JSON type (or not JSON): the envelopes stay valid JSON.
"""

from __future__ import annotations

import json
from collections import defaultdict

import orjson

from ..protocol.envelope import Envelope, Item, ItemType, serialize
from ..protocol.jsonshape import as_dict, as_str, loads, loads_dict
from .export_rows import trace_export_rows

LOG_CONTENT_TYPE = "application/vnd.sentry.items.log+json"
SPAN_CONTENT_TYPE = "application/vnd.sentry.items.span.v2+json"
# Logs per `log` item: SDKs batch at most 100; a few thousand stay far under
# Relay's 2 MiB per item for ordinary logs.
LOGS_PER_ITEM = 1_000
# Where ingest stores where a span row came from (spans.origin).
FROM_TRANSACTION, FROM_V1, FROM_V2 = "transaction", "span_v1", "span_v2"


def _text(value) -> str:
    # An older version may have stored bytes where text belongs.
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    raise TypeError(f"{type(value).__name__} is not JSON")


def _json(value) -> bytes:
    try:
        return orjson.dumps(value, default=_text, option=orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:
        # orjson writes at most 254 levels: stored JSON that deep, wrapped in
        # an item, goes one or two past it. Python's encoder goes deeper.
        return json.dumps(value, default=_text, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")


def _raw(value) -> bytes:
    """A stored payload as bytes (an older version may have stored text)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return value.encode("utf-8", "replace") if isinstance(value, str) else b""


def _item(item_type: str, payload, **headers) -> Item:
    body = payload if isinstance(payload, bytes) else _json(payload)
    return Item({"type": item_type, **{k: v for k, v in headers.items() if v is not None}}, body)


def _sdk(row: dict) -> dict | None:
    name, version = as_str(row.get("sdk_name")), as_str(row.get("sdk_version"))
    return {"name": name, "version": version or "unknown"} if name else None


def _header(trace_id: str, event_id=None, sdk: dict | None = None, dsc: dict | None = None) -> dict:
    header = {"event_id": as_str(event_id)} if as_str(event_id) else {}
    if sdk:
        header["sdk"] = sdk
    header["trace"] = {**(dsc or {}), "trace_id": as_str(as_dict(dsc).get("trace_id")) or trace_id}
    return header


def _present(fields: dict) -> dict:
    """The fields that hold something (a span's JSON leaves out what was not sent)."""
    return {k: v for k, v in fields.items() if v is not None}


def _fill_ip(payload: dict, row: dict) -> None:
    """An IP the collector filled in (`{{auto}}`, `infer_ip`) written out,
    so the importing collector stores the sender's address, not its own."""
    ip = as_str(row.get("user_ip"))
    user = payload.get("user")
    if ip is None or (user is not None and not isinstance(user, dict)):
        return
    user = dict(user or {})
    if as_str(user.get("ip_address")) in (None, "{{auto}}"):
        payload["user"] = {**user, "ip_address": ip}


# -- spans and transactions --------------------------------------------------


def _classic_span(row: dict) -> dict:
    """A span row in the shape of a transaction's `spans` (and of a v1 span item)."""
    return _present(
        {
            "trace_id": row["trace_id"],
            "span_id": row["span_id"],
            "parent_span_id": row["parent_span_id"],
            "op": row["op"],
            "description": row["description"],
            "start_timestamp": row["start_timestamp"],
            "timestamp": row["timestamp"],
            "status": row["status"],
            "tags": loads(row["tags"]),
            "data": loads(row["data"]),
        }
    )


def _transaction_payload(root: dict, stored: dict | None, children: list[dict]) -> dict:
    """The transaction as sent (without its spans, as stored), its spans put back."""
    payload = dict(stored) if stored else {}
    payload["type"] = "transaction"
    payload.setdefault("event_id", root["event_id"])
    payload.setdefault("transaction", root["description"])
    payload.setdefault("start_timestamp", root["start_timestamp"])
    payload.setdefault("timestamp", root["timestamp"])
    contexts = as_dict(payload.get("contexts"))
    trace = _present({"trace_id": root["trace_id"], "span_id": root["span_id"], "op": root["op"]})
    trace.update(_present({"parent_span_id": root["parent_span_id"], "status": root["status"]}))
    payload["contexts"] = {**contexts, "trace": {**as_dict(contexts.get("trace")), **trace}}
    payload["spans"] = [_classic_span(child) for child in children]
    _fill_ip(payload, root)
    return payload


def _transactions(trace_id: str, spans: list[dict], stored: dict[str, dict]) -> list[Envelope]:
    children = defaultdict(list)
    for row in spans:
        if row["origin"] == FROM_TRANSACTION and not row["is_segment"]:
            children[row["segment_id"]].append(row)
    out = []
    for root in spans:
        if root["origin"] != FROM_TRANSACTION or not root["is_segment"]:
            continue
        payload = _transaction_payload(root, stored.get(root["event_id"]), children.pop(root["span_id"], []))
        header = _header(trace_id, payload.get("event_id"), _sdk(root), loads_dict(root["dsc"]))
        out.append(Envelope(header, [_item(ItemType.TRANSACTION, payload)]))
    return out


def _attribute(value) -> dict:
    """A plain value as a typed attribute (the shape v2 spans and logs send)."""
    if isinstance(value, bool):
        kind = "boolean"
    elif isinstance(value, int):
        kind = "integer"
    elif isinstance(value, float):
        kind = "double"
    elif isinstance(value, list):
        kind = "array"
    else:
        kind = "string"
    return {"type": kind, "value": value}


def _attributes(stored) -> dict:
    return {str(key): _attribute(value) for key, value in as_dict(loads(stored)).items()}


def _v2_span(row: dict) -> dict:
    attributes = _attributes(row["data"])
    status = as_str(row["status"])
    if status not in (None, "ok", "error"):
        # Ingest stored the reason of an "error" status in its place.
        attributes.setdefault("sentry.status.message", _attribute(status))
        status = "error"
    if row["user_ip"] and "user.ip_address" not in attributes and "client.address" not in attributes:
        attributes["user.ip_address"] = _attribute(row["user_ip"])
    if row["op"] is not None:
        attributes.setdefault("sentry.op", _attribute(row["op"]))
    return _present(
        {
            "trace_id": row["trace_id"],
            "span_id": row["span_id"],
            "parent_span_id": row["parent_span_id"],
            "name": row["description"],
            "start_timestamp": row["start_timestamp"],
            "end_timestamp": row["timestamp"],
            "status": status,
            "is_segment": bool(row["is_segment"]),
            "attributes": attributes,
        }
    )


def _standalone_spans(trace_id: str, spans: list[dict]) -> list[Envelope]:
    """Streamed (v2) spans as containers and v1 spans as items, one envelope
    per segment and SDK, with the segment's sampling context."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in spans:
        if row["origin"] in (FROM_V1, FROM_V2):
            groups[(row["origin"], row["segment_id"], row["sdk_name"], row["sdk_version"])].append(row)
    out = []
    for (origin, _, _, _), rows in groups.items():
        dsc = next((loads_dict(r["dsc"]) for r in rows if r["is_segment"] and loads_dict(r["dsc"])), None)
        header = _header(trace_id, None, _sdk(rows[0]), dsc)
        if origin == FROM_V2:
            container = {"version": 2, "items": [_v2_span(row) for row in rows]}
            items = [_item(ItemType.SPAN, container, content_type=SPAN_CONTENT_TYPE, item_count=len(rows))]
        else:
            items = [_item(ItemType.SPAN, {**_classic_span(row), "segment_id": row["segment_id"]}) for row in rows]
        out.append(Envelope(header, items))
    return out


# -- errors, logs, replays, feedback -----------------------------------------


def _error_payload(row: dict) -> dict:
    """The event as sent; a row whose `data` is not an object is rebuilt from its columns."""
    payload = loads_dict(row["data"])
    if payload is None:
        trace = _present({"trace_id": row["trace_id"], "span_id": row["span_id"]})
        payload = _present(
            {
                "timestamp": row["timestamp"],
                "level": row["level"],
                "message": row["message"],
                "platform": row["platform"],
                "environment": row["environment"],
                "release": row["release"],
                "transaction": row["transaction_name"],
                "contexts": {"trace": trace},
                "user": _present({"id": row["user_id"], "email": row["user_email"], "username": row["user_username"]}),
            }
        )
    payload.setdefault("event_id", row["event_id"])
    _fill_ip(payload, row)
    return payload


def _session_item(row: dict) -> Item:
    data = loads(row["data"])
    if row["kind"] == "aggregate":
        attrs = _present({"release": row["release"], "environment": row["environment"]})
        return _item(ItemType.SESSIONS, {"aggregates": [data] if isinstance(data, dict) else [], "attrs": attrs})
    return _item(ItemType.SESSION, data if isinstance(data, dict) else {})


def _errors(trace_id: str, events: list[dict], sessions: list[dict], dsc: dict | None) -> list[Envelope]:
    by_envelope = defaultdict(list)
    for session in sessions:
        by_envelope[session["envelope_id"]].append(_session_item(session))
    out = []
    for row in events:
        items = [_item(ItemType.EVENT, _error_payload(row))]
        # Sessions once: the first error of their envelope takes them.
        items += by_envelope.pop(row["envelope_id"], []) if row["envelope_id"] is not None else []
        out.append(Envelope(_header(trace_id, row["event_id"], _sdk(row), dsc), items))
    return out


def _log(row: dict) -> dict:
    return _present(
        {
            "timestamp": row["timestamp"],
            "trace_id": row["trace_id"],
            "span_id": row["span_id"],
            "level": row["level"],
            "severity_number": row["severity_number"],
            "body": row["body"],
            "attributes": _attributes(row["attributes"]),
        }
    )


def _logs(trace_id: str, logs: list[dict], dsc: dict | None) -> list[Envelope]:
    """Logs as `log` containers, batched as they arrived (by envelope and SDK)."""
    batches: dict[tuple, list[dict]] = defaultdict(list)
    for row in logs:
        batches[(row["envelope_id"], row["sdk_name"], row["sdk_version"])].append(row)
    out = []
    for rows in batches.values():
        for start in range(0, len(rows), LOGS_PER_ITEM):
            chunk = [_log(row) for row in rows[start : start + LOGS_PER_ITEM]]
            item = _item(ItemType.LOG, {"items": chunk}, content_type=LOG_CONTENT_TYPE, item_count=len(chunk))
            out.append(Envelope(_header(trace_id, None, _sdk(rows[0]), dsc), [item]))
    return out


def _replays(trace_id: str, segments: list[dict], recordings: list[dict]) -> list[Envelope]:
    """One envelope per recorded segment, as the SDKs send them: its
    `replay_event` and its recording's bytes as stored (a mobile video item
    holds its replay event itself). Segments without a recording go alone."""
    events = {(row["replay_id"], row["segment_id"]): row for row in segments}
    out = []
    for recording in recordings:
        key = (recording["replay_id"], recording["segment_id"])
        segment = events.pop(key, None)
        kind = ItemType.REPLAY_VIDEO if recording["kind"] == ItemType.REPLAY_VIDEO else ItemType.REPLAY_RECORDING
        items = [_item(kind, _raw(recording["payload"]))]
        if kind != ItemType.REPLAY_VIDEO and segment is not None and loads_dict(segment["data"]):
            items.insert(0, _item(ItemType.REPLAY_EVENT, loads_dict(segment["data"])))
        out.append(Envelope(_header(trace_id, recording["replay_id"], _sdk(segment or {})), items))
    for (replay_id, _), segment in events.items():
        if loads_dict(segment["data"]):
            item = _item(ItemType.REPLAY_EVENT, loads_dict(segment["data"]))
            out.append(Envelope(_header(trace_id, replay_id, _sdk(segment)), [item]))
    return out


def _feedback(trace_id: str, rows: list[dict]) -> list[Envelope]:
    out = []
    for row in rows:
        data = loads_dict(row["data"])
        if data is None:
            continue
        kind = ItemType.USER_REPORT if row["kind"] == "user_report" else ItemType.FEEDBACK
        out.append(Envelope(_header(trace_id, row["event_id"]), [_item(kind, data)]))
    return out


def _attach(envelopes: list[Envelope], attachments: list[dict]) -> None:
    """Attachments join the envelope of their event, as the SDKs send them."""
    by_event = {envelope.headers.get("event_id"): envelope for envelope in envelopes}
    for row in attachments:
        envelope = by_event.get(row["event_id"])
        if envelope is None:
            continue
        headers = {
            "filename": as_str(row["filename"]) or "attachment",
            "content_type": as_str(row["content_type"]),
            "attachment_type": as_str(row["attachment_type"]),
        }
        envelope.items.append(_item(ItemType.ATTACHMENT, _raw(row["payload"]), **headers))


def head_dsc(spans: list[dict]) -> dict | None:
    """The sampling context of the trace's head: that of its parentless segment, else any."""
    contexts = [(row["parent_span_id"] is None, loads_dict(row["dsc"])) for row in spans if row["is_segment"]]
    contexts = [(is_root, dsc) for is_root, dsc in contexts if dsc]
    contexts.sort(key=lambda pair: not pair[0])
    return contexts[0][1] if contexts else None


def trace_envelopes(rows: dict) -> list[Envelope]:
    """The envelopes of a trace's rows (`export_rows.trace_export_rows`)."""
    trace_id = as_str(rows["trace_id"]) or str(rows["trace_id"])
    spans = rows["spans"]
    dsc = head_dsc(spans)
    stored = {t["event_id"]: loads_dict(t["data"]) for t in rows["transactions"]}
    envelopes = _transactions(trace_id, spans, stored) + _standalone_spans(trace_id, spans)
    events = _errors(trace_id, rows["events"], rows["sessions"], dsc)
    _attach(envelopes + events, rows["attachments"])
    return (
        envelopes
        + events
        + _logs(trace_id, rows["logs"], dsc)
        + _replays(trace_id, rows["replays"], rows["recordings"])
        + _feedback(trace_id, rows["feedback"])
    )


def export_file(rows: dict) -> bytes:
    """The file of a trace's envelopes, one after the other."""
    return b"".join(serialize(envelope) for envelope in trace_envelopes(rows))


def file_name(trace_id: str) -> str:
    return f"trace-{trace_id}.envelopes"


def export_trace(conn, trace_id: str) -> tuple[str, bytes] | None:
    """The trace's id as stored and its file, read on a reader thread; None when unknown."""
    rows = trace_export_rows(conn, trace_id)
    if rows is None:
        return None
    return as_str(rows["trace_id"]) or str(rows["trace_id"]), export_file(rows)

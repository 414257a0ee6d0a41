"""OTLP spans and log records to `spans` and `logs` rows, as Relay maps them,
so that an OpenTelemetry-instrumented service sits in the same waterfall as
one with a Sentry SDK.

Pure: an export request in OTLP/JSON's shape (`protocol.otlp.decode`) in,
rows and what was rejected out. The choices, Relay's where it has one:
- ids are hex; a span without a valid trace or span id is rejected (and
  counted in the answer's partial success); an empty parent is a root;
- a segment is the root of the service's local tree: a span without a
  parent, or whose parent the exporter marks remote (Span.flags); when the
  flags say nothing (older exporters), a SERVER or CONSUMER span;
- status unset/ok is `ok`, error is `internal_error` with its message kept
  in `data` (`otel.status_message`);
- the op comes from `sentry.op`, else from the kind and the attributes
  (SERVER with HTTP attributes is `http.server`, CLIENT `http.client`);
  the span's name is its description;
- the resource names the service and SDK: `telemetry.sdk.name` and
  `.language` make `opentelemetry.python`, `deployment.environment[.name]`
  the environment, `service.version` the release;
- every attribute is kept in `data` (arrays and kvlists as JSON), resource
  attributes under `resource.`, with the kind, scope, events (exceptions)
  and links.
"""

from __future__ import annotations

from ...protocol import otlp
from ...protocol.jsonshape import as_dict, as_list, as_str
from .records import MAX_ROWS
from .values import ItemError, json_int, json_or_none, timestamp

# Kinds whose span starts work for a caller in another process.
ENTRY_KINDS = ("server", "consumer")
# Languages (telemetry.sdk.language) as the platforms Sentry's SDKs name.
PLATFORMS = {"nodejs": "node", "webjs": "javascript", "cpp": "native"}
# A span's events and links kept in `data`: exceptions are what matter, a
# span with thousands of events is cut.
MAX_EVENTS = 100


def service_columns(resource: dict) -> dict:
    """The SDK, platform, environment and release a resource names."""
    attrs = otlp.attributes(resource.get("attributes"))
    name = as_str(attrs.get("telemetry.sdk.name")) or "opentelemetry"
    language = as_str(attrs.get("telemetry.sdk.language"))
    return {
        "sdk_name": f"{name}.{language}" if language else name,
        "sdk_version": as_str(attrs.get("telemetry.sdk.version")),
        "platform": PLATFORMS.get(language, language),
        "environment": as_str(attrs.get("deployment.environment.name") or attrs.get("deployment.environment")),
        "release": as_str(attrs.get("service.version")),
        "resource": {f"resource.{k}": v for k, v in attrs.items()},
    }


def _op(kind: str | None, attrs: dict) -> str | None:
    given = as_str(attrs.get("sentry.op"))
    if given:
        return given
    if "http.request.method" in attrs or "http.method" in attrs:
        return {"server": "http.server", "client": "http.client"}.get(kind, "http")
    if "db.system" in attrs or "db.system.name" in attrs:
        return "db"
    if "messaging.system" in attrs:
        return {"producer": "queue.publish", "consumer": "queue.process"}.get(kind, "queue")
    if "rpc.system" in attrs:
        return {"server": "rpc.server", "client": "rpc.client"}.get(kind, "rpc")
    return None


def _events(span: dict, latest: float) -> list[dict]:
    return [
        {
            "name": as_str(event.get("name")),
            "timestamp": timestamp(otlp.seconds(event.get("timeUnixNano")), latest),
            "attributes": otlp.attributes(event.get("attributes")),
        }
        for event in map(as_dict, as_list(span.get("events"))[:MAX_EVENTS])
    ]


def _links(span: dict) -> list[dict]:
    return [
        {
            "trace_id": otlp.hex_id(link.get("traceId"), 16),
            "span_id": otlp.hex_id(link.get("spanId"), 8),
            "attributes": otlp.attributes(link.get("attributes")),
        }
        for link in map(as_dict, as_list(span.get("links"))[:MAX_EVENTS])
    ]


def _is_segment(span: dict, parent: str | None, kind: str | None) -> bool:
    if parent is None:
        return True
    remote = otlp.parent_is_remote(span.get("flags"))
    return remote if remote is not None else kind in ENTRY_KINDS


def span_row(span: dict, service: dict, scope: dict, project_id: str, latest: float) -> dict | None:
    """A span's row (segment_id still to find), or None without valid ids."""
    trace_id, span_id = otlp.hex_id(span.get("traceId"), 16), otlp.hex_id(span.get("spanId"), 8)
    if trace_id is None or span_id is None:
        return None
    parent = otlp.hex_id(span.get("parentSpanId"), 8)
    kind = otlp.kind_name(span.get("kind"))
    attrs = otlp.attributes(span.get("attributes"))
    status = as_dict(span.get("status"))
    error = otlp.is_error(status)
    data = {
        **service["resource"],
        **attrs,
        "otel.kind": kind,
        "otel.scope": as_str(scope.get("name")),
        "otel.status_message": as_str(status.get("message")) if error else None,
        "otel.events": _events(span, latest),
        "otel.links": _links(span),
    }
    is_segment = _is_segment(span, parent, kind)
    return {
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_span_id": parent,
        "segment_id": span_id if is_segment else None,
        "is_segment": int(is_segment),
        "op": _op(kind, attrs),
        "description": as_str(span.get("name")) or None,
        "start_timestamp": timestamp(otlp.seconds(span.get("startTimeUnixNano")), latest),
        "timestamp": timestamp(otlp.seconds(span.get("endTimeUnixNano")), latest),
        "status": "internal_error" if error else "ok",
        "project_id": project_id,
        "platform": service["platform"],
        "environment": service["environment"],
        "release": service["release"],
        "sdk_name": service["sdk_name"],
        "sdk_version": service["sdk_version"],
        "user_id": as_str(attrs.get("enduser.id") or attrs.get("user.id")),
        "user_email": as_str(attrs.get("user.email")),
        "user_username": as_str(attrs.get("user.name")),
        "user_ip": None,
        "tags": None,
        "data": json_or_none({k: v for k, v in data.items() if v not in (None, [], {})}),
        "origin": "otlp",
        "dsc": None,
    }


def _link_segments(rows: list[dict]) -> None:
    """Each span's segment: the nearest segment up its parents among the
    spans of this request (an exporter sends a local tree together, mostly);
    None when the chain leaves the request."""
    by_id = {(r["trace_id"], r["span_id"]): r for r in rows}
    for row in rows:
        seen, node = 0, row
        while node is not None and not node["is_segment"] and seen < len(rows):
            node, seen = by_id.get((row["trace_id"], node["parent_span_id"])), seen + 1
        row["segment_id"] = node["span_id"] if node is not None and node["is_segment"] else None


class Rejected:
    """What an export loses, counted and explained in its partial success."""

    def __init__(self):
        self.count = 0
        self.reasons: dict[str, int] = {}

    def add(self, reason: str) -> None:
        self.count += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1

    def message(self) -> str | None:
        return "; ".join(f"{n} {reason}" for reason, n in self.reasons.items()) or None


def _id_reason(item: dict, what: str) -> str:
    if otlp.looks_base64(item.get("traceId"), 16) or otlp.looks_base64(item.get("spanId"), 8):
        return f"{what} with base64 ids: OTLP/JSON ids are hex (traceId 32 digits, spanId 16)"
    return f"{what} without a valid traceId (16 bytes) and spanId (8 bytes)"


def _collect(request: dict, signal: str, what: str, make_row, project_id: str, latest: float):
    """Rows made by `make_row` from every span or log record of a request
    (at most MAX_ROWS), and what was rejected; a None row lacks valid ids."""
    rows, rejected = [], Rejected()
    for resource, scope, items in otlp.groups(request, signal):
        service = service_columns(resource)
        for item in items:
            if len(rows) >= MAX_ROWS:
                rejected.add(f"{what} past {MAX_ROWS} in one request")
                continue
            try:
                row = make_row(item, service, scope, project_id, latest)
            except ItemError as e:
                rejected.add(f"{what} not storable: {e}")
                continue
            if row is None:
                rejected.add(_id_reason(item, what))
            else:
                rows.append(row)
    return rows, rejected


def span_rows(request: dict, project_id: str, latest: float) -> tuple[list[dict], Rejected]:
    """The rows of an ExportTraceServiceRequest, and what was rejected."""
    rows, rejected = _collect(request, "traces", "spans", span_row, project_id, latest)
    _link_segments(rows)
    return rows, rejected


def _body_text(body) -> str | None:
    value = otlp.value_of(body)
    if value is None or isinstance(value, str):
        return value
    return json_or_none(value)


def log_row(record: dict, service: dict, scope: dict, project_id: str, latest: float) -> dict:
    attrs = otlp.attributes(record.get("attributes"))
    when = otlp.seconds(record.get("timeUnixNano")) or otlp.seconds(record.get("observedTimeUnixNano"))
    data = {**service["resource"], **attrs, "otel.scope": as_str(scope.get("name"))}
    return {
        "trace_id": otlp.hex_id(record.get("traceId"), 16),
        "span_id": otlp.hex_id(record.get("spanId"), 8),
        "timestamp": timestamp(when, latest),
        "level": otlp.level(record.get("severityNumber"), record.get("severityText")),
        "severity_number": json_int(record.get("severityNumber")),
        "body": _body_text(record.get("body")),
        "attributes": json_or_none({k: v for k, v in data.items() if v is not None}),
        "sdk_name": service["sdk_name"],
        "sdk_version": service["sdk_version"],
        "environment": service["environment"],
        "release": service["release"],
        "project_id": project_id,
    }


def log_rows(request: dict, project_id: str, latest: float) -> tuple[list[dict], Rejected]:
    """The rows of an ExportLogsServiceRequest (a log needs no ids), and what was rejected."""
    return _collect(request, "logs", "log records", log_row, project_id, latest)

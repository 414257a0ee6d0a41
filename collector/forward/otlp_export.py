"""Our span and log rows as OTLP/HTTP protobuf requests (`--forward-otlp`),
with the official `opentelemetry-proto` messages: the reverse of Relay's
OTLP mapping. Ids go from hex to bytes (trace 16, span 8), times to
nanoseconds; a span's kind comes from its op, its status from Sentry's
(ok → OK, none → UNSET, anything else → ERROR with that message);
resource attributes name the service from the release and the SDK.
"""

from __future__ import annotations

import math

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from ..protocol.jsonshape import as_dict, loads_dict
from ..protocol.otlp import id_bytes

TRACES = "traces"
LOGS = "logs"
SCOPE = InstrumentationScope(name="collector")
KINDS = {
    "http.server": Span.SPAN_KIND_SERVER,
    "http.client": Span.SPAN_KIND_CLIENT,
    "queue.publish": Span.SPAN_KIND_PRODUCER,
    "queue.process": Span.SPAN_KIND_CONSUMER,
}
# Nesting kept in an attribute value; deeper parts are written as text.
MAX_DEPTH = 8
INT64 = 1 << 63


def requests(rows: dict[str, list[dict]]) -> list[tuple[str, bytes]]:
    """(signal, serialized request) for the spans and the logs among rows."""
    out = []
    spans = [s for s in rows.get("spans", ()) if id_bytes(s.get("trace_id"), 16) and id_bytes(s.get("span_id"), 8)]
    if spans:
        out.append((TRACES, trace_request(spans).SerializeToString()))
    logs = rows.get("logs", ())
    if logs:
        out.append((LOGS, logs_request(logs).SerializeToString()))
    return out


def trace_request(spans: list[dict]) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    for resource, group in _by_resource(spans).items():
        resource_spans = request.resource_spans.add()
        resource_spans.resource.attributes.extend(_attributes(dict(resource)))
        resource_spans.scope_spans.add(scope=SCOPE).spans.extend(map(to_span, group))
    return request


def logs_request(logs: list[dict]) -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    for resource, group in _by_resource(logs).items():
        resource_logs = request.resource_logs.add()
        resource_logs.resource.attributes.extend(_attributes(dict(resource)))
        resource_logs.scope_logs.add(scope=SCOPE).log_records.extend(map(to_log_record, group))
    return request


def to_span(row: dict) -> Span:
    op = row.get("op") or ""
    attributes = {**(loads_dict(row.get("data")) or {}), "sentry.op": op or None, "sentry.origin": row.get("origin")}
    for key, value in as_dict(loads_dict(row.get("tags"))).items():
        attributes.setdefault(key, value)
    return Span(
        trace_id=id_bytes(row.get("trace_id"), 16),
        span_id=id_bytes(row.get("span_id"), 8),
        parent_span_id=id_bytes(row.get("parent_span_id"), 8) or b"",
        name=row.get("description") or op or "span",
        kind=KINDS.get(op, Span.SPAN_KIND_INTERNAL),
        start_time_unix_nano=_nanos(row.get("start_timestamp")),
        end_time_unix_nano=_nanos(row.get("timestamp")),
        attributes=_attributes(attributes),
        status=_status(row.get("status")),
    )


def to_log_record(row: dict) -> LogRecord:
    body = row.get("body")
    return LogRecord(
        time_unix_nano=_nanos(row.get("timestamp")),
        observed_time_unix_nano=_nanos(row.get("timestamp")),
        severity_number=row.get("severity_number") or 0,
        severity_text=row.get("level") or "",
        body=AnyValue(string_value=body) if body is not None else None,
        attributes=_attributes(loads_dict(row.get("attributes")) or {}),
        trace_id=id_bytes(row.get("trace_id"), 16) or b"",
        span_id=id_bytes(row.get("span_id"), 8) or b"",
    )


def resource_of(row: dict) -> tuple[tuple[str, str], ...]:
    """service.name is the release's package (`shop@1.2` → shop), else the
    SDK's name; the rest as OpenTelemetry's semantic conventions name them."""
    release, sdk = row.get("release"), row.get("sdk_name")
    service = release.partition("@")[0] if release and "@" in release else sdk or "unknown_service"
    found = {
        "service.name": service,
        "service.version": release,
        "deployment.environment.name": row.get("environment"),
        "telemetry.sdk.name": sdk,
        "telemetry.sdk.version": row.get("sdk_version"),
    }
    return tuple((k, v) for k, v in found.items() if v)


def _by_resource(rows) -> dict[tuple, list[dict]]:
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(resource_of(row), []).append(row)
    return groups


def _status(status) -> Status:
    if not status:
        return Status(code=Status.STATUS_CODE_UNSET)
    if status == "ok":
        return Status(code=Status.STATUS_CODE_OK)
    return Status(code=Status.STATUS_CODE_ERROR, message=str(status))


def _nanos(seconds) -> int:
    if isinstance(seconds, (int, float)) and math.isfinite(seconds) and seconds > 0:
        # Via microseconds, the precision Sentry's timestamps carry: a double
        # times 1e9 is off by a few hundred nanoseconds at today's epoch.
        return round(seconds * 1_000_000) * 1000
    return 0


def _attributes(values: dict) -> list[KeyValue]:
    return [KeyValue(key=str(k), value=_value(v, 0)) for k, v in values.items() if v is not None]


def _value(value, depth: int) -> AnyValue:
    """Any JSON value as an AnyValue (the data is untrusted: every type may
    sit anywhere, and nesting is bounded)."""
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int) and -INT64 <= value < INT64:
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, str):
        return AnyValue(string_value=value)
    if depth < MAX_DEPTH and isinstance(value, list):
        items = [_value(v, depth + 1) for v in value if v is not None]
        return AnyValue(array_value={"values": items})
    if depth < MAX_DEPTH and isinstance(value, dict):
        pairs = [KeyValue(key=str(k), value=_value(v, depth + 1)) for k, v in value.items() if v is not None]
        return AnyValue(kvlist_value={"values": pairs})
    return AnyValue(string_value=str(value))

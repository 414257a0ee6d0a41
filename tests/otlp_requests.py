"""OTLP export requests the tests send: the same three spans of one
service as OTLP/JSON and as protobuf, each built field by field (not by the
collector's code), so the two encodings can be compared."""

from __future__ import annotations

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

NOW = 1_760_000_000.0
NANOS = int(NOW * 1e9) - 2_000_000_000
TRACE = "5b8efff798038103d269b633813fc60c"
ROOT, CHILD, REMOTE_CHILD = "eee19b7ec3c1b174", "eee19b7ec3c1b173", "eee19b7ec3c1b175"
CALLER = "1111111111111111"
RESOURCE = {
    "service.name": "checkout",
    "service.version": "1.2.3",
    "deployment.environment": "staging",
    "telemetry.sdk.name": "opentelemetry",
    "telemetry.sdk.language": "python",
    "telemetry.sdk.version": "1.45.2",
}


def kv_json(key: str, value) -> dict:
    if isinstance(value, bool):
        v = {"boolValue": value}
    elif isinstance(value, int):
        v = {"intValue": str(value)}
    elif isinstance(value, float):
        v = {"doubleValue": value}
    elif isinstance(value, list):
        v = {"arrayValue": {"values": [kv_json("", x)["value"] for x in value]}}
    else:
        v = {"stringValue": value}
    return {"key": key, "value": v}


def kv_pb(key: str, value) -> common_pb2.KeyValue:
    if isinstance(value, bool):
        v = common_pb2.AnyValue(bool_value=value)
    elif isinstance(value, int):
        v = common_pb2.AnyValue(int_value=value)
    elif isinstance(value, float):
        v = common_pb2.AnyValue(double_value=value)
    elif isinstance(value, list):
        v = common_pb2.AnyValue(array_value=common_pb2.ArrayValue(values=[kv_pb("", x).value for x in value]))
    else:
        v = common_pb2.AnyValue(string_value=value)
    return common_pb2.KeyValue(key=key, value=v)


# Three spans of one service: a SERVER root whose parent is the caller's span
# in another process (flags: remote), a CLIENT child, and an INTERNAL child
# that failed. Field by field as OTLP/JSON writes them.
SPANS = [
    {
        "id": ROOT,
        "parent": CALLER,
        "name": "GET /checkout",
        "kind": 2,
        "flags": 0x300,
        "attrs": {"http.request.method": "GET", "url.path": "/checkout", "http.response.status_code": 200},
        "status": None,
    },
    {
        "id": CHILD,
        "parent": ROOT,
        "name": "GET",
        "kind": 3,
        "flags": 0x100,
        "attrs": {"http.request.method": "GET", "url.full": "http://pay:9000/charge", "tags": ["a", "b"]},
        "status": None,
    },
    {
        "id": REMOTE_CHILD,
        "parent": ROOT,
        "name": "charge card",
        "kind": 1,
        "flags": 0x100,
        "attrs": {"retries": 2, "ratio": 0.5, "cached": False},
        "status": ("card declined", 2),
    },
]


def json_request() -> dict:
    spans = []
    for i, s in enumerate(SPANS):
        span = {
            "traceId": TRACE,
            "spanId": s["id"],
            "parentSpanId": s["parent"],
            "name": s["name"],
            "kind": s["kind"],
            "flags": s["flags"],
            "startTimeUnixNano": str(NANOS + i * 1000),
            "endTimeUnixNano": str(NANOS + 500_000_000),
            "attributes": [kv_json(k, v) for k, v in s["attrs"].items()],
            "events": [
                {"timeUnixNano": str(NANOS), "name": "exception", "attributes": [kv_json("exception.type", "E")]}
            ],
        }
        if s["status"]:
            span["status"] = {"message": s["status"][0], "code": s["status"][1]}
        spans.append(span)
    resource = {"attributes": [kv_json(k, v) for k, v in RESOURCE.items()]}
    return {"resourceSpans": [{"resource": resource, "scopeSpans": [{"scope": {"name": "fastapi"}, "spans": spans}]}]}


def protobuf_request() -> bytes:
    spans = []
    for i, s in enumerate(SPANS):
        span = trace_pb2.Span(
            trace_id=bytes.fromhex(TRACE),
            span_id=bytes.fromhex(s["id"]),
            parent_span_id=bytes.fromhex(s["parent"]),
            name=s["name"],
            kind=s["kind"],
            flags=s["flags"],
            start_time_unix_nano=NANOS + i * 1000,
            end_time_unix_nano=NANOS + 500_000_000,
            attributes=[kv_pb(k, v) for k, v in s["attrs"].items()],
            events=[
                trace_pb2.Span.Event(time_unix_nano=NANOS, name="exception", attributes=[kv_pb("exception.type", "E")])
            ],
        )
        if s["status"]:
            span.status.CopyFrom(trace_pb2.Status(message=s["status"][0], code=s["status"][1]))
        spans.append(span)
    resource = resource_pb2.Resource(attributes=[kv_pb(k, v) for k, v in RESOURCE.items()])
    scope = common_pb2.InstrumentationScope(name="fastapi")
    request = trace_service_pb2.ExportTraceServiceRequest(
        resource_spans=[
            trace_pb2.ResourceSpans(resource=resource, scope_spans=[trace_pb2.ScopeSpans(scope=scope, spans=spans)])
        ]
    )
    return request.SerializeToString()

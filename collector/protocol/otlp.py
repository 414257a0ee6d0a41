"""OTLP/HTTP, the OpenTelemetry exporters' protocol: requests in, answers out.

Pure. A request body is an `ExportTraceServiceRequest` or an
`ExportLogsServiceRequest`, as protobuf (`application/x-protobuf`) or as
OTLP/JSON (`application/json`). Both become one shape here, OTLP/JSON's:
lowerCamelCase keys, trace and span ids as hex, 64-bit integers as strings
or numbers, bytes as base64. Protobuf is decoded by the official
`opentelemetry-proto` messages and written out in that shape, its ids turned
from bytes (which protobuf's JSON writes as base64) into hex: OTLP/JSON is
the one JSON mapping where ids are hex, not base64.

The readers below (`value_of`, `attributes`, `hex_id`, `seconds`, `kind_name`,
`is_error`, `level`) take any JSON in any field and yield a plain value or
None, never raise.
"""

from __future__ import annotations

import base64
import binascii
import math

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from .jsonshape import as_dict, as_list, as_str
from .refusals import InvalidBody, Refusal

PROTOBUF_TYPES = ("application/x-protobuf", "application/protobuf")
JSON_TYPE = "application/json"

# Per signal: the request and response messages, the three levels of lists
# (resource, scope, item), and what a partial success counts.
SIGNALS = {
    "traces": {
        "request": trace_service_pb2.ExportTraceServiceRequest,
        "response": trace_service_pb2.ExportTraceServiceResponse,
        "partial": trace_service_pb2.ExportTracePartialSuccess,
        "lists": ("resourceSpans", "scopeSpans", "spans"),
        "rejected": "rejected_spans",
    },
    "logs": {
        "request": logs_service_pb2.ExportLogsServiceRequest,
        "response": logs_service_pb2.ExportLogsServiceResponse,
        "partial": logs_service_pb2.ExportLogsPartialSuccess,
        "lists": ("resourceLogs", "scopeLogs", "logRecords"),
        "rejected": "rejected_log_records",
    },
}
# Where ids sit in each item, and their size in bytes.
ID_FIELDS = {"traceId": 16, "spanId": 8, "parentSpanId": 8}

# SpanKind and Status.StatusCode, by number and by the name OTLP/JSON may use.
KINDS = {1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
KIND_NUMBERS = {f"SPAN_KIND_{name.upper()}": number for number, name in KINDS.items()}
STATUS_ERROR = 2
# Span.flags: whether the parent's context says it is remote, and if so, that it is.
FLAG_HAS_IS_REMOTE = 0x100
FLAG_IS_REMOTE = 0x200
# A value nested deeper than this (kvlists in kvlists) is cut: no exporter
# nests that far, and reading it would recurse without bound.
MAX_DEPTH = 16
# SeverityNumber ranges (1-4 TRACE … 21-24 FATAL) as the levels Sentry's logs use.
LEVELS = ((21, "fatal"), (17, "error"), (13, "warn"), (9, "info"), (5, "debug"), (1, "trace"))
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class UnsupportedMediaType(Refusal):
    """OTLP/HTTP comes as protobuf or JSON, nothing else."""

    status = 415


# --- requests -----------------------------------------------------------------


def is_protobuf(content_type: str) -> bool:
    """Whether a request's Content-Type (without parameters) is protobuf,
    JSON (False), or neither (refused with the reason)."""
    content_type = (content_type or "").lower()
    if content_type in PROTOBUF_TYPES:
        return True
    if content_type == JSON_TYPE:
        return False
    raise UnsupportedMediaType(
        f"OTLP/HTTP takes Content-Type application/x-protobuf or application/json, not {content_type or 'none'!r}"
    )


def decode(body: bytes, protobuf: bool, signal: str) -> dict:
    """An export request in OTLP/JSON's shape, or InvalidBody saying why not."""
    if protobuf:
        message = SIGNALS[signal]["request"]()
        try:
            message.ParseFromString(body)
        except DecodeError as e:
            raise InvalidBody(f"invalid OTLP protobuf ({signal}): {e}") from None
        return _hex_ids(_to_dict(message), signal)
    try:
        request = orjson.loads(body) if body.strip() else {}
    except orjson.JSONDecodeError as e:
        raise InvalidBody(f"invalid OTLP/JSON ({signal}): {e}") from None
    if not isinstance(request, dict):
        raise InvalidBody(f"invalid OTLP/JSON ({signal}): expected an object")
    return request


def _to_dict(message: Message) -> dict:
    # Enums as numbers, as OTLP/JSON writes them.
    return json_format.MessageToDict(message, use_integers_for_enums=True)


def _hex_ids(request: dict, signal: str) -> dict:
    """Protobuf's ids, base64 in protobuf's JSON, as OTLP/JSON's hex."""
    for item in items(request, signal):
        for key in ID_FIELDS:
            if key in item:
                item[key] = _base64_hex(item[key])
        for link in as_list(item.get("links")):
            for key in ("traceId", "spanId"):
                if key in link:
                    link[key] = _base64_hex(link[key])
    return request


def _base64_hex(value: str) -> str:
    return base64.b64decode(value).hex()


def groups(request: dict, signal: str):
    """(resource, scope, items) for each scope of each resource."""
    resource_key, scope_key, item_key = SIGNALS[signal]["lists"]
    for resource_group in as_list(request.get(resource_key)):
        resource_group = as_dict(resource_group)
        resource = as_dict(resource_group.get("resource"))
        for scope_group in as_list(resource_group.get(scope_key)):
            scope_group = as_dict(scope_group)
            scope = as_dict(scope_group.get("scope"))
            yield resource, scope, [i for i in as_list(scope_group.get(item_key)) if isinstance(i, dict)]


def items(request: dict, signal: str):
    for _, _, found in groups(request, signal):
        yield from found


# --- answers ------------------------------------------------------------------


def answer(signal: str, protobuf: bool, rejected: int, reason: str | None) -> tuple[bytes, str]:
    """The body and Content-Type of a 200 to an export: empty, or a partial
    success counting what was rejected and saying why."""
    spec = SIGNALS[signal]
    response = spec["response"]()
    if rejected:
        partial = spec["partial"](**{spec["rejected"]: rejected, "error_message": reason or ""})
        response.partial_success.CopyFrom(partial)
    if protobuf:
        return response.SerializeToString(), PROTOBUF_TYPES[0]
    return orjson.dumps(_to_dict(response)), JSON_TYPE


# --- values -------------------------------------------------------------------


def value_of(any_value, depth: int = 0):
    """An AnyValue as a plain value: text, bool, int, float, a list or an
    object; bytes stay base64 text. None for an empty or unknown value."""
    any_value = as_dict(any_value)
    if depth > MAX_DEPTH:
        return None
    if "stringValue" in any_value:
        return as_str(any_value["stringValue"])
    if "boolValue" in any_value:
        flag = any_value["boolValue"]
        return flag if isinstance(flag, bool) else None
    if "intValue" in any_value:
        return _int(any_value["intValue"])
    if "doubleValue" in any_value:
        return _double(any_value["doubleValue"])
    if "bytesValue" in any_value:
        return as_str(any_value["bytesValue"])
    if "arrayValue" in any_value:
        return [value_of(v, depth + 1) for v in as_list(as_dict(any_value["arrayValue"]).get("values"))]
    if "kvlistValue" in any_value:
        return attributes(as_dict(any_value["kvlistValue"]).get("values"), depth + 1)
    return None


def attributes(key_values, depth: int = 0) -> dict:
    """A list of KeyValue as an object; entries without a text key are skipped."""
    out = {}
    for kv in as_list(key_values):
        kv = as_dict(kv)
        key = kv.get("key")
        if isinstance(key, str):
            out[key] = value_of(kv.get("value"), depth)
    return out


def _int(value) -> int | None:
    # 64-bit integers are strings in OTLP/JSON (numbers from some exporters).
    if isinstance(value, str):
        try:
            value = int(value, 10)
        except ValueError:
            return None
    if value.__class__ is not int or not INT64_MIN <= value <= INT64_MAX:
        return None
    return value


def _double(value) -> float | None:
    if value.__class__ is int:
        value = float(value)
    # "NaN" and "Infinity" are how protobuf's JSON writes them; JSON has no such numbers.
    return value if value.__class__ is float and math.isfinite(value) else None


def id_bytes(value, size: int) -> bytes | None:
    """The bytes of a hex id of `size` bytes; None when it is missing, all
    zeros (W3C's invalid id), or not `size` bytes of hex."""
    if not isinstance(value, str) or len(value) != 2 * size:
        return None
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        return None
    return raw if any(raw) else None


def hex_id(value, size: int) -> str | None:
    """An id of `size` bytes as lower-case hex (see id_bytes)."""
    raw = id_bytes(value, size)
    return raw.hex() if raw is not None else None


def looks_base64(value, size: int) -> bool:
    """An id sent as base64, protobuf's JSON mapping, instead of OTLP/JSON's hex."""
    if not isinstance(value, str):
        return False
    try:
        return len(base64.b64decode(value, validate=True)) == size
    except (binascii.Error, ValueError):
        return False


def seconds(nanos) -> float | None:
    """Unix nanoseconds (a string or a number) as seconds."""
    nanos = _int(nanos) if not isinstance(nanos, float) else None
    return nanos / 1e9 if nanos is not None and nanos > 0 else None


def kind_name(kind) -> str | None:
    """internal, server, client, producer or consumer; None when unspecified."""
    if isinstance(kind, str):
        kind = KIND_NUMBERS.get(kind)
    return KINDS.get(kind) if kind.__class__ is int else None


def is_error(status) -> bool:
    code = as_dict(status).get("code")
    return code == STATUS_ERROR or code == "STATUS_CODE_ERROR"


def parent_is_remote(flags) -> bool | None:
    """What Span.flags say of the parent: remote, local, or nothing (older exporters)."""
    flags = _int(flags)
    if flags is None or not flags & FLAG_HAS_IS_REMOTE:
        return None
    return bool(flags & FLAG_IS_REMOTE)


def level(severity_number, severity_text) -> str | None:
    """A log's level from its SeverityNumber, else its SeverityText."""
    number = _int(severity_number)
    if number is not None and 1 <= number <= 24:
        return next(name for floor, name in LEVELS if number >= floor)
    text = as_str(severity_text)
    return text.lower() if text else None

"""What a backend request received: its `sentry-trace`, `baggage` and
`traceparent` headers, parsed. Pure.

Headers come from the stored transaction's `request.headers` (an object or a
list of pairs, names in any case) or, for v2 streamed spans, from attributes
named `http.request.header.<name>`. Any of them may hold any JSON type.
"""

from __future__ import annotations

from urllib.parse import unquote

from ..protocol.jsonshape import as_dict, as_str, pairs_dict
from ..protocol.urls import is_server_segment

HEADERS = ("sentry-trace", "baggage", "traceparent")
ATTRIBUTE_PREFIX = "http.request.header."
# The baggage keys a developer debugging propagation asks about.
BAGGAGE_KEYS = ("sample_rate", "sampled", "release", "environment", "transaction", "trace_id")


def _header_text(value) -> str | None:
    # OpenTelemetry-style attributes hold a header as a list of its values.
    if isinstance(value, list):
        value = ", ".join(v for v in map(as_str, value) if v)
    return as_str(value)


def propagation_headers(headers) -> dict:
    """{sentry-trace, baggage, traceparent} found in request headers (an
    object or [name, value] pairs, any case), text or absent."""
    found = {}
    for name, value in pairs_dict(headers).items():
        key = str(name).lower()
        if key in HEADERS and _header_text(value):
            found[key] = _header_text(value)
    return found


def _may_hold_headers(data) -> bool:
    """A quick filter: whether any attribute name holds the prefix, in one
    pass over the names in C rather than a Python loop per name (a trace's
    10,000 spans mostly have none)."""
    if not isinstance(data, dict) or not data:
        return False
    try:
        return ATTRIBUTE_PREFIX in "\n".join(data).lower()
    except TypeError:  # a name that is not text (JSON gives none): look at each
        return True


def headers_in_attributes(data) -> dict:
    """The same headers as v2 span attributes (`http.request.header.baggage`)."""
    found = {}
    if not _may_hold_headers(data):
        return found
    for name, value in as_dict(data).items():
        key = str(name).lower()
        if key.startswith(ATTRIBUTE_PREFIX) and key[len(ATTRIBUTE_PREFIX) :].replace("_", "-") in HEADERS:
            text = _header_text(value)
            if text:
                found[key[len(ATTRIBUTE_PREFIX) :].replace("_", "-")] = text
    return found


def parse_sentry_trace(value: str | None) -> dict:
    """`<trace id>-<span id>[-<sampled>]` as {trace_id, parent_span_id, sampled}."""
    parts = (value or "").strip().split("-")
    sampled = {"1": True, "0": False}.get(parts[2]) if len(parts) > 2 else None
    return {
        "trace_id": parts[0].lower() or None,
        "parent_span_id": parts[1].lower() if len(parts) > 1 and parts[1] else None,
        "sampled": sampled,
    }


def parse_traceparent(value: str | None) -> dict:
    """W3C `00-<trace id>-<parent id>-<flags>` as {trace_id, parent_span_id,
    sampled}, the ids an OpenTelemetry service continues; nothing when it
    does not read as one."""
    parts = (value or "").strip().lower().split("-")
    if len(parts) < 4 or len(parts[1]) != 32 or len(parts[2]) != 16 or len(parts[3]) != 2:
        return {"trace_id": None, "parent_span_id": None, "sampled": None}
    try:
        sampled = bool(int(parts[3], 16) & 1)
    except ValueError:
        sampled = None
    return {"trace_id": parts[1], "parent_span_id": parts[2], "sampled": sampled}


def parse_baggage(value: str | None) -> dict:
    """Sentry's `sentry-*` members of a W3C baggage header, by key without the prefix."""
    out = {}
    for member in (value or "").split(","):
        key, _, raw = member.partition("=")
        key = key.strip()
        if key.startswith("sentry-") and raw:
            # Properties after ';' are metadata, not part of the value.
            out[key[len("sentry-") :]] = unquote(raw.split(";")[0].strip())
    return out


def incoming(headers: dict, span_ids: set) -> dict | None:
    """What one request received, parsed, and the parent span it names:
    None when it received none of the three headers."""
    if not headers:
        return None
    # A request with only traceparent (an OpenTelemetry caller, or a Sentry
    # SDK's propagateTraceparent with sentry-trace stripped) names its parent there.
    head = parse_sentry_trace(headers.get("sentry-trace"))
    if head["trace_id"] is None:
        head = parse_traceparent(headers.get("traceparent"))
    baggage = parse_baggage(headers.get("baggage"))
    parent = head["parent_span_id"]
    return {
        "sentry_trace": headers.get("sentry-trace"),
        "baggage": headers.get("baggage"),
        "traceparent": headers.get("traceparent"),
        "has_traceparent": "traceparent" in headers,
        "trace_id": head["trace_id"],
        "parent_span_id": parent,
        "sampled": head["sampled"],
        **{key: baggage.get(key) for key in ("sample_rate", "release", "environment", "transaction")},
        "parent": {"span_id": parent, "in_trace": parent in span_ids} if parent else None,
    }


def mark_incoming(rows: list[dict], requests: dict) -> None:
    """Give each backend request row (`http.server` segment, or a v2 span
    whose attributes hold the headers) what it received. `requests`: the
    request headers of segments by span id, as doctor_queries reads them."""
    span_ids = {r["span_id"] for r in rows}
    for row in rows:
        headers = {}
        if is_server_segment(row):
            headers = propagation_headers(requests.get(row["span_id"]))
        headers = headers or headers_in_attributes(row.get("data"))
        row["incoming"] = incoming(headers, span_ids)

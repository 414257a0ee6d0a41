"""Propagation: a client request with no backend segment under it (and the
backend request that started a trace of its own instead, named in the same
finding), and segments whose parent never arrived."""

from __future__ import annotations

from ...protocol.jsonshape import as_dict, as_number, as_str
from ...protocol.urls import endpoint, is_client_request, origin, request_url
from ..propagation import HEADERS, headers_in_attributes
from .evidence import category, finding, sdk_of, start_of

# How far apart a client span and a backend segment may start and still be
# the same request (clocks of browser and server are the same machine's in
# local development, but not always exactly).
MATCH_SLACK = 1.0


def _method(span: dict) -> str | None:
    """The HTTP method of a request span, when it says."""
    data = as_dict(span.get("data"))
    method = as_str(data.get("http.request.method") or data.get("http.method"))
    if method is None:
        first = (as_str(span.get("description")) or "").partition(" ")[0]
        method = first if first.isalpha() and first.isupper() else None
    return method.upper() if method else None


def _twin(trace_id: str, client: dict, target: tuple, candidates: list[dict]) -> dict | None:
    """The backend request that answered `client` on a trace of its own:
    same endpoint and method (a CORS preflight, OPTIONS, is a request of its
    own to the same URL), started while the client's request was open."""
    start, end = start_of(client), as_number(client.get("timestamp")) or 0.0
    method = _method(client)
    twins = [
        c
        for c in candidates
        if c["trace_id"] != trace_id
        and endpoint(request_url(c)) == target
        and start - MATCH_SLACK <= start_of(c) <= end + MATCH_SLACK
        and (method is None or _method(c) in (None, method))
    ]
    return min(twins, key=lambda c: abs(start_of(c) - start), default=None)


def _is_opentelemetry(span: dict | None) -> bool:
    """A span an OpenTelemetry SDK exported over OTLP (no Sentry SDK): such
    a service reads only the W3C `traceparent` header, not `sentry-trace`."""
    return (sdk_of(span or {}) or "").startswith("opentelemetry")


def _why_not_continued_by_otel(client: dict, twin: dict, headers: dict, url: str) -> tuple[str, str]:
    """(cause, fix) when the backend is an OpenTelemetry service: it
    continues a trace from `traceparent`, which Sentry SDKs send only when
    asked (the browser's propagateTraceparent; sentry-sdk for Python has no
    such option, so the OTel side must read sentry-trace instead)."""
    service = f"{sdk_of(twin)} service"
    if "traceparent" in headers:
        return (
            f"the {service} received traceparent {headers['traceparent']!r} but started trace "
            f"{twin['trace_id']} anyway",
            "Make the OpenTelemetry service read W3C trace context: keep tracecontext in OTEL_PROPAGATORS "
            "(the default is tracecontext,baggage) and instrument its server framework.",
        )
    cause = (
        f"its request reached an {service} (trace {twin['trace_id']}), which continues only a W3C "
        "traceparent header, and the caller sent none"
    )
    if category(client) == "web" or (sdk_of(client) or "").startswith("sentry.javascript."):
        return (
            cause,
            f"Set propagateTraceparent: true in Sentry.init so the SDK sends traceparent beside sentry-trace "
            f"to the targets in tracePropagationTargets (e.g. ['{origin(url)}']), and let the backend's CORS "
            "allow the header traceparent (allow_headers).",
        )
    return (
        cause,
        f"{sdk_of(client) or 'This SDK'} sends only sentry-trace and baggage: let the OpenTelemetry service read "
        "them too, with sentry-sdk installed there and OTEL_PROPAGATORS=tracecontext,baggage,sentry (sentry-sdk's "
        "SentryPropagator), or send a traceparent header (00-<trace id>-<span id>-01) yourself.",
    )


def _why_unlinked(client: dict, twin: dict | None, headers: dict, url: str) -> tuple[str, str]:
    """(cause, fix) from what the backend's request carried."""
    if twin and _is_opentelemetry(twin) and "sentry-trace" not in headers:
        return _why_not_continued_by_otel(client, twin, headers, url)
    if twin and "sentry-trace" in headers:
        return (
            f"the backend received sentry-trace {headers['sentry-trace']!r} "
            f"but started trace {twin['trace_id']} anyway",
            "Make the backend continue incoming traces: use the SDK's framework integration (FastAPI/Starlette, "
            "Express) or call continue_trace()/continueTrace() with the incoming headers in custom middleware.",
        )
    if twin:
        return (
            f"its request reached the backend (trace {twin['trace_id']}) without a sentry-trace header",
            f"Add the backend's origin to tracePropagationTargets in Sentry.init (e.g. "
            f"tracePropagationTargets: ['{origin(url)}']), and let the backend's CORS allow the headers "
            "sentry-trace and baggage (allow_headers), or the browser strips them.",
        )
    return (
        "no backend transaction for this request was received at all",
        f"Add {origin(url)} to tracePropagationTargets and allow sentry-trace and baggage in the backend's "
        "CORS allow_headers; check that the backend samples (traces_sample_rate) and continues traces.",
    )


def propagation(trace_id: str, spans: list[dict], candidates: list[dict], requests: dict) -> list[dict]:
    """Client requests to a backend that reports here with no backend segment
    under them, and the backend request that started a trace instead."""
    findings = []
    children_of = {s["parent_span_id"] for s in spans if s.get("is_segment") and s.get("parent_span_id")}
    backend_endpoints = {(endpoint(request_url(c)) or (None,))[:2] for c in candidates}
    for client in (s for s in spans if is_client_request(s)):
        url = request_url(client)
        target = endpoint(url)
        if target is None or target[:2] not in backend_endpoints or client["span_id"] in children_of:
            continue
        twin = _twin(trace_id, client, target, candidates)
        headers = {str(k).lower(): v for k, v in as_dict(requests.get(twin["span_id"]) if twin else None).items()}
        # An OpenTelemetry service has no transaction holding its request's
        # headers; its span has them only if it captures them as attributes.
        headers = headers or (headers_in_attributes(twin.get("data")) if twin else {})
        cause, fix = _why_unlinked(client, twin, headers, url)
        # One request, one finding: the client span that did not link and
        # the backend segment that started a trace of its own instead are
        # its two ends, and the finding names both traces.
        started = bool(twin and not twin.get("parent_span_id"))
        head = (
            f" The backend segment {twin.get('description')!r} (span {twin['span_id']}) started trace "
            f"{twin['trace_id']} instead."
            if started
            else ""
        )
        findings.append(
            finding(
                "unlinked_outgoing_request",
                trace_id,
                client["span_id"],
                sdk_of(client),
                f"{client.get('description') or url}: no backend segment has this span as parent; {cause}.{head}",
                fix,
                url=url,
                backend_trace_id=twin["trace_id"] if twin else None,
                backend_span_id=twin["span_id"] if twin else None,
                backend_started_trace=started,
                backend_request_headers={k: v for k, v in headers.items() if k in HEADERS},
                backend_sdk=sdk_of(twin) if twin else None,
            )
        )
    return findings


def orphans(trace_id: str, spans: list[dict]) -> list[dict]:
    ids = {s["span_id"] for s in spans}
    findings = []
    for seg in spans:
        parent = seg.get("parent_span_id")
        if seg.get("is_segment") and parent and parent not in ids:
            findings.append(
                finding(
                    "orphan_segment",
                    trace_id,
                    seg["span_id"],
                    sdk_of(seg),
                    f"segment {seg.get('description')!r} ({sdk_of(seg) or 'unknown sdk'}) names parent span {parent}, "
                    "which was never received.",
                    "The caller is not sampled, not instrumented with a Sentry SDK reporting here, or its envelope was "
                    "dropped (see its client reports, and that its DSN points at this collector).",
                    parent_span_id=parent,
                )
            )
    return findings

"""The doctor and `traceparent`: a request to an OpenTelemetry service that
started a trace of its own is explained by the header that service reads,
with the option the caller's SDK has (or has not) to send it."""

from __future__ import annotations

from collector.read.doctor.links import propagation
from collector.read.propagation import incoming, parse_traceparent

T0 = 1_760_000_000.0
FRONT, BACK = "a" * 32, "b" * 32


def client_span(sdk: str) -> dict:
    return {
        "trace_id": FRONT,
        "span_id": "1" * 16,
        "parent_span_id": "2" * 16,
        "is_segment": False,
        "op": "http.client",
        "description": "GET http://localhost:8000/checkout",
        "start_timestamp": T0,
        "timestamp": T0 + 0.5,
        "sdk": {"name": sdk},
        "platform": "javascript" if "javascript" in sdk else "python",
        "data": {"url": "http://localhost:8000/checkout"},
    }


def otel_segment(**data) -> dict:
    return {
        "trace_id": BACK,
        "span_id": "3" * 16,
        "parent_span_id": None,
        "is_segment": True,
        "op": "http.server",
        "description": "GET /checkout",
        "start_timestamp": T0 + 0.1,
        "timestamp": T0 + 0.4,
        "sdk": {"name": "opentelemetry.python"},
        "platform": "python",
        "data": {"http.url": "http://127.0.0.1:8000/checkout", **data},
    }


def findings_for(sdk: str, **data) -> list[dict]:
    return propagation(FRONT, [client_span(sdk)], [otel_segment(**data)], {})


def test_a_browser_calling_an_otel_service_is_told_to_set_propagate_traceparent():
    [found] = findings_for("sentry.javascript.browser")
    assert found["kind"] == "unlinked_outgoing_request"
    assert "propagateTraceparent: true" in found["fix"] and "http://localhost:8000" in found["fix"]
    assert "traceparent" in found["detail"] and BACK in found["detail"]
    assert found["evidence"]["backend_sdk"] == "opentelemetry.python"
    assert found["evidence"]["backend_started_trace"] is True


def test_a_python_caller_is_told_how_the_otel_side_can_read_sentry_trace():
    [found] = findings_for("sentry.python")
    assert "propagateTraceparent" not in found["fix"]
    assert "OTEL_PROPAGATORS=tracecontext,baggage,sentry" in found["fix"]


def test_a_traceparent_that_arrived_but_was_not_continued_points_at_the_otel_service():
    header = f"00-{FRONT}-{'1' * 16}-01"
    [found] = findings_for("sentry.javascript.browser", **{"http.request.header.traceparent": [header]})
    assert "received traceparent" in found["detail"]
    assert "OTEL_PROPAGATORS" in found["fix"] and "propagateTraceparent" not in found["fix"]
    assert found["evidence"]["backend_request_headers"] == {"traceparent": header}


def test_a_sentry_backend_still_gets_the_sentry_trace_advice():
    segment = {**otel_segment(), "sdk": {"name": "sentry.python"}}
    [found] = propagation(FRONT, [client_span("sentry.javascript.browser")], [segment], {})
    assert "tracePropagationTargets" in found["fix"] and "propagateTraceparent" not in found["fix"]


def test_traceparent_parses_and_names_the_parent_when_sentry_trace_is_absent():
    assert parse_traceparent(f"00-{FRONT.upper()}-{'1' * 16}-01") == {
        "trace_id": FRONT,
        "parent_span_id": "1" * 16,
        "sampled": True,
    }
    assert parse_traceparent(f"00-{FRONT}-{'1' * 16}-00")["sampled"] is False
    for bad in (None, "", "00-abc-def-01", f"{FRONT}-{'1' * 16}-1"):
        assert parse_traceparent(bad)["trace_id"] is None
    assert parse_traceparent(f"00-{FRONT}-{'1' * 16}-zz")["sampled"] is None
    seen = incoming({"traceparent": f"00-{FRONT}-{'1' * 16}-01"}, {"1" * 16})
    assert (seen["trace_id"], seen["parent"]) == (FRONT, {"span_id": "1" * 16, "in_trace": True})

"""OpenTelemetry in, end to end: a FastAPI service instrumented with the real
OpenTelemetry SDK exports over OTLP/HTTP protobuf to the collector, called by
a service with the real sentry-sdk and by the real @sentry/browser in
Chromium. Linked, its server span sits under the caller's http.client span
in one trace; not linked, the doctor says which option to set."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest

from browser_scenario import build_bundle, open_test_page, serve_static, start_app, stop_app

APPS = Path(__file__).parent.parent / "apps"


@pytest.fixture
def otel_service(collector, request):
    """The OpenTelemetry service; `OTEL_PROPAGATORS` from the test's param."""
    propagators = getattr(request, "param", None)
    env = {"OTEL_PROPAGATORS": propagators} if propagators else {}
    env["OTEL_TRACES_EXPORTER"] = "none"  # the app wires its exporter itself
    proc, url = start_app(APPS / "otel_service.py", collector.url, "*", env=env)
    yield url
    stop_app(proc)


def wait_trace(collector, trace_id: str, predicate, timeout: float = 20.0) -> dict:
    """The trace once stored and `predicate` holds (a 404 until then)."""
    deadline = time.monotonic() + timeout
    while True:
        status, _, body = collector.request(f"/api/traces/{trace_id}")
        trace = json.loads(body) if status == 200 else None
        if trace is not None and predicate(trace):
            return trace
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting on trace {trace_id}; last: {body[:2000]!r}")
        time.sleep(0.1)


def otel_server_spans(trace: dict) -> list[dict]:
    return [s for s in trace["spans"] if (s["sdk"] or {}).get("name") == "opentelemetry.python" and s["is_segment"]]


@pytest.mark.parametrize("otel_service", ["tracecontext,baggage,sentry"], indirect=True)
def test_a_sentry_sdk_caller_and_the_otel_service_share_one_waterfall(collector, otel_service):
    caller, caller_url = start_app(APPS / "otel_caller.py", collector.dsn, f"{otel_service}/api/stock")
    try:
        with urllib.request.urlopen(f"{caller_url}/checkout", timeout=20) as r:
            trace_id = json.loads(r.read())["trace_id"]
        trace = wait_trace(
            collector,
            trace_id,
            lambda t: otel_server_spans(t) and any(s["op"] == "http.client" for s in t["spans"]),
        )
    finally:
        stop_app(caller)
    [server] = otel_server_spans(trace)
    client = next(s for s in trace["spans"] if s["op"] == "http.client")
    assert client["sdk"]["name"].startswith("sentry.python")
    assert server["parent_span_id"] == client["span_id"]
    assert (server["op"], server["description"], server["status"]) == ("http.server", "GET /api/stock", "ok")
    assert server["data"]["resource.service.name"] == "inventory" and server["environment"] == "test"
    # Its own child span came along, with its array attribute kept.
    child = wait_trace(collector, trace_id, lambda t: any(s["description"] == "count stock" for s in t["spans"]))
    counted = next(s for s in child["spans"] if s["description"] == "count stock")
    assert counted["data"]["stock.items"] == ["apple", "pear"]


def run_page(collector, page, tmp_path, backend: str, traceparent: bool) -> str:
    site = tmp_path / "site"
    site.mkdir()
    build_bundle(site, "otel_page.js")
    static, origin = serve_static(site)
    try:
        config = {"dsn": collector.dsn, "backend": backend, "traceparent": traceparent}
        open_test_page(page, site, origin, config, title="stock")
        page.wait_for_function("window.__done === true", timeout=30_000)
        assert page.evaluate("window.__flushed"), "the browser SDK did not flush within 5s"
        return page.evaluate("window.__traceId")
    finally:
        static.shutdown()
        static.server_close()


def test_the_browser_with_propagate_traceparent_links_the_otel_service(collector, page, tmp_path, otel_service):
    trace_id = run_page(collector, page, tmp_path, otel_service, traceparent=True)
    trace = wait_trace(collector, trace_id, otel_server_spans)
    [server] = otel_server_spans(trace)
    client = next(s for s in trace["spans"] if s["span_id"] == server["parent_span_id"])
    assert client["op"] == "http.client" and client["sdk"]["name"] == "sentry.javascript.browser"
    doctor = collector.get(f"/api/doctor?trace_id={trace_id}")["findings"]
    assert "unlinked_outgoing_request" not in {f["kind"] for f in doctor}


def test_without_propagate_traceparent_the_doctor_says_what_to_set(collector, page, tmp_path, otel_service):
    trace_id = run_page(collector, page, tmp_path, otel_service, traceparent=False)
    # The OTel service started a trace of its own for the same request.
    # (The CORS preflight, OPTIONS, is a trace of its own too.)
    listing = collector.wait_for(
        lambda r: any(t["root"] == "GET /api/stock" for t in r["traces"]), "/api/traces", timeout=20
    )
    backend_trace = next(t["trace_id"] for t in listing["traces"] if t["root"] == "GET /api/stock")
    assert backend_trace != trace_id
    doctor = collector.get(f"/api/doctor?trace_id={trace_id}")["findings"]
    [unlinked] = [f for f in doctor if f["kind"] == "unlinked_outgoing_request"]
    assert "propagateTraceparent: true" in unlinked["fix"]
    assert unlinked["evidence"]["backend_trace_id"] == backend_trace
    assert unlinked["evidence"]["backend_sdk"] == "opentelemetry.python"

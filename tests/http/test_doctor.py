"""The doctor's rules on hand-made traces (pure), and its CLI exit status."""

import json
import subprocess
import sys

from collector.read.doctor import diagnose, parse_since
from helpers import post_envelope

T = 1_800_000_000.0
WEB = {"name": "sentry.javascript.browser", "version": "11.12.0"}
PY = {"name": "sentry.python.fastapi", "version": "2.75.0"}
ADA = {"id": "42", "email": "ada@example.com"}


def span(
    trace, span_id, parent, op, desc, start, end, sdk, segment=False, user=None, data=None, dsc=None, event_id=None
):
    return {
        "trace_id": trace,
        "span_id": span_id,
        "parent_span_id": parent,
        "op": op,
        "description": desc,
        "start_timestamp": T + start,
        "timestamp": T + end,
        "sdk": sdk,
        "platform": None,
        "is_segment": segment,
        "user": user,
        "data": data or {},
        "dsc": dsc,
        "environment": "test",
        "event_id": event_id,
        "tags": None,
    }


def browser_half(trace="a" * 32, user=ADA, rate="1"):
    dsc = {"trace_id": trace, "sample_rate": rate, "sampled": "true"}
    return [
        span(trace, "b000000000000001", None, "pageload", "/shop", 0, 2, WEB, True, user, dsc=dsc),
        span(
            trace,
            "b000000000000002",
            "b000000000000001",
            "http.client",
            "GET http://127.0.0.1:8000/api/orders",
            0.1,
            0.4,
            WEB,
            data={"url.full": "http://127.0.0.1:8000/api/orders?page=1"},
        ),
    ]


def backend(trace, span_id, parent, user=ADA, start=0.15, dsc=None, path="/api/orders"):
    return span(
        trace,
        span_id,
        parent,
        "http.server",
        path,
        start,
        0.35,
        PY,
        True,
        user,
        data={"http.request.url": f"http://localhost:8000{path}"},
        dsc=dsc or {"trace_id": trace, "sample_rate": "1", "sampled": "true"},
        event_id="e" + span_id[1:] + "0" * 16,
    )


def report(traces, requests=None, since=None, last_seen=(), reports=(), errors=None, focus=None):
    data = {
        "since": since,
        "focus": focus,
        "traces": {t: {"spans": spans, "errors": (errors or {}).get(t, [])} for t, spans in traces.items()},
        "candidates": [s for spans in traces.values() for s in spans if s["is_segment"] and s["op"] == "http.server"],
        "requests": requests or {},
        "sdk_last_seen": list(last_seen),
        "client_reports": list(reports),
    }
    return diagnose(data)


def kinds(result):
    return sorted(f["kind"] for f in result["findings"])


def test_correctly_wired_trace_has_no_findings():
    trace = "a" * 32
    result = report({trace: [*browser_half(), backend(trace, "c000000000000001", "b000000000000002")]})
    assert result["findings"] == []
    assert result["summary"]["sampling"][0]["sample_rates"] == ["1"]


def test_unlinked_request_without_header_points_at_trace_propagation_targets():
    front, back = "a" * 32, "f" * 32
    result = report(
        {front: browser_half(), back: [backend(back, "c000000000000001", None)]},
        requests={"c000000000000001": {"host": "localhost:8000"}},
    )
    # One request, one finding: the backend trace it started is named in it.
    assert kinds(result) == ["unlinked_outgoing_request"]
    unlinked = next(f for f in result["findings"] if f["kind"] == "unlinked_outgoing_request")
    assert unlinked["span_id"] == "b000000000000002" and unlinked["evidence"]["url"].startswith(
        "http://127.0.0.1:8000/api/orders"
    )
    assert unlinked["evidence"]["backend_trace_id"] == back
    assert (
        "tracePropagationTargets: ['http://127.0.0.1:8000']" in unlinked["fix"] and "allow_headers" in unlinked["fix"]
    )
    assert unlinked["evidence"]["backend_started_trace"] is True and f"started trace {back}" in unlinked["detail"]
    for trace_id in (front, back):
        focused = report({front: browser_half(), back: [backend(back, "c000000000000001", None)]}, focus=trace_id)
        assert focused["findings"] == result["findings"]


def test_unlinked_request_whose_header_arrived_blames_the_backend():
    front, back = "a" * 32, "f" * 32
    result = report(
        {front: browser_half(), back: [backend(back, "c000000000000001", None)]},
        requests={"c000000000000001": {"sentry-trace": f"{front}-b000000000000002-1"}},
    )
    unlinked = next(f for f in result["findings"] if f["kind"] == "unlinked_outgoing_request")
    assert "does not continue" in unlinked["fix"] or "continue incoming traces" in unlinked["fix"]
    assert unlinked["evidence"]["backend_request_headers"]["sentry-trace"].startswith(front)


def test_requests_to_services_that_do_not_report_here_are_not_findings():
    trace = "a" * 32
    spans = browser_half()
    spans[1]["data"] = {"url.full": "https://api.stripe.com/v1/charges"}
    assert report({trace: spans})["findings"] == []


def test_orphan_segment():
    trace = "d" * 32
    result = report({trace: [backend(trace, "c000000000000001", "9999999999999999")]})
    assert kinds(result) == ["orphan_segment"]
    assert result["findings"][0]["evidence"]["parent_span_id"] == "9999999999999999"


def test_user_mismatch_and_anonymous_events():
    trace, other = "a" * 32, "b" * 32
    anon = {"id": "anon-7"}
    result = report(
        {
            trace: [*browser_half(), backend(trace, "c000000000000001", "b000000000000002", user=anon)],
            other: [backend(other, "c000000000000002", None, user=ADA, path="/api/me")],
        }
    )
    assert kinds(result) == ["anonymous_events", "user_mismatch"]
    mismatch = next(f for f in result["findings"] if f["kind"] == "user_mismatch")
    assert mismatch["evidence"]["frontend_user"] == ADA and mismatch["evidence"]["backend_user"] == anon
    anonymous = next(f for f in result["findings"] if f["kind"] == "anonymous_events")
    assert anonymous["evidence"]["route"] == "/api/orders" and anonymous["evidence"]["count"] == 1


def test_anonymous_only_when_the_sdk_names_users_elsewhere():
    trace = "a" * 32
    assert report({trace: [backend(trace, "c000000000000001", None, user=None)]})["findings"] == []


def test_sampling_findings():
    trace = "a" * 32
    ignored = backend(
        trace, "c000000000000001", "b000000000000002", dsc={"trace_id": trace, "sample_rate": "0.1", "sampled": "false"}
    )
    result = report({trace: [*browser_half(), ignored]})
    assert kinds(result) == ["sampling", "sampling"]
    details = " ".join(f["detail"] for f in result["findings"])
    assert "sampled=false" in details and "different sample rates" in details
    # A backend error on a sampled trace, with no backend transaction.
    error = {"event_id": "1" * 32, "span_id": "c000000000000009", "sdk": PY, "user": ADA, "transaction": "/api/orders"}
    result = report({trace: browser_half()}, errors={trace: [error]})
    assert kinds(result) == ["sampling"] and "did not sample" in result["findings"][0]["detail"]


def test_sdk_silent_and_dropped_data():
    result = report(
        {},
        since=T,
        last_seen=[{"sdk_name": "sentry.javascript.react-native", "last_seen": T - 3600, "envelopes": 12}],
        reports=[
            {"sdk_name": "sentry.javascript.browser", "reason": "network_error", "category": "span", "quantity": 7},
            {
                "sdk_name": "sentry.javascript.browser",
                "reason": "sample_rate",
                "category": "transaction",
                "quantity": 3,
            },
        ],
    )
    assert kinds(result) == ["sdk_silent", "sdk_silent"]
    dropped = next(f for f in result["findings"] if f["evidence"].get("dropped"))
    assert dropped["evidence"]["dropped"] == {"network_error/span": 7}


def test_parse_since():
    assert (
        parse_since("1h", 10_000) == 6_400
        and parse_since("30m", 10_000) == 8_200
        and parse_since("2d", 200_000) == 27_200
    )
    assert parse_since("1700000000", 0) == 1_700_000_000 and parse_since(None, 5) is None


def test_cli_exit_status_and_json(collector):
    trace = "5" * 32
    post_envelope(
        collector,
        {"event_id": "6" * 32},
        (
            {"type": "transaction"},
            {
                "type": "transaction",
                "transaction": "/orphaned",
                "start_timestamp": T,
                "timestamp": T + 1,
                "sdk": PY,
                "contexts": {
                    "trace": {"trace_id": trace, "span_id": "7" * 16, "parent_span_id": "8" * 16, "op": "http.server"}
                },
            },
        ),
    )

    def run(*a):
        return subprocess.run(
            [sys.executable, "-m", "collector", "doctor", "--db", str(collector.db), *a],
            capture_output=True,
            text=True,
            timeout=60,
        )

    out = run("--trace", trace)
    assert out.returncode == 1 and "orphan_segment" in out.stdout and "fix:" in out.stdout
    out = run("--since", "1h", "--json")
    assert out.returncode == 1
    assert [f["kind"] for f in json.loads(out.stdout)["findings"]] == ["orphan_segment"]
    api = collector.get(f"/api/doctor?trace_id={trace}")
    assert [f["kind"] for f in api["findings"]] == ["orphan_segment"]
    status, _, body = collector.request("/api/doctor?since=yesterday")
    assert status == 400 and b"since must look like" in body

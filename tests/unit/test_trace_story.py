"""The trace page's story, pure: the user change text, the propagation
headers a backend received in every shape, errors and logs without a span,
and an axis an outlier does not stretch."""

import pytest

from collector.read import trace_story
from collector.read.propagation import (
    headers_in_attributes,
    incoming,
    parse_baggage,
    parse_sentry_trace,
    propagation_headers,
)
from collector.read.traces import waterfall

T = 1_800_000_000.0
WEB = {"name": "sentry.javascript.browser", "version": "11.0.0"}
PY = {"name": "sentry.python.fastapi", "version": "2.0.0"}
TRACE = "a" * 32
SENTRY_TRACE = f"{TRACE}-b000000000000002-1"
BAGGAGE = (
    "other=1, sentry-trace_id=" + TRACE + ",sentry-sample_rate=0.5, sentry-release=shop%401.2,"
    "sentry-environment=dev,sentry-transaction=GET%20%2Fapi;prop=x"
)


def span(span_id, parent, op, start, end, sdk=WEB, user=None, segment=False, tags=None, data=None, desc=None):
    return {
        "trace_id": TRACE,
        "span_id": span_id,
        "parent_span_id": parent,
        "segment_id": None,
        "is_segment": segment,
        "op": op,
        "description": desc or op,
        "start_timestamp": T + start,
        "timestamp": T + end,
        "status": None,
        "sdk": sdk,
        "platform": None,
        "environment": "dev",
        "release": None,
        "user": user,
        "tags": tags,
        "data": data,
        "origin": None,
        "event_id": None,
        "dsc": None,
    }


def item(at, span_id=None, sdk=PY, **extra):
    return {"span_id": span_id, "timestamp": None if at is None else T + at, "sdk": sdk, **extra}


def trace(spans, errors=(), logs=()):
    return {
        "trace_id": TRACE,
        "spans": spans,
        "errors": list(errors),
        "logs": list(logs),
        "span_count": len(spans),
        "error_count": len(errors),
        "log_count": len(logs),
        "users": [],
    }


def rows_by_id(view):
    return {r["span_id"]: r for r in view["rows"]}


# --- the user -------------------------------------------------------------------


def test_the_first_row_with_a_new_user_says_who_it_was_before_and_after():
    spans = [
        # The pageload ends last, once the user is known.
        span("1", None, "pageload", 0, 2, user={"id": "42"}, segment=True),
        span("2", "1", "http.client", 0.1, 0.342, user={"ip": "10.0.0.1"}),
        # Sent before login, answered after: a streamed span takes the user it ends with.
        span("5", "1", "http.client", 0.2, 0.45, user={"id": "42"}, data={"authenticated": True}),
        span("3", "1", "http.client", 0.35, 0.5, user={"id": "42"}, data={"authenticated": True}),
        span("4", "1", "http.client", 0.6, 0.7, user={"id": "42"}, data={"authenticated": True}),
    ]
    rows = rows_by_id(waterfall(trace(spans)))
    assert rows["5"]["user_change"] == "anonymous until +342 ms, then id 42, authenticated=true"
    assert [rows[i]["user_change"] for i in ("1", "2", "3", "4")] == [None, None, None, None]


def test_user_changes_are_counted_per_service_category():
    spans = [
        span("1", None, "pageload", 0, 2, user={"id": "42"}, segment=True),
        # The backend names nobody: that is a disagreement, not a change on the web's timeline.
        span("2", "1", "http.server", 0.5, 0.6, sdk=PY, segment=True),
        span("3", "1", "ui.click", 1.0, 1.1, user={"id": "42"}),
    ]
    view = waterfall(trace(spans))
    assert all(r["user_change"] is None for r in view["rows"])


def test_the_user_table_marks_services_that_name_different_users():
    spans = [
        span("1", None, "pageload", 0, 2, user={"id": "42"}, segment=True),
        span("2", "1", "http.server", 0.5, 0.6, sdk=PY, user={"id": "7"}, segment=True),
    ]
    users = {u["span_id"]: u for u in waterfall(trace(spans))["segment_users"]}
    assert users["1"]["disagrees"] and users["2"]["disagrees"]
    spans[1]["user"] = {"id": "42"}
    assert not any(u["disagrees"] for u in waterfall(trace(spans))["segment_users"])


@pytest.mark.parametrize(("seconds", "text"), [(0.342, "+342 ms"), (1.54, "+1.5 s"), (125, "+2 min 5 s")])
def test_offsets_read_in_human_units(seconds, text):
    assert trace_story.offset_text(seconds) == text


# --- what a hop carried -------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Sentry-Trace": SENTRY_TRACE, "BAGGAGE": BAGGAGE, "traceparent": "00-x-y-01"},
        [["sentry-trace", SENTRY_TRACE], ["Baggage", BAGGAGE], ["TraceParent", "00-x-y-01"], ["bad"], 5],
    ],
)
def test_request_headers_as_an_object_or_pairs_in_any_case(headers):
    found = propagation_headers(headers)
    assert found == {"sentry-trace": SENTRY_TRACE, "baggage": BAGGAGE, "traceparent": "00-x-y-01"}


@pytest.mark.parametrize("headers", [None, "text", 7, [], {"sentry-trace": {"nested": 1}}, {"host": "x"}])
def test_headers_of_any_other_shape_are_none_received(headers):
    assert propagation_headers(headers) == {}


def test_v2_span_attributes_carry_the_headers():
    data = {"http.request.header.sentry-trace": [SENTRY_TRACE], "http.request.header.baggage": BAGGAGE, "x": 1}
    assert headers_in_attributes(data) == {"sentry-trace": SENTRY_TRACE, "baggage": BAGGAGE}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (SENTRY_TRACE, (TRACE, "b000000000000002", True)),
        (f"{TRACE.upper()}-B000000000000002-0", (TRACE, "b000000000000002", False)),
        (f"{TRACE}-b000000000000002", (TRACE, "b000000000000002", None)),
        ("", (None, None, None)),
        (None, (None, None, None)),
    ],
)
def test_sentry_trace_parsed(value, expected):
    parsed = parse_sentry_trace(value)
    assert (parsed["trace_id"], parsed["parent_span_id"], parsed["sampled"]) == expected


def test_baggage_keeps_sentry_members_decoded_without_properties():
    parsed = parse_baggage(BAGGAGE)
    assert parsed["sample_rate"] == "0.5" and parsed["release"] == "shop@1.2"
    assert parsed["transaction"] == "GET /api" and "other" not in parsed


def test_incoming_names_the_parent_and_whether_it_is_on_the_trace():
    received = incoming({"sentry-trace": SENTRY_TRACE, "baggage": BAGGAGE}, {"b000000000000002"})
    assert received["parent"] == {"span_id": "b000000000000002", "in_trace": True}
    assert received["has_traceparent"] is False and received["environment"] == "dev"
    assert incoming({}, set()) is None


def test_a_backend_segment_row_gets_what_its_request_received():
    spans = [
        span("b000000000000001", None, "pageload", 0, 2, segment=True),
        span("b000000000000002", "b000000000000001", "http.client", 0.1, 0.4),
        span("c000000000000001", "b000000000000002", "http.server", 0.2, 0.3, sdk=PY, segment=True),
    ]
    requests = {"c000000000000001": [["Sentry-Trace", SENTRY_TRACE], ["baggage", BAGGAGE]]}
    rows = rows_by_id(waterfall(trace(spans), requests))
    assert rows["c000000000000001"]["incoming"]["sample_rate"] == "0.5"
    assert rows["c000000000000001"]["incoming"]["parent"]["in_trace"] is True
    assert rows["b000000000000002"]["incoming"] is None


def test_unlinked_request_rows_link_both_ways():
    other = "f" * 32
    finding = {
        "kind": "unlinked_outgoing_request",
        "trace_id": TRACE,
        "span_id": "2",
        "evidence": {"backend_trace_id": other, "backend_span_id": "9"},
    }
    client = rows_by_id(waterfall(trace([span("2", None, "http.client", 0, 1)]), findings=[finding]))
    assert client["2"]["started_trace"] == {"trace_id": other, "span_id": "9"}
    backend = {**trace([span("9", None, "http.server", 0, 1, sdk=PY, segment=True)]), "trace_id": other}
    view = waterfall(backend, findings=[finding])
    assert view["rows"][0]["called_by"] == {"trace_id": TRACE, "span_id": "2"}


# --- errors and logs -----------------------------------------------------------------


def test_items_without_a_stored_span_go_to_their_segment_or_a_service_row():
    spans = [span("1", None, "http.server", 0, 1, sdk=PY, segment=True)]
    errors = [item(0.5, span_id="gone", event_id="e1"), item(5, sdk=WEB, event_id="e2")]
    logs = [item(0.5, body="in the request"), item(0.5, span_id="1", body="on its span")]
    view = waterfall(trace(spans, errors, logs))
    rows = rows_by_id(view)
    assert [log["body"] for log in rows["1"]["logs"]] == ["in the request", "on its span"]
    synthetic = [r for r in view["rows"] if r["synthetic"]]
    assert [len(r["errors"]) for r in synthetic] == [1, 1]
    assert "sentry.python.fastapi — no span stored" in synthetic[0]["description"]


def test_a_trace_of_logs_only_is_drawn_on_its_service_row():
    view = waterfall(trace([], logs=[item(0, body="a"), item(0.2, body="b")]))
    (row,) = view["rows"]
    assert row["synthetic"] and [log["at"] for log in row["logs"]] == [T, T + 0.2]
    assert view["duration"] == pytest.approx(0.2)


def test_an_outlier_is_clamped_to_the_edge_and_keeps_its_time():
    spans = [span("1", None, "http.server", 0, 1, sdk=PY, segment=True)]
    errors = [item(7200, span_id="1", event_id="late"), item(1.5, span_id="1", event_id="near")]
    view = waterfall(trace(spans, errors))
    assert view["end"] == T + 1.5
    late, near = sorted(rows_by_id(view)["1"]["errors"], key=lambda e: e["event_id"])
    assert late["outlier"] and late["at"] == T + 1.5 and late["timestamp"] == T + 7200
    assert not near["outlier"] and near["at"] == T + 1.5


def test_without_spans_an_item_an_hour_off_does_not_stretch_the_axis():
    logs = [item(0), item(1), item(2), item(-86400)]
    assert trace_story.axis([], logs) == (T, T + 2)


def test_on_a_page_of_a_huge_trace_a_missing_span_may_be_on_another_page():
    spans = [span("1", None, "http.server", 0, 1, sdk=PY, segment=True)]
    paged = {**trace(spans, [item(0.5, span_id="later", event_id="e1")]), "span_count": 20_000}
    (synthetic,) = [r for r in waterfall(paged)["rows"] if r["synthetic"]]
    assert synthetic["description"].endswith("span on another page of this trace")

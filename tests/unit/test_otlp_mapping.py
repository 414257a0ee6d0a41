"""OTLP export requests to span and log rows: protobuf and OTLP/JSON of the
same spans give the same rows; the mapping's choices (roots, segments,
status, op, service, attributes); hostile values never raise and always fit
their columns; the answers exporters parse."""

from __future__ import annotations

import copy
import gzip
import json

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from test_normalize import assert_fits, store

from collector.ingest.normalize import FUTURE_SLACK
from collector.ingest.otlp import build
from collector.protocol import otlp
from collector.protocol.refusals import InvalidBody
from collector.storage import summaries
from collector.storage.client import Batch
from otlp_requests import (
    CALLER,
    NANOS,
    NOW,
    RESOURCE,
    ROOT,
    TRACE,
    json_request,
    kv_json,
    kv_pb,
    protobuf_request,
)


def rows_of(body: bytes, protobuf: bool, signal: str = "traces"):
    batch, answer = build(body, protobuf, signal, "7", "otlp", "", now=NOW)
    return batch, answer


def test_protobuf_and_json_of_the_same_spans_give_the_same_rows():
    from_pb, _ = rows_of(protobuf_request(), True)
    from_json, _ = rows_of(orjson.dumps(json_request()), False)
    assert from_pb.rows["spans"] == from_json.rows["spans"]
    assert len(from_pb.rows["spans"]) == 3


def test_spans_map_as_relay_maps_them():
    batch, answer = rows_of(protobuf_request(), True)
    root, client, internal = batch.rows["spans"]
    assert (root["trace_id"], root["span_id"], root["parent_span_id"]) == (TRACE, ROOT, CALLER)
    # The server span whose parent is remote is its service's segment; its
    # children (local parents) belong to it.
    assert root["is_segment"] == 1 and root["segment_id"] == ROOT
    assert (client["is_segment"], client["segment_id"]) == (0, ROOT)
    assert (internal["is_segment"], internal["segment_id"]) == (0, ROOT)
    assert (root["op"], client["op"], internal["op"]) == ("http.server", "http.client", None)
    assert (root["description"], client["description"]) == ("GET /checkout", "GET")
    assert (root["status"], internal["status"]) == ("ok", "internal_error")
    assert (root["sdk_name"], root["sdk_version"], root["platform"]) == ("opentelemetry.python", "1.45.2", "python")
    assert (root["environment"], root["release"], root["origin"]) == ("staging", "1.2.3", "otlp")
    assert root["start_timestamp"] == pytest.approx(NANOS / 1e9)
    assert root["timestamp"] == pytest.approx(NANOS / 1e9 + 0.5)
    data = orjson.loads(client["data"])
    assert data["tags"] == ["a", "b"] and data["url.full"] == "http://pay:9000/charge"
    assert data["resource.service.name"] == "checkout" and data["otel.kind"] == "client"
    failed = orjson.loads(internal["data"])
    assert failed["otel.status_message"] == "card declined"
    assert (failed["retries"], failed["ratio"], failed["cached"]) == (2, 0.5, False)
    assert failed["otel.events"][0]["attributes"] == {"exception.type": "E"}
    assert answer == (b"", "application/x-protobuf")
    assert batch.envelope["item_types"] == "otlp_traces" and batch.envelope["sdk_name"] == "opentelemetry.python"


def test_an_empty_parent_is_a_root_and_silent_flags_make_server_spans_segments():
    request = json_request()
    spans = request["resourceSpans"][0]["scopeSpans"][0]["spans"]
    del spans[0]["parentSpanId"], spans[0]["flags"], spans[1]["flags"]
    spans[2]["parentSpanId"] = "0000000000000000"
    spans[2].pop("flags")
    rows = rows_of(orjson.dumps(request), False)[0].rows["spans"]
    assert rows[0]["parent_span_id"] is None and rows[0]["is_segment"] == 1
    # A CLIENT span with a parent and no flags is not a segment.
    assert rows[1]["is_segment"] == 0 and rows[1]["segment_id"] == ROOT
    assert rows[2]["parent_span_id"] is None and rows[2]["is_segment"] == 1
    # A SERVER span with a parent and no flags starts its service's tree.
    spans[0]["parentSpanId"] = CALLER
    assert rows_of(orjson.dumps(request), False)[0].rows["spans"][0]["is_segment"] == 1


def test_a_child_whose_parent_is_not_in_the_request_has_no_segment():
    request = json_request()
    spans = request["resourceSpans"][0]["scopeSpans"][0]["spans"]
    request["resourceSpans"][0]["scopeSpans"][0]["spans"] = spans[1:]
    rows = rows_of(orjson.dumps(request), False)[0].rows["spans"]
    assert [r["segment_id"] for r in rows] == [None, None]


def test_spans_without_valid_ids_are_rejected_and_counted_in_a_partial_success():
    request = json_request()
    spans = request["resourceSpans"][0]["scopeSpans"][0]["spans"]
    # base64 ids, as protobuf's own JSON mapping writes them: OTLP/JSON's are hex.
    spans[1]["traceId"], spans[1]["spanId"] = "W47/95gDgQPSabYzgT/GDA==", "7uGbfsPBsXM="
    spans[2]["spanId"] = {"oops": 1}
    batch, (body, content_type) = rows_of(orjson.dumps(request), False)
    assert [r["span_id"] for r in batch.rows["spans"]] == [ROOT]
    partial = orjson.loads(body)["partialSuccess"]
    assert content_type == "application/json" and int(partial["rejectedSpans"]) == 2
    assert "OTLP/JSON ids are hex" in partial["errorMessage"]
    assert "without a valid traceId" in partial["errorMessage"]


def test_protobuf_partial_success_parses_as_the_exporter_parses_it():
    request = trace_service_pb2.ExportTraceServiceRequest.FromString(protobuf_request())
    request.resource_spans[0].scope_spans[0].spans[0].trace_id = b"short"
    _, (body, _) = rows_of(request.SerializeToString(), True)
    answer = trace_service_pb2.ExportTraceServiceResponse.FromString(body)
    assert answer.partial_success.rejected_spans == 1 and "traceId" in answer.partial_success.error_message


def test_logs_map_level_body_ids_and_attributes_from_both_encodings():
    record = logs_pb2.LogRecord(
        time_unix_nano=NANOS,
        severity_number=17,
        severity_text="ERROR",
        body=common_pb2.AnyValue(string_value="payment failed"),
        trace_id=bytes.fromhex(TRACE),
        span_id=bytes.fromhex(ROOT),
        attributes=[kv_pb("order", 42)],
    )
    structured = logs_pb2.LogRecord(
        observed_time_unix_nano=NANOS, severity_text="Notice", body=kv_pb("", [1, "x"]).value
    )
    resource = resource_pb2.Resource(attributes=[kv_pb(k, v) for k, v in RESOURCE.items()])
    request = logs_service_pb2.ExportLogsServiceRequest(
        resource_logs=[
            logs_pb2.ResourceLogs(resource=resource, scope_logs=[logs_pb2.ScopeLogs(log_records=[record, structured])])
        ]
    )
    from_pb = rows_of(request.SerializeToString(), True, "logs")[0].rows["logs"]
    as_json = {
        "resourceLogs": [
            {
                "resource": {"attributes": [kv_json(k, v) for k, v in RESOURCE.items()]},
                "scopeLogs": [
                    {
                        "logRecords": [
                            {
                                "timeUnixNano": str(NANOS),
                                "severityNumber": 17,
                                "severityText": "ERROR",
                                "body": {"stringValue": "payment failed"},
                                "traceId": TRACE,
                                "spanId": ROOT,
                                "attributes": [kv_json("order", 42)],
                            },
                            {
                                "observedTimeUnixNano": str(NANOS),
                                "severityText": "Notice",
                                "body": kv_json("", [1, "x"])["value"],
                            },
                        ]
                    }
                ],
            }
        ]
    }
    assert rows_of(orjson.dumps(as_json), False, "logs")[0].rows["logs"] == from_pb
    error, notice = from_pb
    assert (error["level"], error["severity_number"], error["body"]) == ("error", 17, "payment failed")
    assert (error["trace_id"], error["span_id"], error["sdk_name"]) == (TRACE, ROOT, "opentelemetry.python")
    assert orjson.loads(error["attributes"])["order"] == 42
    assert (notice["level"], notice["body"], notice["trace_id"]) == ("notice", '[1,"x"]', None)
    assert notice["timestamp"] == pytest.approx(NANOS / 1e9)


def test_bodies_that_are_not_otlp_are_refused_and_other_media_types_are_415():
    with pytest.raises(InvalidBody):
        rows_of(b"\xff\xff\xff", True)
    with pytest.raises(InvalidBody):
        rows_of(b"[1, 2]", False)
    with pytest.raises(otlp.UnsupportedMediaType) as refused:
        otlp.is_protobuf("text/plain")
    assert refused.value.status == 415 and "application/x-protobuf" in refused.value.reason
    assert otlp.is_protobuf("application/x-protobuf") and not otlp.is_protobuf("application/json")
    # gzip is the body reader's business (Content-Encoding): here it is just bytes.
    with pytest.raises(InvalidBody):
        rows_of(gzip.compress(orjson.dumps(json_request())), False)


def test_values_past_the_depth_limit_are_cut_not_recursed():
    deep = {"stringValue": "bottom"}
    for _ in range(5000):
        deep = {"kvlistValue": {"values": [{"key": "k", "value": deep}]}}
    value = otlp.value_of(deep)
    for _ in range(otlp.MAX_DEPTH):
        value = value["k"]
    assert value == {"k": None}


def replaced(doc, path, value):
    doc = copy.deepcopy(doc)
    node = doc
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return doc


def places(node, path=()):
    """Every path into a JSON document."""
    yield path
    if isinstance(node, dict):
        for k, v in node.items():
            yield from places(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from places(v, (*path, i))


any_json = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
SPAN_PLACES = [p for p in places(json_request()) if p]


@pytest.fixture(scope="module")
def db():
    import sqlite3

    from collector.storage import schema

    conn = sqlite3.connect(":memory:")
    schema.create(conn)
    yield conn
    conn.close()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SPAN_PLACES), any_json)
def test_any_value_anywhere_gives_rows_that_fit_or_a_refusal(db, place, value):
    # The stdlib writes what orjson will not (integers past 64 bits, NaN), as a hostile exporter may.
    body = json.dumps(replaced(json_request(), place, value)).encode()
    try:
        batch, _ = rows_of(body, False)
    except InvalidBody:
        return
    latest = NOW + FUTURE_SLACK
    for table, rows in batch.rows.items():
        for row in rows:
            for column, v in row.items():
                assert_fits(table, column, v, latest)
    summaries.summarize(batch.rows)
    Batch(envelope=batch.envelope, rows=batch.rows).packet()
    store(db, batch.rows)

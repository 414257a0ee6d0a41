"""OTLP/HTTP ingest in-process: protobuf and JSON, gzip, both URL forms, 415
for other media types, partial success; an OpenTelemetry server span lands
under a Sentry SDK's http.client span in one trace."""

from __future__ import annotations

import gzip
import sqlite3
import time

import orjson
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from helpers import envelope, post, stats, v2_span
from otlp_requests import CALLER, ROOT, TRACE, json_request, protobuf_request


def stored(db, sql: str, *args) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


async def test_gzip_protobuf_at_v1_traces_answers_an_empty_export_response(client):
    r = await client.post(
        "/v1/traces",
        data=gzip.compress(protobuf_request()),
        headers={"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
    )
    assert r.status == 200, await r.text()
    assert r.headers["Content-Type"] == "application/x-protobuf"
    answer = trace_service_pb2.ExportTraceServiceResponse.FromString(await r.read())
    assert not answer.HasField("partial_success")
    rows = stored(client.db, "SELECT span_id, is_segment, sdk_name, project_id FROM spans ORDER BY span_id")
    assert {r[0] for r in rows} == {ROOT, "eee19b7ec3c1b173", "eee19b7ec3c1b175"}
    assert all(r[2] == "opentelemetry.python" and r[3] == "1" for r in rows)
    envelope_row = stored(client.db, "SELECT endpoint, item_types, content_encoding, item_count FROM envelopes")
    assert envelope_row == [("otlp", "otlp_traces", "gzip", 3)]
    trace = await (await client.get(f"/api/traces/{TRACE}")).json()
    assert trace["span_count"] == 3


async def test_json_at_sentrys_integration_url_files_under_its_project(client):
    r = await client.post(
        "/api/5/integration/otlp/v1/traces",
        data=gzip.compress(orjson.dumps(json_request())),
        headers={
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "X-Sentry-Auth": "sentry sentry_key=abc",
        },
    )
    assert (r.status, await r.json()) == (200, {})
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert stored(client.db, "SELECT DISTINCT project_id FROM spans") == [("5",)]
    assert stored(client.db, "SELECT public_key FROM envelopes") == [("abc",)]


async def test_other_media_types_are_refused_415_with_the_reason(client):
    r = await client.post("/v1/traces", data=b"spans", headers={"Content-Type": "text/plain"})
    assert r.status == 415
    assert "application/x-protobuf or application/json" in (await r.json())["detail"]
    assert (await stats(client))["rows"].get("spans", 0) == 0
    assert stored(client.db, "SELECT status FROM rejections") == [(415,)]


async def test_rejected_spans_come_back_as_a_partial_success(client):
    request = json_request()
    request["resourceSpans"][0]["scopeSpans"][0]["spans"][2]["traceId"] = "W47/95gDgQPSabYzgT/GDA=="
    r = await client.post("/v1/traces", data=orjson.dumps(request), headers={"Content-Type": "application/json"})
    partial = (await r.json())["partialSuccess"]
    assert r.status == 200 and int(partial["rejectedSpans"]) == 1
    assert "hex" in partial["errorMessage"]
    assert stored(client.db, "SELECT count(*) FROM spans") == [(2,)]


async def test_a_body_that_is_not_otlp_is_a_400(client):
    r = await client.post("/v1/logs", data=b"\x0a\xff", headers={"Content-Type": "application/x-protobuf"})
    assert r.status == 400 and "invalid OTLP protobuf" in (await r.json())["detail"]


async def test_logs_at_v1_logs_land_in_the_logs_table(client):
    record = {
        "timeUnixNano": str(time.time_ns()),
        "severityNumber": 13,
        "body": {"stringValue": "disk almost full"},
        "traceId": TRACE,
        "spanId": ROOT,
    }
    request = {"resourceLogs": [{"scopeLogs": [{"logRecords": [record]}]}]}
    r = await client.post("/v1/logs", data=orjson.dumps(request), headers={"Content-Type": "application/json"})
    assert (r.status, await r.json()) == (200, {})
    assert stored(client.db, "SELECT level, body, trace_id FROM logs") == [("warn", "disk almost full", TRACE)]


async def test_an_otel_server_span_sits_under_the_sentry_callers_client_span(client):
    """A browser's streamed spans (Sentry SDK) and an OpenTelemetry service's
    export, both on one trace: the waterfall puts the server span under the
    http.client span that called it."""
    now = time.time()
    caller_spans = [
        v2_span(TRACE, now, "2222222222222222", None, "/checkout", "pageload", 0, 1, segment=True),
        v2_span(TRACE, now, CALLER, "2222222222222222", "GET http://api:8000/checkout", "http.client", 0.1, 0.9),
    ]
    body = envelope(
        (
            {"type": "span", "item_count": 2, "content_type": "application/vnd.sentry.items.span.v2+json"},
            orjson.dumps({"items": caller_spans}),
        ),
        header={},
    )
    assert (await post(client, body)).status == 200
    r = await client.post("/v1/traces", data=protobuf_request(), headers={"Content-Type": "application/x-protobuf"})
    assert r.status == 200
    trace = await (await client.get(f"/api/traces/{TRACE}")).json()
    by_id = {s["span_id"]: s for s in trace["spans"]}
    assert by_id[ROOT]["parent_span_id"] == CALLER and by_id[ROOT]["is_segment"]
    assert by_id[CALLER]["parent_span_id"] == "2222222222222222"
    assert trace["span_count"] == 5

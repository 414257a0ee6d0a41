"""The real @sentry/node, in both trace lifecycles, reporting to a real collector."""

import json
import sqlite3

import pytest

from helpers import run_node


@pytest.mark.parametrize("lifecycle", ["stream", "static"])
def test_node_sdk_traffic_is_stored(collector, lifecycle):
    trace_id = json.loads(run_node("send.mjs", collector.dsn, lifecycle))["traceId"]
    stats = collector.wait_for(lambda s: s["rows"]["attachments"] >= 1 and s["rows"]["logs"] >= 1)
    assert stats["failed_items"] == 0 and stats["rejected_requests"] == 0
    assert stats["rows"]["sessions"] >= 1

    trace = collector.get(f"/api/traces/{trace_id}")
    spans = {s["description"]: s for s in trace["spans"]}
    assert set(spans) == {"checkout", "load cart"}
    root, child = spans["checkout"], spans["load cart"]
    # Streaming sends v2 span items; static sends a classic transaction.
    assert {s["origin"] for s in trace["spans"]} == {"span_v2" if lifecycle == "stream" else "transaction"}
    assert root["is_segment"] and root["parent_span_id"] is None and root["op"] == "task"
    assert child["parent_span_id"] == root["span_id"] and child["op"] == "db.query"
    assert child["segment_id"] == root["span_id"]
    assert root["timestamp"] - root["start_timestamp"] >= 0.004
    for span in trace["spans"]:
        assert span["user"]["email"] == "grace@example.com" and span["user"]["id"] == "node-user-7"
        assert span["sdk"]["name"] == "sentry.javascript.node"
        assert (span["environment"], span["release"]) == ("test", "node-app@1.0.0")
    # The segment carries the dynamic sampling context from the envelope header.
    assert root["dsc"]["trace_id"] == trace_id and root["dsc"]["sample_rate"] == "1"

    [error] = trace["errors"]
    assert (error["type"], error["value"]) == ("Error", "payment declined")
    assert error["span_id"] == root["span_id"]
    assert error["user"]["email"] == "grace@example.com"

    [log] = trace["logs"]
    assert log["body"] == "checkout started" and log["level"] == "info"
    assert log["span_id"] == root["span_id"] and log["attributes"]["cart_items"] == 3

    # The attachment envelope is over 32 KiB: gzipped and sent chunked.
    assert stats["content_encodings"].get("gzip", 0) >= 1
    with sqlite3.connect(collector.db) as db:
        rows = db.execute("SELECT event_id, filename, size FROM attachments").fetchall()
    assert rows == [(error["event_id"], "cart.txt", 40000)]

"""The real sentry-sdk in a FastAPI app, reporting to a real collector."""

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "apps" / "fastapi_app.py"


@pytest.mark.parametrize("brotli", [True, False], ids=["br", "gzip"])
def test_fastapi_app_traffic_is_stored(collector, brotli):
    args = [sys.executable, str(APP), collector.dsn] + ([] if brotli else ["--no-brotli"])
    out = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    ids = json.loads(out.stdout)
    boom_trace = json.loads(out.stderr.strip().splitlines()[-1])["boom"]

    stats = collector.wait_for(lambda s: s["rows"]["events"] >= 1 and s["rows"]["transactions"] >= 3)
    # The SDK compresses with brotli when it can import it, else gzip.
    expected, other = ("br", "gzip") if brotli else ("gzip", "br")
    assert stats["content_encodings"].get(expected, 0) >= 4
    assert other not in stats["content_encodings"]
    assert stats["failed_items"] == 0 and stats["rejected_requests"] == 0
    assert stats["rows"]["sessions"] >= 1
    # Every envelope knows its sender, even the session envelopes whose
    # header is `{}`: the auth header's client string names the SDK.
    with sqlite3.connect(collector.db) as db:
        senders = {row[0] for row in db.execute("SELECT DISTINCT sdk_name FROM envelopes")}
    assert senders <= {"sentry.python", "sentry.python.fastapi"} and None not in senders

    # /login: anonymous first, then authenticated, with the tag.
    login = collector.get(f"/api/traces/{ids['login']}")
    [root] = login["spans"]
    assert (root["op"], root["description"], root["is_segment"]) == ("http.server", "/login", True)
    assert root["user"]["id"] == "42" and root["user"]["email"] == "ada@example.com"
    assert root["tags"]["authenticated"] == "true"
    assert root["sdk"]["name"] == "sentry.python.fastapi"
    assert (root["environment"], root["release"]) == ("test", "backend@2.0.0")
    assert login["users"] == [{"id": "42", "email": "ada@example.com", "sdks": ["sentry.python.fastapi"]}]

    # /items: a db span under the request's transaction; still anonymous.
    items = collector.get(f"/api/traces/{ids['items']}")
    by_op = {s["op"]: s for s in items["spans"]}
    assert by_op["db"]["description"] == "SELECT 1 AS one"
    assert by_op["db"]["parent_span_id"] == by_op["http.server"]["span_id"]
    assert by_op["db"]["start_timestamp"] <= by_op["db"]["timestamp"]
    assert by_op["http.server"]["user"] == {"id": "anon-1"}

    # /boom: the error joins its trace and the span it happened in.
    boom = collector.get(f"/api/traces/{boom_trace}")
    [error] = boom["errors"]
    [server_span] = [s for s in boom["spans"] if s["op"] == "http.server"]
    assert error["type"] == "RuntimeError" and error["value"] == "kaboom from the backend"
    assert error["span_id"] == server_span["span_id"]
    assert error["user"] == {"id": "anon-1"}
    assert server_span["status"] == "internal_error"
    event = collector.get(f"/api/events/{error['event_id']}")
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"

    listed = {t["trace_id"]: t for t in collector.get("/api/traces")["traces"]}
    assert set(listed) >= {ids["login"], ids["items"], boom_trace}
    assert listed[boom_trace]["error_count"] == 1
    assert listed[ids["items"]]["span_count"] == 2
    assert listed[ids["login"]]["root"] == "/login"

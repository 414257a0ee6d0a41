"""The phone's half of issue 13 with the real @sentry/react-native 8.28.0,
unmodified, under React Native's Jest preset (tests/rn/phone.test.js): with
`enableNative: false` its own JS transport sends a session, a login and a
checkout whose requests reach the FastAPI backend (the real sentry-sdk),
a handled error and an uncaught fatal one. The backend continues the phone's
trace; the waterfall, the session and user 42's journey show it all."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess

import pytest

from browser_scenario import start_backend, stop_app
from helpers import ROOT

RN_DIR = ROOT / "tests" / "rn"
RN_SDK = {"name": "sentry.javascript.react-native", "version": "8.28.0"}


def _run_phone(collector, tmp_path) -> dict:
    """Run the phone once against a live backend; the ids it reported, once
    the collector holds the backend's two requests too."""
    jest = RN_DIR / "node_modules" / ".bin" / "jest"
    if not jest.exists():
        pytest.fail("tests/rn/node_modules missing: run `make test`, which runs npm ci there")
    # A phone sends no Origin header, so the backend's CORS rules never apply.
    backend, backend_url = start_backend(collector.dsn, "http://localhost", anonymous_only=False)
    try:
        result_file = tmp_path / "phone.json"
        env = {**os.environ, "SENTRY_DSN": collector.dsn, "BACKEND_URL": backend_url, "RN_RESULT": str(result_file)}
        # --forceExit: Node's keep-alive sockets (under xhr2) would hold
        # Jest open for seconds after the SDK has flushed and closed.
        out = subprocess.run(
            [str(jest), "--ci", "--forceExit"], cwd=RN_DIR, env=env, capture_output=True, text=True, timeout=240
        )
        assert out.returncode == 0, out.stdout + out.stderr
        phone = json.loads(result_file.read_text())
        # The backend's SDK sends on its own schedule.
        collector.wait_for(
            lambda t: sum(s["op"] == "http.server" for s in t["spans"]) == 2,
            f"/api/traces/{phone['checkout']['traceId']}",
            timeout=20,
        )
    finally:
        stop_app(backend)
    return phone


def test_the_real_react_native_sdk_shares_its_trace_session_and_user(collector, tmp_path):
    phone = _run_phone(collector, tmp_path)
    trace_id = phone["checkout"]["traceId"]
    # Two root spans on one scope share its propagation context: one trace.
    assert phone["login"]["traceId"] == trace_id

    stats = collector.get("/api/stats")
    assert stats["failed_items"] == 0 and stats["rejected_requests"] == 0

    trace = collector.get(f"/api/traces/{trace_id}")
    spans = {s["span_id"]: s for s in trace["spans"]}
    phone_spans = [s for s in trace["spans"] if s["sdk"]["name"] == RN_SDK["name"]]
    assert {(s["op"], s["description"].split(" http")[0]) for s in phone_spans} == {
        ("ui.action", "login"),
        ("ui.action", "checkout"),
        ("http.client", "POST"),
        ("http.client", "GET"),
    }
    assert all(s["sdk"]["version"] == RN_SDK["version"] for s in phone_spans)

    # The waterfall: phone action -> its http.client span -> the backend's segment.
    for action, route in (("login", "/api/login"), ("checkout", "/api/orders")):
        root = spans[phone[action]["spanId"]]
        assert root["is_segment"] and root["parent_span_id"] is None and root["description"] == action
        [server] = [s for s in trace["spans"] if s["op"] == "http.server" and s["description"] == route]
        request = spans[server["parent_span_id"]]
        assert request["op"] == "http.client" and request["sdk"]["name"] == RN_SDK["name"]
        assert request["description"].endswith(route) and request["parent_span_id"] == root["span_id"]
        assert server["is_segment"] and server["sdk"]["name"] == "sentry.python.fastapi"

    # The user is named after the login answers: the checkout carries it, the login does not.
    assert spans[phone["login"]["spanId"]]["user"] is None
    checkout_spans = [s for s in phone_spans if s["segment_id"] == phone["checkout"]["spanId"]]
    assert len(checkout_spans) == 2
    assert all(s["user"]["id"] == "42" and s["user"]["email"] == "ada@example.com" for s in checkout_spans)

    errors = {e["event_id"]: e for e in trace["errors"]}
    assert set(errors) == {phone["handledId"], phone["fatalId"]}
    handled = errors[phone["handledId"]]
    assert handled["value"] == "payment declined" and handled["span_id"] == phone["checkout"]["spanId"]
    fatal = collector.get(f"/api/events/{phone['fatalId']}")
    assert fatal["level"] == "fatal" and fatal["sdk"]["name"] == RN_SDK["name"]
    assert fatal["user"]["id"] == "42"
    _assert_session(collector, phone["sessionId"])
    _assert_journey(collector, phone)


def _assert_session(collector, sid: str) -> None:
    """The session's updates as the JS layer sent them: started anonymous,
    errored once the user was named, crashed by the uncaught error."""
    with sqlite3.connect(collector.db) as db:
        rows = db.execute(
            "SELECT kind, did, status, errors, release, environment, data FROM sessions WHERE sid = ? ORDER BY rowid",
            (sid,),
        ).fetchall()
    assert [row[:6] for row in rows] == [
        ("session", None, "ok", 0, "mobile@3.0.0", "test"),
        ("session", "42", "ok", 1, "mobile@3.0.0", "test"),
        ("session", "42", "crashed", 1, "mobile@3.0.0", "test"),
    ]
    assert [json.loads(row[6])["init"] for row in rows] == [True, False, False]


def _assert_journey(collector, phone: dict) -> None:
    journey = collector.wait_for(lambda j: j["sessions"] and j["errors"] >= 2, "/api/users/42", timeout=20)
    entries = {(e["kind"], e["id"]): e for e in journey["timeline"]}
    assert ("trace", phone["checkout"]["traceId"]) in entries
    assert ("error", phone["handledId"]) in entries and ("error", phone["fatalId"]) in entries
    session = entries[("session", phone["sessionId"])]
    assert session["release"] == "mobile@3.0.0" and session["sdk"] == RN_SDK["name"]

"""The doctor for one trace reads only the segments, client requests and
errors of the traces around it: its findings must still be exactly what
the doctor over a window finds for that trace, for every check that can
name another trace (the unlinked request's two halves, anonymous users
counted across traces), with neighbours holding many other spans."""

from __future__ import annotations

import time

import orjson

from collector.read.doctor import concerns
from helpers import envelope, post

FRONT, BACK, OTHER, NAMED = "a" * 32, "f" * 32, "d" * 32, "9" * 32
WEB = {"name": "sentry.javascript.browser", "version": "11.0.0"}
PY = {"name": "sentry.python.fastapi", "version": "2.0.0"}


def transaction(event_id, trace_id, span_id, op, name, start, sdk, spans=(), user=None, request=None):
    payload = {
        "event_id": event_id,
        "type": "transaction",
        "transaction": name,
        "start_timestamp": start,
        "timestamp": start + 1,
        "contexts": {"trace": {"trace_id": trace_id, "span_id": span_id, "op": op}},
        "spans": list(spans),
        "sdk": sdk,
        **({"user": user} if user else {}),
        **({"request": request} if request else {}),
    }
    return {"type": "transaction"}, orjson.dumps(payload)


def child(trace_id, span_id, parent, op, description, start, data=None):
    return {
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_span_id": parent,
        "op": op,
        "description": description,
        "start_timestamp": start,
        "timestamp": start + 0.01,
        **({"data": data} if data else {}),
    }


def error(event_id, trace_id, start):
    payload = {
        "event_id": event_id,
        "timestamp": start,
        "exception": {"values": [{"type": "KeyError", "value": "'cart'"}]},
        "contexts": {"trace": {"trace_id": trace_id, "span_id": "c000000000000001"}},
        "sdk": PY,
    }
    return {"type": "event"}, orjson.dumps(payload)


async def store(client) -> None:
    """A pageload (user named) whose fetch reached a backend that started a
    trace of its own with 40 database spans and an anonymous error; a third
    trace nearby from the same backend, anonymous too, with spans of its own;
    and a request on which that backend names the user."""
    now = time.time() - 60
    fetch = child(FRONT, "b000000000000002", "b000000000000001", "http.client", "GET http://127.0.0.1:8000/api/o", now)
    fetch["data"] = {"url": "http://127.0.0.1:8000/api/o"}
    noise = [child(FRONT, f"b1{i:014x}", "b000000000000001", "resource.script", f"/s{i}.js", now) for i in range(30)]
    ada = {"id": "42", "email": "ada@example.com"}
    items = [
        transaction("1" * 32, FRONT, "b000000000000001", "pageload", "/shop", now, WEB, [fetch, *noise], ada),
        transaction(
            "2" * 32,
            BACK,
            "c000000000000001",
            "http.server",
            "/api/o",
            now + 0.05,
            PY,
            [child(BACK, f"c1{i:014x}", "c000000000000001", "db", f"SELECT {i}", now + 0.1) for i in range(40)],
            request={"url": "http://localhost:8000/api/o", "headers": [["Host", "localhost:8000"]]},
        ),
        error("3" * 32, BACK, now + 0.2),
        transaction(
            "4" * 32,
            OTHER,
            "e000000000000001",
            "http.server",
            "/api/o",
            now + 5,
            PY,
            [child(OTHER, f"e1{i:014x}", "e000000000000001", "db", "SELECT 1", now + 5.1) for i in range(20)],
        ),
        # The backend names the user on another route: it could on /api/o too.
        transaction("5" * 32, NAMED, "9000000000000001", "http.server", "/api/me", now + 6, PY, user=ada),
    ]
    for item in items:
        assert (await post(client, envelope(item, header={}))).status == 200


def unordered(findings: list[dict]) -> list[dict]:
    """A window takes traces newest first, one trace's doctor that trace
    first: an anonymous_events finding lists its examples, and is placed on
    the first of them, in that order. The rest must be equal."""
    out = []
    for f in findings:
        if f["kind"] == "anonymous_events":
            evidence = {**f["evidence"], "examples": sorted(f["evidence"]["examples"])}
            f = {**f, "trace_id": None, "span_id": None, "evidence": evidence}
        out.append(f)
    return out


async def test_one_traces_findings_are_the_windows_findings_about_it(client):
    await store(client)
    window = (await (await client.get("/api/doctor?since=1h")).json())["findings"]
    kinds = {f["kind"] for f in window}
    assert {"unlinked_outgoing_request", "anonymous_events"} <= kinds
    for trace_id in (FRONT, BACK, OTHER, NAMED):
        mine = [f for f in window if concerns(f, trace_id)]
        focused = (await (await client.get(f"/api/doctor?trace_id={trace_id}")).json())["findings"]
        assert unordered(focused) == unordered(mine), trace_id
    anonymous = next(f for f in window if f["kind"] == "anonymous_events")
    # Counted over both backend traces, each of which was a neighbour of the other.
    assert set(anonymous["evidence"]["traces"]) >= {BACK, OTHER}

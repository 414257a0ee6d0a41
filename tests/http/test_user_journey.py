"""Issue 13: one user's journey from crafted envelopes: a browser session
whose `did` becomes the user on login, a backend that named the visitor
`anon-7` first, traces, an error, a log, a replay and feedback."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import orjson
import pytest

from helpers import post

T0 = time.time() - 600
BROWSER = {"name": "sentry.javascript.browser", "version": "11.12.0"}
PYTHON = {"name": "sentry.python", "version": "2.40.0"}
ADA = {"id": "42", "email": "ada@example.com"}
SHARED, LATER, BEFORE = "a1" * 16, "b2" * 16, "c3" * 16  # traces: login, after login, anonymous only
SID, REPLAY = "5e55" * 8, "4e" * 16


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


async def _send(client, sdk: dict, *items: tuple[str, dict], event_id: str | None = None) -> None:
    header = {"sdk": sdk, **({"event_id": event_id} if event_id else {})}
    lines = [orjson.dumps(header)]
    for kind, payload in items:
        lines += [orjson.dumps({"type": kind}), orjson.dumps(payload)]
    assert (await post(client, b"\n".join(lines) + b"\n")).status == 200


def _transaction(trace_id: str, span_id: str, name: str, start: float, end: float, user: dict, sdk: dict) -> dict:
    return {
        "type": "transaction",
        "event_id": span_id * 2,
        "transaction": name,
        "start_timestamp": T0 + start,
        "timestamp": T0 + end,
        "contexts": {"trace": {"trace_id": trace_id, "span_id": span_id, "op": "http.server"}},
        "user": user,
        "sdk": sdk,
        "spans": [],
    }


def _session(seq: int, at: float, **fields) -> dict:
    attrs = {"release": "web@1.0.0", "environment": "test"}
    return {"sid": SID, "seq": seq, "started": _iso(T0), "timestamp": _iso(T0 + at), "attrs": attrs, **fields}


async def _journey(client) -> None:
    await _send(client, BROWSER, ("session", _session(0, 0, init=True, status="ok", errors=0)))
    anonymous = {"id": "anon-7", "ip_address": "10.0.0.7"}
    await _send(
        client, PYTHON, ("transaction", _transaction(BEFORE, "1" * 16, "GET /items", 0.5, 0.7, anonymous, PYTHON))
    )
    await _send(client, PYTHON, ("transaction", _transaction(SHARED, "2" * 16, "POST /login", 5, 6, anonymous, PYTHON)))
    await _send(client, BROWSER, ("transaction", _transaction(SHARED, "3" * 16, "/checkout", 1, 20, ADA, BROWSER)))
    await _send(client, BROWSER, ("session", _session(1, 21, did="42", status="ok", errors=1)))
    await _send(client, PYTHON, ("transaction", _transaction(LATER, "4" * 16, "GET /orders", 25, 26, ADA, PYTHON)))
    error = {
        "event_id": "e" * 32,
        "timestamp": T0 + 27,
        "level": "error",
        "exception": {"values": [{"type": "TypeError", "value": "cart is undefined"}]},
        "contexts": {"trace": {"trace_id": LATER, "span_id": "5" * 16}},
        "user": ADA,
        "sdk": BROWSER,
    }
    await _send(client, BROWSER, ("event", error), event_id="e" * 32)
    log = {"items": [{"timestamp": T0 + 25.5, "trace_id": LATER, "level": "info", "body": "orders listed"}]}
    await _send(client, PYTHON, ("log", log))
    replay = {
        "type": "replay_event",
        "replay_id": REPLAY,
        "segment_id": 0,
        "replay_start_timestamp": T0 + 2,
        "timestamp": T0 + 28,
        "urls": ["http://localhost:5173/checkout"],
        "trace_ids": [LATER],
        "error_ids": ["e" * 32],
        "user": ADA,
        "sdk": BROWSER,
    }
    await _send(client, BROWSER, ("replay_event", replay), event_id=REPLAY)
    feedback = {
        "event_id": "f" * 32,
        "timestamp": T0 + 30,
        "contexts": {"feedback": {"message": "checkout broke", "contact_email": "ada@example.com"}},
    }
    await _send(client, BROWSER, ("feedback", feedback), event_id="f" * 32)


async def test_users_list_is_searchable_and_counts_each_kind(client):
    await _journey(client)
    [ada] = (await (await client.get("/api/users?q=ADA@EXAMPLE")).json())["users"]
    assert (ada["key"], ada["id"], ada["email"]) == ("ada@example.com", "42", "ada@example.com")
    assert (ada["traces"], ada["errors"], ada["sessions"], ada["replays"]) == (2, 1, 1, 1)
    assert ada["first_seen"] < ada["last_seen"] and "sentry.python" in ada["sdks"]
    [anon] = (await (await client.get("/api/users?q=10.0.0")).json())["users"]
    assert anon["id"] == "anon-7" and anon["ip_address"] == "10.0.0.7" and anon["traces"] == 2
    assert (await (await client.get("/api/users?q=nobody_")).json())["users"] == []
    html = await (await client.get("/users?q=nobody")).text()
    assert "username or IP address contains" in html and "nobody" in html and 'href="/users">Show everyone' in html


async def test_a_named_users_journey_holds_its_anonymous_past(client):
    await _journey(client)
    journey = await (await client.get("/api/users/42")).json()
    assert [a["alias"] for a in journey["aliases"]] == ["anon-7"]
    [alias] = journey["aliases"]
    assert (alias["kind"], alias["id"], alias["user"]) == ("trace", SHARED, "42")
    assert alias["until"] == T0 + 6 and alias["at"] == T0 + 20
    kinds = [(e["kind"], e["id"]) for e in journey["timeline"]]
    times = [e["time"] for e in journey["timeline"]]
    assert times == sorted(times, reverse=True)
    assert {k for k, _ in kinds} == {"session", "replay", "trace", "error", "log", "feedback"}
    by_id = {e["id"]: e for e in journey["timeline"]}
    assert by_id[BEFORE]["before_login"] == "anon-7" and "before_login" not in by_id[LATER]
    assert by_id[SHARED]["switch"]["alias"] == "anon-7"
    assert sorted(by_id[SHARED]["services"]) == ["sentry.javascript.browser", "sentry.python"]
    assert (by_id[SID]["status"], by_id[SID]["release"], by_id[SID]["sdk"]) == ("ok", "web@1.0.0", BROWSER["name"])
    assert by_id[REPLAY]["url"] == "http://localhost:5173/checkout" and by_id[REPLAY]["duration"] == 26
    assert by_id["e" * 32]["trace_id"] == LATER and by_id["f" * 32]["message"] == "checkout broke"
    assert journey["traces"] == 3 and journey["first_seen"] == pytest.approx(T0)  # the session started


async def test_order_limit_and_the_page(client):
    await _journey(client)
    oldest = await (await client.get("/api/users/42?order=oldest&limit=2")).json()
    assert [e["id"] for e in oldest["timeline"]] == [SID, BEFORE] and oldest["more"] == 6
    html = await (await client.get("/users/42?order=oldest&limit=2")).text()
    assert "6 more not shown" in html and 'href="?order=oldest&amp;limit=10"' in html
    html = await (await client.get("/users/42")).text()
    for link in (
        f"/traces/{LATER}",
        "/events/" + "e" * 32,
        f"/replays/{REPLAY}",
        f"/sessions/{SID}",
        f"trace_id={LATER}",
    ):
        assert link in html
    assert "anonymous (anon-7) until" in html and "before login, as anon-7" in html
    anon = await (await client.get("/api/users/anon-7")).json()
    assert anon["became"]["user"] == "42" and anon["became"]["at"] == T0 + 20
    html = await (await client.get("/users/anon-7")).text()
    assert "This anonymous id became" in html and 'href="/users/42"' in html


async def test_an_unknown_user_is_a_page_that_says_what_to_check(client):
    r = await client.get("/users/nobody%40example.com")
    assert r.status == 200 and "No data is stored for this user" in await r.text()
    journey = await (await client.get("/api/users/nobody")).json()
    assert journey["timeline"] == [] and journey["aliases"] == [] and journey["became"] is None

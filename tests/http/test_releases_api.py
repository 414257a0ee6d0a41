"""/api/releases, /api/sessions and /api/sessions/{sid} from crafted session
envelopes: exact numbers, the pages, and hostile payloads answered 200."""

from __future__ import annotations

import time

import orjson

from helpers import envelope, post

NOW = time.time()
SID_A, SID_B, SID_C = "a" * 32, "b" * 32, "c" * 32


def iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + "Z"


def session(sid, did="u1", status="ok", errors=0, init=False, seq=None, at=0.0, release="web@1", **extra):
    payload = {"sid": sid, "did": did, "status": status, "errors": errors, "init": init, "started": iso(NOW - 60)}
    payload |= {"timestamp": iso(NOW - 60 + at), "attrs": {"release": release, "environment": "prod"}, **extra}
    if seq is not None:
        payload["seq"] = seq
    return {"type": "session"}, orjson.dumps(payload)


def aggregates(*entries, release="web@1"):
    body = {"attrs": {"release": release, "environment": "prod"}, "aggregates": list(entries)}
    return {"type": "sessions"}, orjson.dumps(body)


def error(event_id, user_id="u1"):
    payload = {"event_id": event_id, "message": "boom", "timestamp": NOW - 30, "release": "web@1"}
    payload["user"] = {"id": user_id}
    return {"type": "event"}, orjson.dumps(payload)


async def send(client, *items, header=None):
    r = await post(client, envelope(*items, header=header or {}))
    assert r.status == 200, await r.text()


async def store_scenario(client):
    # A: healthy, then exited; its updates arrive out of order.
    await send(client, session(SID_A, seq=2, status="exited", at=20))
    await send(client, session(SID_A, seq=1, init=True))
    # B: crashes with its error in the same envelope; a late "ok" does not undo it.
    await send(client, session(SID_B, did="u2", init=True, seq=1))
    await send(client, error("e" * 32, user_id="u2"), session(SID_B, did="u2", seq=2, status="crashed", errors=1))
    await send(client, session(SID_B, did="u2", seq=3, status="ok", at=40))
    # C: errored, anonymous.
    await send(client, session(SID_C, did=None, init=True, errors=1))
    # Server aggregates: 3 healthy, 1 errored, 1 crashed; no did.
    await send(client, aggregates({"started": iso(NOW - 60), "exited": 3, "errored": 1, "crashed": 1}))


async def test_release_numbers_follow_the_session_rules(client):
    await store_scenario(client)
    body = await (await client.get("/api/releases")).json()
    assert body == {
        "releases": [
            {
                "release": "web@1",
                "environment": "prod",
                # A, B, C + 5 aggregated; B and one aggregated crashed; C and one aggregated errored.
                "sessions": 8,
                "healthy": 4,
                "errored": 2,
                "unhandled": 0,
                "abnormal": 0,
                "crashed": 2,
                "crash_free_sessions": 75.0,
                # u1 and u2; u2 crashed.
                "users": 2,
                "crash_free_users": 50.0,
                "last_seen": body["releases"][0]["last_seen"],
            }
        ]
    }


async def test_a_release_lists_its_sessions_and_one_session_its_errors(client):
    await store_scenario(client)
    listing = await (await client.get("/api/sessions?release=web%401&environment=prod")).json()
    assert listing["total"] == 3
    assert {s["sid"]: s["outcome"] for s in listing["sessions"]} == {
        SID_A: "healthy",
        SID_B: "crashed",
        SID_C: "errored",
    }
    assert listing["aggregates"][0]["healthy"] == 3
    detail = await (await client.get(f"/api/sessions/{SID_B}")).json()
    assert [u["seq"] for u in detail["updates"]] == [1, 2, 3]
    assert [u["status"] for u in detail["updates"]] == ["ok", "crashed", "ok"]
    assert detail["outcome"] == "crashed" and detail["did"] == "u2"
    assert [(e["event_id"], e["same_envelope"]) for e in detail["error_events"]] == [("e" * 32, True)]
    assert detail["user"] == {"id": "u2", "email": None, "username": None}
    missing = await client.get("/api/sessions/nope")
    assert missing.status == 404


async def test_pages_show_the_numbers_and_link_the_sessions(client):
    empty = await (await client.get("/releases")).text()
    assert "No sessions yet" in empty
    await store_scenario(client)
    page = await (await client.get("/releases")).text()
    assert "75.00 %" in page and 'href="/sessions?release=web%401&amp;environment=prod"' in page
    listing = await (await client.get("/sessions?release=web%401&environment=prod")).text()
    assert f'href="/sessions/{SID_B}"' in listing
    detail = await (await client.get(f"/sessions/{SID_B}")).text()
    assert "sent with its update" in detail and 'href="/users/u2"' in detail


async def test_hostile_payloads_never_fail_the_pages(client):
    hostile = [
        {"sid": ["x"], "did": {"a": 1}, "seq": "9", "init": "yes", "errors": 1e308, "status": 7, "attrs": []},
        {"sid": "<script>x</script>", "init": True, "status": None, "timestamp": "soon", "attrs": {"release": 5}},
        {"sid": "d" * 32, "init": True, "duration": "long", "did": "", "attrs": {"release": "<b>r</b>"}},
    ]
    for payload in hostile:
        await send(client, ({"type": "session"}, orjson.dumps(payload)))
    await send(client, ({"type": "sessions"}, orjson.dumps({"aggregates": [{"exited": "many"}, 3, None], "attrs": 1})))
    for path in ("/api/releases", "/releases", "/api/sessions", "/sessions?release=%3Cb%3Er%3C/b%3E"):
        r = await client.get(path)
        assert r.status == 200, (path, await r.text())
        if not path.startswith("/api/"):  # JSON holds the text as sent; pages escape it
            assert "<script>x" not in await r.text() and "<b>r</b>" not in await r.text()
    for path in ("/sessions/%3Cscript%3Ex%3C%2Fscript%3E", "/api/sessions/" + "d" * 32):
        assert (await client.get(path)).status == 200, path

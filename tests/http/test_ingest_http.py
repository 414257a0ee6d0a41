"""The ingest endpoints over HTTP, in-process: auth forms, encodings, CORS,
limits, every endpoint, and bad input that loses nothing."""

import asyncio
import base64
import gzip
import io
import sqlite3
import time
import zlib

import orjson
import pytest

from collector.ingest import body as ingest_body
from collector.ingest.endpoints import Ingest
from collector.protocol.refusals import Refusal
from collector.web.keys import WRITER
from encoders import COMPRESSORS, NO_ENCODING
from helpers import EVENT_ID, TRACE, envelope, event_item, post, stats


async def test_envelope_accepted_with_id_and_cors(client):
    r = await post(client, envelope(event_item()))
    assert r.status == 200
    assert await r.json() == {"id": EVENT_ID}
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "x-sentry-rate-limits" in r.headers["Access-Control-Expose-Headers"]
    assert (await stats(client))["rows"]["events"] == 1


async def test_envelope_without_event_id_answers_empty_object(client):
    r = await post(client, envelope(({"type": "session"}, b'{"sid":"s1","status":"ok"}'), header={}))
    assert (r.status, await r.json()) == (200, {})


@pytest.mark.parametrize(
    "path", ["/api/1/envelope", "/api/1/envelope/", "/sentry/proxy/api/1/envelope/", "/api/store/", "/api/1/store"]
)
async def test_paths_with_prefix_and_optional_slash(client, path):
    body = envelope(event_item()) if "envelope" in path else event_item()[1]
    r = await post(client, body, path=path)
    assert r.status == 200, await r.text()


async def test_auth_forms(client):
    body = envelope(event_item())
    assert (
        await post(client, body, query="", **{"X-Sentry-Auth": "Sentry sentry_key=k, sentry_version=7"})
    ).status == 200
    assert (await post(client, body, query="", Authorization="Sentry sentry_key=k")).status == 200
    basic = "Basic " + base64.b64encode(b"k:").decode()
    assert (await post(client, body, query="", Authorization=basic)).status == 200
    assert (await post(client, body, query="?sentry_key=k&sentry_version=7&sentry_client=x")).status == 200


async def test_tunnel_uses_header_dsn(client):
    body = envelope(event_item(), header={"event_id": EVENT_ID, "dsn": "http://tunnelkey@example.com/1"})
    r = await post(client, body, query="")
    assert r.status == 200
    with sqlite3.connect(client.db) as db:
        assert db.execute("SELECT public_key FROM envelopes").fetchone() == ("tunnelkey",)


@pytest.mark.parametrize(
    "query, headers, header, status, reason",
    [
        ("", {}, {"event_id": EVENT_ID}, 401, "missing authentication"),
        ("?sentry_key=k", {"X-Sentry-Auth": "Sentry sentry_key=k"}, {}, 401, "multiple authorization"),
        ("?sentry_key=k&sentry_version=9", {}, {}, 400, "unsupported sentry_version"),
        ("?sentry_key=k", {}, {"dsn": "http://other@h/1"}, 400, "public key header mismatch"),
        ("?sentry_key=k", {}, {"dsn": "http://k@h/7"}, 400, "project id header mismatch"),
    ],
)
async def test_auth_failures(client, query, headers, header, status, reason):
    r = await post(client, envelope(event_item(), header=header), query=query, **headers)
    assert r.status == status
    body = await r.json()
    assert reason in body["detail"] and reason in r.headers["X-Sentry-Error"]
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    s = await stats(client)
    assert s["envelopes"] == 0 and s["rejected_requests"] == 1


@pytest.mark.parametrize("label, encode", COMPRESSORS + NO_ENCODING[:2])
async def test_content_encodings(client, label, encode):
    r = await post(client, encode(envelope(event_item())), **{"Content-Encoding": label})
    assert r.status == 200, await r.text()
    s = await stats(client)
    assert s["rows"]["events"] == 1


@pytest.mark.parametrize("content_type", ["application/x-sentry-envelope", "text/plain;charset=UTF-8", None])
async def test_any_content_type(client, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    assert (await post(client, envelope(event_item()), **headers)).status == 200


async def test_chunked_body(client):
    async def chunks():
        body = envelope(event_item("chunked"))
        for i in range(0, len(body), 7):
            yield body[i : i + 7]

    r = await client.post("/api/1/envelope/?sentry_key=k", data=chunks())
    assert r.status == 200


async def test_preflight(client):
    r = await client.options(
        "/api/1/envelope/", headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"}
    )
    assert r.status == 200
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    allowed = r.headers["Access-Control-Allow-Headers"]
    for h in ("x-sentry-auth", "content-type", "content-encoding", "authorization", "sentry-trace", "baggage"):
        assert h in allowed
    assert "POST" in r.headers["Access-Control-Allow-Methods"]


async def test_body_over_limit_is_413(client, monkeypatch):
    monkeypatch.setattr(ingest_body, "MAX_COMPRESSED", 1000)
    r = await post(client, envelope(event_item("x" * 2000)))
    assert r.status == 413 and "exceeds" in (await r.json())["detail"]


async def test_decompressed_over_limit_is_413(client, monkeypatch):
    monkeypatch.setattr(ingest_body, "MAX_DECOMPRESSED", 10_000)
    r = await post(client, gzip.compress(b"\0" * 1_000_000), **{"Content-Encoding": "gzip"})
    assert r.status == 413


async def test_bad_item_is_recorded_and_siblings_are_kept(client):
    body = envelope(
        event_item("kept"),
        ({"type": "transaction"}, b"{not json"),
        ({"type": "event"}, b"[" * 5000),
        ({"type": "session"}, b'{"sid":"s","status":"ok"}'),
    )
    r = await post(client, body)
    assert r.status == 200
    s = await stats(client)
    assert s["rows"]["events"] == 1 and s["rows"]["sessions"] == 1
    assert s["failed_items"] == 2
    assert {f["item_type"] for f in s["failures"]} == {"transaction", "event"}
    with sqlite3.connect(client.db) as db:
        assert db.execute("SELECT payload FROM item_failures WHERE item_type='transaction'").fetchone() == (
            b"{not json",
        )


async def test_an_event_over_sentrys_limit_is_stored_and_noted(client):
    # Sentry drops events over 1 MiB; the collector keeps them (up to its own
    # limit) and notes that Sentry would not, beside its siblings.
    r = await post(client, envelope(event_item("x" * (1024 * 1024 + 10)), ({"type": "session"}, b'{"sid":"s"}')))
    assert r.status == 200
    s = await stats(client)
    assert s["rows"]["events"] == 1 and s["rows"]["sessions"] == 1
    assert s["failed_items"] == 1 and "over Sentry's limit (stored anyway)" in s["failures"][0]["reason"]


async def test_every_item_type_is_kept(client):
    items = [
        (
            {"type": "transaction"},
            orjson.dumps(
                {
                    "type": "transaction",
                    "transaction": "GET /",
                    "start_timestamp": 1.0,
                    "timestamp": 2.0,
                    "contexts": {"trace": {"trace_id": TRACE, "span_id": "1111111111111111", "op": "http.server"}},
                    "spans": [
                        {
                            "span_id": "2222222222222222",
                            "parent_span_id": "1111111111111111",
                            "trace_id": TRACE,
                            "op": "db",
                            "start_timestamp": "1970-01-01T00:00:01.5Z",
                            "timestamp": 1.7,
                        }
                    ],
                }
            ),
        ),
        (
            {"type": "span", "item_count": 1, "content_type": "application/vnd.sentry.items.span.v2+json"},
            orjson.dumps(
                {
                    "version": 2,
                    "items": [
                        {
                            "trace_id": TRACE,
                            "span_id": "3333333333333333",
                            "parent_span_id": "2222222222222222",
                            "name": "GET /api",
                            "start_timestamp": 1.55,
                            "end_timestamp": 1.6,
                            "is_segment": True,
                            "status": "ok",
                            "attributes": {"sentry.op": {"type": "string", "value": "http.client"}},
                        }
                    ],
                }
            ),
        ),
        (
            {"type": "log"},
            orjson.dumps({"items": [{"timestamp": 1.6, "trace_id": TRACE, "level": "warn", "body": "careful"}]}),
        ),
        (
            {"type": "sessions"},
            orjson.dumps({"attrs": {"release": "r"}, "aggregates": [{"started": "2026-01-01T00:00:00Z", "exited": 3}]}),
        ),
        ({"type": "attachment", "length": 3, "filename": "a.txt"}, b"abc"),
        (
            {"type": "replay_event"},
            orjson.dumps({"replay_id": "r1", "segment_id": 0, "trace_ids": [TRACE], "timestamp": 1.0}),
        ),
        ({"type": "replay_recording", "length": 22}, b'{"segment_id":0}\nxxxxx'),
        (
            {"type": "client_report"},
            orjson.dumps(
                {
                    "timestamp": 1.0,
                    "discarded_events": [{"reason": "sample_rate", "category": "transaction", "quantity": 4}],
                }
            ),
        ),
        (
            {"type": "user_report"},
            orjson.dumps({"event_id": EVENT_ID, "name": "Ada", "email": "a@b.c", "comments": "broken"}),
        ),
        (
            {"type": "feedback"},
            orjson.dumps(
                {"event_id": "f" * 32, "contexts": {"feedback": {"message": "nice", "contact_email": "x@y.z"}}}
            ),
        ),
        ({"type": "profile"}, b'{"profile":{}}'),
        ({"type": "check_in"}, b'{"check_in_id":"c","status":"ok"}'),
        ({"type": "brand_new_type"}, b"whatever"),
    ]
    r = await post(client, envelope(*items))
    assert r.status == 200
    s = await stats(client)
    assert s["failed_items"] == 0
    rows = s["rows"]
    assert rows["spans"] == 3 and rows["transactions"] == 1 and rows["logs"] == 1 and rows["sessions"] == 1
    assert rows["attachments"] == 1 and rows["replays"] == 1 and rows["replay_recordings"] == 1
    assert rows["client_reports"] == 1 and rows["feedback"] == 2 and rows["other_items"] == 3
    trace = await (await client.get(f"/api/traces/{TRACE}")).json()
    spans = {s["span_id"]: s for s in trace["spans"]}
    assert spans["2222222222222222"]["start_timestamp"] == 1.5
    assert spans["3333333333333333"]["op"] == "http.client"


async def test_store_endpoint_and_legacy_base64_zlib(client):
    event = {"event_id": "a" * 32, "message": "stored"}
    r = await post(client, orjson.dumps(event), path="/api/1/store/")
    assert (r.status, await r.json()) == (200, {"id": "a" * 32})
    legacy = base64.b64encode(zlib.compress(orjson.dumps({"event_id": "b" * 32, "message": "old"})))
    r = await post(client, legacy, path="/api/1/store/")
    assert (r.status, await r.json()) == (200, {"id": "b" * 32})
    assert (await (await client.get("/api/events/" + "b" * 32)).json())["message"] == "old"
    r = await post(client, b"", path="/api/1/store/")
    assert r.status == 400
    r = await post(client, orjson.dumps(event), path="/api/1/store/", query="")
    assert r.status == 401


async def test_security_minidump_and_attachment_endpoints(client):
    r = await post(
        client,
        orjson.dumps({"csp-report": {"document-uri": "http://x"}}),
        path="/api/1/security/",
        **{"Content-Type": "application/csp-report"},
    )
    assert r.status == 200
    from aiohttp import FormData

    form = FormData()
    form.add_field("upload_file_minidump", io.BytesIO(b"MDMP\x93\xa7"), filename="crash.dmp")
    r = await client.post("/api/1/minidump/?sentry_key=k", data=form)
    assert r.status == 200
    minidump_event = (await r.text()).strip()
    assert len(minidump_event) == 32
    form = FormData()
    form.add_field("file", io.BytesIO(b"log lines"), filename="app.log")
    r = await client.post(f"/api/1/events/{EVENT_ID}/attachments/?sentry_key=k", data=form)
    assert r.status == 200
    with sqlite3.connect(client.db) as db:
        rows = db.execute(
            "SELECT event_id, filename, attachment_type, payload FROM attachments ORDER BY rowid"
        ).fetchall()
    assert rows == [
        (minidump_event, "crash.dmp", "event.minidump", b"MDMP\x93\xa7"),
        (EVENT_ID, "app.log", "event.attachment", b"log lines"),
    ]
    s = await stats(client)
    assert s["rows"]["other_items"] == 1 and s["rows"]["events"] == 1


async def test_spotlight_stream_endpoint(client):
    r = await client.post(
        "/stream", data=envelope(event_item()), headers={"Content-Type": "application/x-sentry-envelope"}
    )
    assert r.status == 200


async def test_any_refusal_is_answered_and_noted_the_same_way(client, monkeypatch):
    class TeapotRule(Refusal):
        """A rule added later: ingest needs no change to answer it."""

        status = 418

    async def refuse(self, request, params):
        raise TeapotRule("short and stout\r\nX-Injected: 1")

    monkeypatch.setattr(Ingest, "_stream", refuse)
    r = await client.post("/stream", data=envelope(event_item()))
    assert (r.status, await r.json()) == (418, {"detail": "short and stout\r\nX-Injected: 1"})
    assert r.headers["X-Sentry-Error"] == "short and stout X-Injected: 1" and "X-Injected" not in r.headers
    s = await stats(client)
    assert s["rejected_requests"] == 1 and s["rejections"][0]["status"] == 418


async def test_malformed_envelope_keeps_earlier_rows(client):
    assert (await post(client, envelope(event_item()))).status == 200
    r = await post(client, envelope(event_item()) + b'{"type":"event","length":999}\nxx')
    assert r.status == 400 and "declares length 999" in (await r.json())["detail"]
    s = await stats(client)
    assert s["rows"]["events"] == 1 and s["rejected_requests"] == 1
    assert s["rejections"][0]["status"] == 400


async def test_read_api_404s_explain(client):
    r = await client.get("/api/traces/" + "f" * 32)
    assert r.status == 404 and "no trace" in (await r.json())["detail"]
    r = await client.get("/api/events/" + "f" * 32)
    assert r.status == 404 and "no event" in (await r.json())["detail"]


async def test_queue_full_answers_429_with_rate_limit_headers(client, monkeypatch):
    monkeypatch.setattr(client.app[WRITER], "_max_batches", 0)
    r = await post(client, envelope(event_item()))
    assert r.status == 429
    assert r.headers["Retry-After"] == "1"
    assert r.headers["X-Sentry-Rate-Limits"].startswith("1::")


async def test_queued_bytes_are_bounded(client, monkeypatch):
    writer = client.app[WRITER]
    monkeypatch.setattr(writer, "_max_bytes", 1000)
    monkeypatch.setattr(writer, "_queued_bytes", 900)  # as if a big batch were still waiting
    r = await post(client, envelope(event_item("x" * 500)))
    assert r.status == 429 and "Retry-After" in r.headers
    monkeypatch.setattr(writer, "_queued_bytes", 0)
    assert (await post(client, envelope(event_item("x" * 5000)))).status == 200
    assert (await stats(client))["write_queue"]["bytes"] == 0


async def test_search_finds_segment_and_child_span_ids(client):
    # Segment span ids are indexed, child span ids are not: both must be found.
    transaction = {
        "type": "transaction",
        "transaction": "/checkout",
        "start_timestamp": 1.0,
        "timestamp": 2.0,
        "contexts": {"trace": {"trace_id": TRACE, "span_id": "aaaaaaaaaaaaaaaa", "op": "http.server"}},
        "spans": [
            {
                "trace_id": TRACE,
                "span_id": "bbbbbbbbbbbbbbbb",
                "parent_span_id": "aaaaaaaaaaaaaaaa",
                "op": "db",
                "start_timestamp": 1.1,
                "timestamp": 1.2,
            }
        ],
    }
    assert (await post(client, envelope(({"type": "transaction"}, orjson.dumps(transaction))))).status == 200
    for span_id in ("aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"):
        r = await client.get(f"/search?q={span_id}", allow_redirects=False)
        assert r.status in (302, 303) and r.headers["Location"] == f"/traces/{TRACE}#span-{span_id}"
    assert (await client.get("/search?q=cccccccccccccccc", allow_redirects=False)).status == 404


@pytest.mark.parametrize("keep_bodies", [False, True])
async def test_request_bodies_are_kept_only_when_asked(make_client, keep_bodies):
    client = await make_client(keep_bodies=keep_bodies)
    body = envelope(event_item("x" * 2000))
    assert (await post(client, gzip.compress(body), **{"Content-Encoding": "gzip"})).status == 200
    with sqlite3.connect(client.db) as db:
        stored, encoding = db.execute("SELECT body, body_encoding FROM envelopes").fetchone()
        assert db.execute("SELECT message FROM events").fetchone() == ("x" * 2000,)
    if keep_bodies:
        # Decoded (not gzip), then zlib-compressed for storage.
        assert encoding == "zlib" and zlib.decompress(stored) == body
    else:
        assert stored is None


async def test_a_database_locked_by_another_program_is_a_500_that_names_the_fix(client):
    other = sqlite3.connect(client.db, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # a sqlite3 shell left mid-transaction
        started = time.monotonic()
        answers = await asyncio.gather(*(post(client, envelope(event_item(f"m{i}"))) for i in range(10)))
        # One busy timeout for the whole group, not one per request.
        assert time.monotonic() - started < 15
        for r in answers:
            assert r.status == 500
            assert "locked by another program" in (await r.json())["detail"]
            assert "close the sqlite3 shell" in r.headers["X-Sentry-Error"]
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert (await post(client, envelope(event_item("after")))).status == 200

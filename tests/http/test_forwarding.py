"""Forwarding, in-process: the collector forwards to a small aiohttp server
playing Sentry (or an OpenTelemetry Collector) that can refuse, rate-limit
or be down, and /api/stats and the pages say how it is going."""

from __future__ import annotations

import asyncio
import time
import uuid

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from collector.forward import destinations, forwarder
from collector.forward.service import FORWARDER
from collector.protocol.envelope import parse
from helpers import post, stats


class Upstream:
    """Records what it was sent; `answer(body)` decides each reply."""

    def __init__(self):
        self.received: list[tuple[str, dict, bytes]] = []
        self.answer = lambda body: web.json_response({})

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        response = self.answer(body)
        if response.status < 300:
            self.received.append((request.path, dict(request.headers), body))
        return response

    async def start(self, aiohttp_server) -> TestServer:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self.handle)
        return await aiohttp_server(app)

    def event_ids(self) -> list[str]:
        return [parse(body).event_id for path, _, body in self.received if path.endswith("/envelope/")]


def error_envelope(message="boom", event_id=None):
    event_id = event_id or uuid.uuid4().hex
    header = {"event_id": event_id, "trace": {"trace_id": "ab" * 16, "public_key": "k", "environment": "prod"}}
    event = {"event_id": event_id, "message": message, "environment": "prod"}
    return event_id, b"\n".join([orjson.dumps(header), b'{"type":"event"}', orjson.dumps(event)]) + b"\n"


def transaction_envelope(trace_id="cd" * 16, spans=()):
    event_id = uuid.uuid4().hex
    now = time.time()
    transaction = {
        "event_id": event_id,
        "type": "transaction",
        "transaction": "GET /checkout",
        "start_timestamp": now - 1,
        "timestamp": now,
        "contexts": {"trace": {"trace_id": trace_id, "span_id": "1" * 16, "op": "http.server", "status": "ok"}},
        "spans": list(spans),
        "release": "shop@2.0",
    }
    header = orjson.dumps({"event_id": event_id})
    return event_id, b"\n".join([header, b'{"type":"transaction"}', orjson.dumps(transaction)]) + b"\n"


async def eventually(check, timeout=15.0):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def outbox_holds(client, n: int) -> None:
    """Rows are counted delivered when answered and deleted by the writer's
    next chore: wait for the outbox to hold n."""
    for _ in range(200):
        if (await stats(client))["rows"]["outbox"] == n:
            return
        await asyncio.sleep(0.05)
    assert (await stats(client))["rows"]["outbox"] == n


@pytest.fixture
async def upstream(aiohttp_server):
    up = Upstream()
    up.server = await up.start(aiohttp_server)
    up.dsn = f"http://upkey@127.0.0.1:{up.server.port}/42"
    return up


async def forwarding(make_client, *dsns, **options):
    return await make_client(forward=[destinations.sentry(d) for d in dsns], **options)


async def test_envelopes_reach_the_upstream_with_its_key_and_are_counted(make_client, upstream):
    client = await forwarding(make_client, upstream.dsn)
    _, body = error_envelope()
    assert (await post(client, body)).status == 200
    await eventually(lambda: upstream.received)
    path, headers, sent = upstream.received[0]
    assert path == "/api/42/envelope/"
    assert headers["X-Sentry-Auth"].startswith("Sentry sentry_key=upkey, sentry_version=7, sentry_client=collector/")
    assert sent == body
    await eventually(lambda: _lane_sync(client)["forwarded"] == 1)
    [lane] = (await stats(client))["forwarding"]
    assert lane["destination"] == f"http://127.0.0.1:{upstream.server.port}/42"
    assert (lane["forwarded"], lane["dropped"], lane["last_error"]) == (1, 0, None)
    page = await (await client.get("/traces")).text()
    assert f"forwarding to 127.0.0.1:{upstream.server.port}: " in page


async def test_without_forwarding_nothing_is_queued(client):
    _, body = error_envelope()
    assert (await post(client, body)).status == 200
    body = await stats(client)
    assert body["forwarding"] == [] and body["rows"]["outbox"] == 0
    assert "forwarding to" not in await (await client.get("/traces")).text()


async def test_rate_limited_transactions_wait_while_errors_go(make_client, upstream):
    limited = {"on": True}

    def answer(body):
        if limited["on"] and b'"type":"transaction"' in body:
            return web.Response(status=429, headers={"X-Sentry-Rate-Limits": "60:transaction:organization:quota"})
        return web.json_response({})

    upstream.answer = answer
    client = await forwarding(make_client, upstream.dsn)
    transaction_id, transaction = transaction_envelope()
    assert (await post(client, transaction)).status == 200
    errors = [error_envelope(f"e{i}") for i in range(3)]
    for _, body in errors:
        assert (await post(client, body)).status == 200
    await eventually(lambda: len(upstream.received) == 3)
    assert upstream.event_ids() == [event_id for event_id, _ in errors]
    [lane] = (await stats(client))["forwarding"]
    assert lane["rate_limited_until"]["transaction"] > time.time() + 50
    assert lane["dropped"] == 0
    await outbox_holds(client, 1)
    assert "rate limited (transaction)" in await (await client.get("/errors")).text()
    # The limit over (as if its minute had passed): the transaction follows, once.
    limited["on"] = False
    client.app[FORWARDER].lanes[0].limits.until.clear()
    await eventually(lambda: len(upstream.received) == 4)
    assert upstream.event_ids()[-1] == transaction_id


async def test_upstream_down_then_back_gets_everything_once(make_client, upstream, monkeypatch):
    monkeypatch.setattr(forwarder, "MAX_BACKOFF", 0.5)
    up = {"on": False}
    upstream.answer = lambda body: web.json_response({}) if up["on"] else web.Response(status=503, text="down")
    client = await forwarding(make_client, upstream.dsn)
    sent = [error_envelope(f"e{i}") for i in range(40)]
    for _, body in sent:
        assert (await post(client, body)).status == 200
    await eventually(lambda: _lane_sync(client)["retrying"] > 0)
    lane = _lane_sync(client)
    assert lane["last_error"] == "503 down" and lane["forwarded"] == 0
    up["on"] = True
    await eventually(lambda: len(upstream.received) >= 40)
    await asyncio.sleep(0.5)
    ids = upstream.event_ids()
    assert sorted(ids) == sorted(event_id for event_id, _ in sent) and len(ids) == len(set(ids))
    await eventually(lambda: _lane_sync(client)["retrying"] == 0)
    assert _lane_sync(client)["forwarded"] == 40


def _lane_sync(client) -> dict:
    return client.app[FORWARDER].stats()[0]


async def test_a_refused_envelope_is_dropped_with_the_reason_and_the_rest_go(make_client, upstream):
    def answer(body):
        if b"poison" in body:
            return web.Response(status=400, headers={"X-Sentry-Error": "invalid event"})
        return web.json_response({})

    upstream.answer = answer
    client = await forwarding(make_client, upstream.dsn)
    _, poison = error_envelope("poison")
    good_id, good = error_envelope("fine")
    for body in (poison, good):
        assert (await post(client, body)).status == 200
    await eventually(lambda: _lane_sync(client)["forwarded"] + _lane_sync(client)["dropped"] == 2)
    lane = _lane_sync(client)
    assert upstream.event_ids() == [good_id]
    assert lane["dropped_by_reason"] == {"refused: 400 invalid event": 1}
    assert lane["last_error"] == "400 invalid event"
    await outbox_holds(client, 0)


async def test_skipped_environment_stays_local(make_client, upstream):
    client = await forwarding(make_client, upstream.dsn, forward_skip_environments=["development"])
    _, local = error_envelope("local")
    local = local.replace(b'"prod"', b'"development"')
    kept_id, kept = error_envelope("kept")
    for body in (local, kept):
        assert (await post(client, body)).status == 200
    await eventually(lambda: upstream.received)
    await asyncio.sleep(0.5)
    assert upstream.event_ids() == [kept_id]
    assert (await stats(client))["rows"]["events"] == 2


async def test_spans_are_exported_as_otlp_protobuf(make_client, upstream):
    client = await make_client(forward=[destinations.otlp(f"http://127.0.0.1:{upstream.server.port}")])
    trace_id = "ef" * 16
    now = time.time()
    child = {
        "span_id": "2" * 16,
        "parent_span_id": "1" * 16,
        "trace_id": trace_id,
        "op": "db",
        "description": "SELECT 1",
        "start_timestamp": now - 0.5,
        "timestamp": now - 0.4,
    }
    _, body = transaction_envelope(trace_id, [child])
    assert (await post(client, body)).status == 200
    await eventually(lambda: upstream.received)
    path, headers, sent = upstream.received[0]
    assert (path, headers["Content-Type"]) == ("/v1/traces", "application/x-protobuf")
    request = ExportTraceServiceRequest.FromString(sent)
    spans = {s.name: s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans}
    assert set(spans) == {"GET /checkout", "SELECT 1"}
    root, db = spans["GET /checkout"], spans["SELECT 1"]
    assert root.trace_id == db.trace_id == bytes.fromhex(trace_id)
    assert root.span_id == bytes.fromhex("1" * 16) and root.parent_span_id == b""
    assert db.parent_span_id == root.span_id
    resource = {a.key: a.value.string_value for a in request.resource_spans[0].resource.attributes}
    assert resource["service.name"] == "shop"

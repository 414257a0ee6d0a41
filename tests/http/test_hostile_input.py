"""Hostile input: each is refused with a 4xx and a reason, the server keeps
serving, and what was stored before is intact."""

import asyncio
import contextlib
import gzip
import sqlite3

import brotli
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.ingest import body as ingest_body
from collector.protocol.envelope import Envelope, Item, parse, serialize
from collector.protocol.refusals import MalformedEnvelope
from encoders import raw_deflate
from helpers import envelope, event_item, post, stats

GOOD = envelope(event_item("stored before"))
HEADER = b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}\n'


async def assert_still_serving(client, earlier_events=1):
    s = await stats(client)
    assert s["rows"]["events"] == earlier_events
    assert (await post(client, envelope(({"type": "session"}, b'{"sid":"after"}'), header={}))).status == 200
    with sqlite3.connect(client.db) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def bomb(encode):
    return encode(b"\0" * (ingest_body.MAX_DECOMPRESSED + 1024))


@pytest.mark.parametrize(
    "name, body, headers, status, reason",
    [
        ("empty body", b"", {}, 400, "empty envelope"),
        (
            "truncated envelope",
            GOOD[: len(GOOD) // 2] + b'\n{"type":"event","length":100}\n{"a"',
            {},
            400,
            "declares length 100",
        ),
        ("header not JSON", b"hello world\n", {}, 400, "invalid envelope header"),
        ("length past the end", HEADER + b'{"type":"event","length":10}\n{}\n', {}, 400, "only 3 bytes follow"),
        ("negative length", HEADER + b'{"type":"event","length":-5}\n{}\n', {}, 400, "non-negative integer"),
        ("non-integer length", HEADER + b'{"type":"event","length":"ten"}\n{}\n', {}, 400, "non-negative integer"),
        ("huge length", HEADER + b'{"type":"event","length":18446744073709551615}\n{}\n', {}, 400, "bytes follow"),
        (
            "missing newline after payload",
            HEADER + b'{"type":"event","length":2}\n{}X{"type":"event"}\n{}\n',
            {},
            400,
            "missing newline",
        ),
        ("invalid UTF-8", b'{"event_id":"\xc3\x28"}\n', {}, 400, "invalid envelope header"),
        ("JSON 100,000 deep", b"[" * 100_000 + b"]" * 100_000 + b"\n", {}, 400, "invalid envelope header"),
        ("NUL bytes", b"\0\0\0\0\n\0", {}, 400, "invalid envelope header"),
        ("gzip bomb", bomb(gzip.compress), {"Content-Encoding": "gzip"}, 413, "exceeds"),
        ("deflate bomb", bomb(raw_deflate), {"Content-Encoding": "deflate"}, 413, "exceeds"),
        ("br bomb", bomb(lambda d: brotli.compress(d, quality=5)), {"Content-Encoding": "br"}, 413, "exceeds"),
        ("zstd bomb", bomb(zstandard.ZstdCompressor(level=3).compress), {"Content-Encoding": "zstd"}, 413, "exceeds"),
        ("wrong Content-Encoding label", GOOD, {"Content-Encoding": "gzip"}, 400, "not valid gzip"),
        ("10,000 empty items", HEADER + b'{"type":"attachment","length":0}\n\n' * 10_000, {}, 413, "10000 items"),
    ],
)
async def test_hostile_body(client, name, body, headers, status, reason):
    assert (await post(client, GOOD)).status == 200
    r = await post(client, body, **headers)
    assert r.status == status, name
    detail = (await r.json())["detail"]
    assert reason in detail and r.headers["X-Sentry-Error"]
    await assert_still_serving(client)


async def test_deep_json_item_fails_alone(client):
    r = await post(client, envelope(event_item("sibling"), ({"type": "event"}, b"[" * 100_000)))
    assert r.status == 200
    s = await stats(client)
    assert s["rows"]["events"] == 1 and s["failed_items"] == 1
    assert "invalid JSON" in s["failures"][0]["reason"]


async def test_25_mb_body_is_413(client):
    assert (await post(client, GOOD)).status == 200
    big = HEADER + b'{"type":"attachment","length":26214400}\n' + b"x" * 26_214_400 + b"\n"
    r = await post(client, big)
    assert r.status == 413 and "exceeds" in (await r.json())["detail"]

    async def chunks():  # the same without Content-Length, as Node sends it
        for i in range(0, len(big), 1 << 20):
            yield big[i : i + (1 << 20)]

    r = await client.post("/api/1/envelope/?sentry_key=k", data=chunks())
    assert r.status == 413
    await assert_still_serving(client)


async def test_slow_client_times_out_and_others_are_served(client, monkeypatch):
    monkeypatch.setattr(ingest_body, "BODY_TIMEOUT", 1.0)
    assert (await post(client, GOOD)).status == 200
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(b"POST /api/1/envelope/?sentry_key=k HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
    await writer.drain()
    # While it trickles, others are answered.
    trickle = asyncio.create_task(_trickle(writer))
    await assert_still_serving(client)
    response = await asyncio.wait_for(reader.read(4096), timeout=10)
    trickle.cancel()
    writer.close()
    assert response.startswith(b"HTTP/1.1 408") and b"not received within" in response


async def _trickle(writer):
    for _ in range(100):
        await asyncio.sleep(0.2)
        writer.write(b" ")
        await writer.drain()


# --- the parser, property-based ---------------------------------------------------

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.text(max_size=20))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)
items = st.builds(
    Item,
    headers=st.fixed_dictionaries(
        {"type": st.text(min_size=1, max_size=12)}, optional={"filename": st.text(max_size=10)}
    ),
    payload=st.binary(max_size=200),
)
envelopes = st.builds(
    Envelope, headers=st.dictionaries(st.text(max_size=8), json_values, max_size=4), items=st.lists(items, max_size=5)
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=500))
def test_arbitrary_bytes_raise_only_malformed_envelope(data):
    with contextlib.suppress(MalformedEnvelope):
        parse(data)


@settings(max_examples=300, deadline=None)
@given(envelopes)
def test_parse_of_serialize_is_the_envelope(env):
    again = parse(serialize(env))
    assert again.headers == env.headers
    assert [i.payload for i in again.items] == [i.payload for i in env.items]
    assert [{k: v for k, v in i.headers.items() if k != "length"} for i in again.items] == [
        i.headers for i in env.items
    ]

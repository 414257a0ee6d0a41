"""Ingest never lets one request sink others or cost without bound: values
out of their column's range are coerced, ids are lower-cased, error headers
are clean, and what one envelope turns into is capped (issue 11, findings
2, 6 and 8), over HTTP in-process."""

from __future__ import annotations

import asyncio
import gzip
import io
import sqlite3
import sys

import aiohttp
import orjson
import pytest

from collector.ingest import body as ingest_body
from collector.ingest import normalize
from collector.ingest.batches import build
from collector.protocol.envelope import parse
from collector.web.keys import WRITER
from helpers import envelope, post, stats

TRACE = "0AF7651916CD43DD8448EB211C80319C"
SPAN = "B7AD6B7169203331"
HUGE = 2**64 - 1  # parses as an int, and no SQLite integer holds it


def event(event_id: str, **extra) -> tuple[dict, bytes]:
    return {"type": "event"}, orjson.dumps({"event_id": event_id, "message": "valid", **extra})


RECORDING = b'{"segment_id":%d}\n\x00' % HUGE
# name: (item header, payload, the table its row goes to)
POISONED = {
    "log severity_number": ({"type": "log"}, {"items": [{"body": "x", "severity_number": HUGE}]}, "logs"),
    "session errors": ({"type": "session"}, {"sid": "s", "status": "ok", "errors": HUGE}, "sessions"),
    "replay segment_id": ({"type": "replay_event"}, {"replay_id": "r" * 32, "segment_id": HUGE}, "replays"),
    "client report quantity": ({"type": "client_report"}, {"discarded_events": [{"quantity": HUGE}]}, "client_reports"),
    "replay_recording header": ({"type": "replay_recording", "length": len(RECORDING)}, RECORDING, "replay_recordings"),
    "span timestamp in ms": (
        {"type": "span"},
        {"trace_id": "a" * 32, "span_id": "b" * 16, "start_timestamp": 1.7e12},
        "spans",
    ),
}


def query(client, sql: str, *args):
    with sqlite3.connect(client.db) as db:
        return db.execute(sql, args).fetchall()


@pytest.mark.parametrize("name", POISONED)
async def test_a_huge_int_never_sinks_the_envelopes_written_with_it(client, name):
    item_header, payload, table = POISONED[name]
    payload = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    poisoned = envelope((item_header, payload), header={"event_id": "f" * 32})
    valid = [envelope(event(f"{i:032x}"), header={"event_id": f"{i:032x}"}) for i in range(30)]
    # Posted together, so the writer takes them as one group.
    bodies = [*valid[:15], poisoned, *valid[15:]]
    responses = await asyncio.gather(*(post(client, body) for body in bodies))
    assert [r.status for r in responses] == [200] * len(bodies), [await r.text() for r in responses if r.status != 200]
    assert query(client, "SELECT count(*) FROM events") == [(30,)]
    # The poisoned item is stored, its out-of-range value as NULL.
    assert query(client, f"SELECT count(*) FROM {table}") == [(1,)]


@pytest.mark.parametrize(
    "header",
    [
        {"sdk": {"name": {"nested": True}, "version": "1"}},
        {"sdk": {"name": 12, "version": [1, 2]}},
        {"sdk": {"name": HUGE, "version": 1.5}},
        {"sdk": "sentry.python"},
        {"event_id": 12345},
        {"event_id": {"id": 1}},
        {"dsn": 7},
        {"sent_at": HUGE, "trace": [1, 2]},
    ],
)
async def test_any_envelope_header_value_is_answered_200(client, header):
    r = await post(client, envelope(({"type": "session"}, b'{"sid":"s"}'), header=header))
    assert r.status == 200, await r.text()
    assert (await stats(client))["envelopes"] == 1


@pytest.mark.parametrize("dsn", [7, {"a": 1}, ["http://k@h/1"]])
async def test_spotlight_envelope_with_a_dsn_that_is_no_string_is_filed_under_project_1(client, dsn):
    r = await client.post("/stream", data=envelope(({"type": "session"}, b'{"sid":"s"}'), header={"dsn": dsn}))
    assert r.status == 200, await r.text()
    assert query(client, "SELECT project_id, public_key FROM envelopes") == [("1", "spotlight")]


async def test_envelope_header_deeper_than_can_be_stored_is_a_400(client):
    deep = b"[" * 300 + b"]" * 300
    r = await post(client, b'{"x":' + deep + b'}\n{"type":"session"}\n{"sid":"s"}\n')
    assert r.status == 400 and "invalid envelope header" in (await r.json())["detail"]


async def test_store_and_minidump_events_deeper_than_can_be_stored_are_a_400(client):
    deep = "[" * 300 + "]" * 300
    r = await post(client, f'{{"message":"m","extra":{deep}}}'.encode(), path="/api/1/store/")
    assert r.status == 400 and "invalid event JSON" in (await r.json())["detail"]
    form = aiohttp.FormData()
    form.add_field("upload_file_minidump", io.BytesIO(b"MDMP"), filename="crash.dmp")
    form.add_field("sentry", f'{{"extra":{deep}}}')
    r = await client.post("/api/1/minidump/?sentry_key=k", data=form)
    assert r.status == 400 and "invalid event JSON" in (await r.json())["detail"]


async def test_upper_case_ids_are_found_by_their_lower_case_form(client):
    event_id = "9EC79C33-EC99-42AB-8353-589FCB2E04DC"
    error = {"event_id": event_id, "message": "boom", "contexts": {"trace": {"trace_id": TRACE, "span_id": SPAN}}}
    transaction = {
        "type": "transaction",
        "event_id": "A" * 32,
        "transaction": "/x",
        "start_timestamp": 1.7e9,
        "timestamp": 1.7e9 + 1,
        "contexts": {"trace": {"trace_id": TRACE, "span_id": "C" * 16, "parent_span_id": SPAN}},
        "spans": [{"span_id": "D" * 16, "parent_span_id": "C" * 16, "start_timestamp": 1.7e9}],
    }
    body = envelope(
        ({"type": "event"}, orjson.dumps(error)),
        ({"type": "transaction"}, orjson.dumps(transaction)),
        header={"event_id": event_id},
    )
    r = await post(client, body)
    assert r.status == 200 and (await r.json())["id"] == "9ec79c33ec9942ab8353589fcb2e04dc"
    trace = await client.get(f"/api/traces/{TRACE.lower()}")
    assert trace.status == 200
    assert {s["span_id"] for s in (await trace.json())["spans"]} == {"c" * 16, "d" * 16}
    assert (await client.get("/api/events/9ec79c33ec9942ab8353589fcb2e04dc")).status == 200
    assert (await client.get(f"/api/events/{'a' * 32}")).status == 200


def assert_clean_header(r):
    header = r.headers["X-Sentry-Error"]
    assert header and all(" " <= c <= "~" or "\xa0" <= c <= "\xff" for c in header), repr(header)


@pytest.mark.parametrize("id_", ["%0d", "%00", "%0a", "%7f", "%c2%85", "%e2%80%a8", "%e2%82%ac", "%ff", "ab%0d%0acd"])
async def test_read_api_404_with_any_byte_in_the_id_is_answered(client, id_):
    r = await client.get(f"/api/traces/{id_}")
    assert r.status == 404
    assert_clean_header(r)
    await r.json()


@pytest.mark.parametrize("path", ["/%0d", "/x%00y", "/%0dSet-Cookie:%20a=b", "/%e2%80%a8", "/%ff%fe"])
async def test_ingest_404_quoting_the_path_is_answered(client, path):
    r = await client.post(path, data=b"{}")
    assert r.status == 404
    assert_clean_header(r)
    assert "Set-Cookie" not in r.headers


async def raw_post(client, head: bytes, body: bytes) -> bytes:
    """A request with header bytes no HTTP client library sends."""
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(head + b"Host: localhost\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    return answer


async def test_header_bytes_that_are_not_utf8_are_stored_not_fatal(client):
    body = envelope(({"type": "session"}, b'{"sid":"s"}'))
    # A key of non-UTF-8 bytes (aiohttp hands it over as lone surrogates)...
    stored = raw_post(client, b"POST /api/1/envelope/ HTTP/1.1\r\nX-Sentry-Auth: Sentry sentry_key=k\xff\xfe\r\n", body)
    # ...and a rejected request whose User-Agent is such bytes, beside valid ones.
    rejected = raw_post(client, b"POST /api/1/envelope/ HTTP/1.1\r\nUser-Agent: agent\xff\r\n", body)
    others = [post(client, envelope(event(f"{i:032x}"), header={})) for i in range(10)]
    answers = await asyncio.gather(stored, rejected, *others)
    assert answers[0].startswith(b"HTTP/1.1 200") and answers[1].startswith(b"HTTP/1.1 401")
    assert [r.status for r in answers[2:]] == [200] * 10
    s = await stats(client)
    assert s["envelopes"] == 11 and s["rejected_requests"] == 1


# --- what one request may turn into ----------------------------------------------


def span_items(items: int, spans: int) -> bytes:
    parts = [b"{}"]
    for item in range(items):
        batch = [
            {
                "trace_id": "a" * 32,
                "span_id": f"{item:08x}{i:08x}",
                "name": "s",
                "start_timestamp": 1.7e9,
                "end_timestamp": 1.7e9,
            }
            for i in range(spans)
        ]
        payload = orjson.dumps({"version": 2, "items": batch})
        parts += [orjson.dumps({"type": "span", "length": len(payload)}), payload]
    return b"\n".join(parts) + b"\n"


async def test_rows_past_the_cap_fail_their_items_with_the_reason(client):
    # 12,000 spans in 12 items of 1,000, gzipped: parsed off the event loop.
    r = await post(client, gzip.compress(span_items(12, 1000)), **{"Content-Encoding": "gzip"})
    assert r.status == 200
    assert query(client, "SELECT count(*) FROM spans") == [(normalize.MAX_ROWS,)]
    failures = query(client, "SELECT item_index, reason FROM item_failures ORDER BY item_index")
    assert failures == [
        (10, f"more than {normalize.MAX_ROWS} rows from one envelope"),
        (11, f"more than {normalize.MAX_ROWS} rows from one envelope"),
    ]


async def test_failed_items_keep_a_bounded_prefix_and_their_size(client):
    too_big = b"x" * (normalize.ITEM_LIMITS["check_in"] + 1)
    items = [({"type": "check_in", "length": len(too_big)}, too_big) for _ in range(40)]
    r = await post(client, gzip.compress(envelope(*items)), **{"Content-Encoding": "gzip"})
    assert r.status == 200
    rows = query(client, "SELECT length(payload), size FROM item_failures ORDER BY item_index")
    assert len(rows) == 40 and {size for _, size in rows} == {len(too_big)}
    assert rows[0][0] == normalize.FAILURE_PREFIX
    assert sum(kept or 0 for kept, _ in rows) == normalize.MAX_FAILURE_BYTES


async def test_failure_rows_per_envelope_are_capped_with_a_count_of_the_rest(client):
    r = await post(client, envelope(*[({"type": "event"}, b"not json") for _ in range(250)]))
    assert r.status == 200
    (count,) = query(client, "SELECT count(*) FROM item_failures")[0]
    assert count == normalize.MAX_FAILURES + 1
    assert query(client, "SELECT reason FROM item_failures WHERE item_index IS NULL") == [
        (f"150 more failed items of this envelope not kept (at most {normalize.MAX_FAILURES} are)",)
    ]


async def test_a_batch_weighs_its_decoded_body_in_the_queue(client, monkeypatch):
    writer = client.app[WRITER]
    real_write, batches = writer.write, []

    async def write(batch):
        batches.append(batch)
        return await real_write(batch)

    monkeypatch.setattr(writer, "write", write)
    body = span_items(2, 1000)
    compressed = gzip.compress(body)
    assert (await post(client, compressed, **{"Content-Encoding": "gzip"})).status == 200
    # The writer process makes the rows: while it waits, the batch holds the decoded body.
    (batch,) = batches
    assert batch.raw.body == body and batch.rows == {}
    assert batch.size == len(body) > len(compressed)
    assert query(client, "SELECT count(*) FROM spans") == [(2000,)]


def test_a_batch_built_by_the_server_weighs_its_rows_too():
    # With --workers or forwarding the server builds the rows, which then wait in its queue.
    body = span_items(2, 1000)
    batch = build(parse(body), body, "gzip", "key", "1", None, None)
    rows = [row for table in batch.rows.values() for row in table]
    assert len(rows) == 2000
    assert batch.size >= len(body) + sum(map(sys.getsizeof, rows))


async def test_small_bodies_are_handled_on_the_event_loop(client, monkeypatch):
    # The hot path pays no thread hop: a 6 KB transaction never reaches HEAVY.
    submitted = []
    real_submit = ingest_body.HEAVY.submit
    monkeypatch.setattr(ingest_body.HEAVY, "submit", lambda *a, **k: submitted.append(a) or real_submit(*a, **k))
    assert (await post(client, envelope(event("e" * 32)))).status == 200
    assert (await post(client, gzip.compress(envelope(event("f" * 32))), **{"Content-Encoding": "gzip"})).status == 200
    assert submitted == []
    assert (await post(client, span_items(1, 3000))).status == 200
    # Parsing; the writer process normalizes.
    assert len(submitted) == 1

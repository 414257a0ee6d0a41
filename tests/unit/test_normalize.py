"""normalize() over SDK-shaped items with any field replaced by any JSON
value: it never raises, and every value it produces fits its column (so
SQLite can store it), with ids lower-cased and times sane."""

from __future__ import annotations

import json
import math
import sqlite3

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector.ingest.normalize import FUTURE_SLACK, HANDLERS, INT64_MAX, INT64_MIN, ITEM_LIMITS, normalize
from collector.protocol.envelope import Envelope, Item, ItemType, parse
from collector.storage import schema, summaries
from collector.storage.client import Batch

NOW = 1_760_000_000.0
TRACE, SPAN, EVENT = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", "9ec79c33ec9942ab8353589fcb2e04dc"
ID_COLUMNS = {"trace_id", "span_id", "parent_span_id", "segment_id", "event_id", "replay_id", "associated_event_id"}
SDK = {"name": "sentry.javascript.browser", "version": "11.12.0", "settings": {"infer_ip": "auto"}}
USER = {"id": "42", "email": "ada@example.com", "username": "ada", "ip_address": "{{auto}}"}


def attr(value) -> dict:
    kind = {bool: "boolean", int: "integer", float: "double"}.get(type(value), "string")
    return {"type": kind, "value": value}


def span(i: int) -> dict:
    return {
        "span_id": f"{i:016x}",
        "parent_span_id": SPAN,
        "trace_id": TRACE,
        "op": "db",
        "description": "SELECT 1",
        "start_timestamp": NOW - 1,
        "timestamp": "2025-10-09T08:53:20.5Z",
        "status": "ok",
        "tags": {"db": "pg"},
        "data": {"db.system": "postgresql", "rows": 3},
    }


FRAME = {
    "filename": "app.py",
    "function": "pay",
    "lineno": 3,
    "in_app": True,
    "vars": {"cart": {"n": 3}},
    "pre_context": ["a"],
}
V2_SPAN = {
    "trace_id": TRACE,
    "span_id": SPAN,
    "parent_span_id": None,
    "name": "/checkout",
    "is_segment": True,
    "status": "error",
    "start_timestamp": NOW - 3,
    "end_timestamp": NOW,
    "attributes": {
        "sentry.op": attr("pageload"),
        "sentry.segment.id": attr(SPAN),
        "user.email": attr("ada@example.com"),
        "sentry.status.message": attr("internal_error"),
        "sentry.release": attr("web@1"),
        "lcp": attr(1.5),
    },
}
LOG = {
    "timestamp": NOW,
    "trace_id": TRACE,
    "level": "warn",
    "body": "low stock",
    "severity_number": 13,
    "attributes": {
        "sentry.sdk.name": attr("sentry.javascript.node"),
        "sentry.trace.parent_span_id": attr(SPAN),
        "sentry.environment": attr("test"),
    },
}
FEEDBACK = {
    "message": "broken",
    "contact_email": "ada@example.com",
    "name": "Ada",
    "associated_event_id": EVENT.upper(),
}

# (item type, payload): shaped as sentry-python and the JS SDKs send them.
PAYLOADS = [
    (
        "event",
        {
            "event_id": EVENT,
            "timestamp": NOW,
            "platform": "python",
            "level": "error",
            "transaction": "/api/orders",
            "release": "shop@1.2.3",
            "environment": "test",
            "sdk": {"name": "sentry.python", "version": "2.75.0"},
            "user": USER,
            "tags": {"region": "eu"},
            "fingerprint": ["{{ default }}"],
            "exception": {
                "values": [
                    {
                        "type": "RuntimeError",
                        "value": "declined",
                        "mechanism": {"handled": False},
                        "stacktrace": {"frames": [FRAME]},
                    }
                ]
            },
            "breadcrumbs": {"values": [{"timestamp": NOW - 1, "message": "GET /cart"}]},
            "contexts": {"trace": {"trace_id": TRACE, "span_id": SPAN}},
            "request": {"url": "http://localhost/api", "method": "POST", "headers": {"host": "localhost"}},
        },
    ),
    (
        "transaction",
        {
            "type": "transaction",
            "event_id": EVENT,
            "transaction": "/api/orders",
            "start_timestamp": NOW - 2,
            "timestamp": NOW,
            "platform": "python",
            "sdk": {"name": "sentry.python.fastapi", "version": "2.75.0"},
            "user": USER,
            "request": {"url": "http://localhost/api", "method": "GET"},
            "tags": {"a": "b"},
            "contexts": {
                "trace": {
                    "trace_id": TRACE,
                    "span_id": SPAN,
                    "parent_span_id": "a" * 16,
                    "op": "http.server",
                    "status": "ok",
                    "data": {"thread.name": "main"},
                }
            },
            "spans": [span(1), span(2)],
            "measurements": {"lcp": {"value": 1.5, "unit": "millisecond"}},
        },
    ),
    ("span", {"version": 2, "ingest_settings": {"infer_ip": "auto"}, "items": [V2_SPAN]}),
    (
        "span",
        {
            "trace_id": TRACE,
            "span_id": SPAN,
            "segment_id": SPAN,
            "op": "ui.load",
            "description": "x",
            "start_timestamp": NOW - 1,
            "timestamp": NOW,
            "data": {"a": 1},
        },
    ),
    ("log", {"items": [LOG]}),
    (
        "session",
        {
            "sid": "7c7b6a5e-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
            "did": "42",
            "init": True,
            "status": "exited",
            "started": "2025-10-09T08:53:20Z",
            "timestamp": NOW,
            "errors": 0,
            "duration": 1.5,
            "attrs": {"release": "shop@1.2.3", "environment": "test"},
        },
    ),
    (
        "sessions",
        {
            "aggregates": [{"started": "2025-10-09T08:53:00Z", "exited": 3, "errored": 1, "did": "42"}],
            "attrs": {"release": "shop@1.2.3", "environment": "test"},
        },
    ),
    (
        "replay_event",
        {
            "type": "replay_event",
            "replay_id": EVENT,
            "segment_id": 0,
            "timestamp": NOW,
            "replay_start_timestamp": NOW - 5,
            "urls": ["http://localhost/"],
            "trace_ids": [TRACE],
            "error_ids": [],
            "platform": "javascript",
            "sdk": SDK,
            "user": USER,
            "contexts": {"browser": {"name": "Chrome"}},
        },
    ),
    ("user_report", {"event_id": EVENT, "name": "Ada", "email": "ada@example.com", "comments": "it broke"}),
    (
        "feedback",
        {
            "event_id": EVENT,
            "timestamp": NOW,
            "platform": "javascript",
            "contexts": {"feedback": FEEDBACK, "trace": {"trace_id": TRACE, "span_id": SPAN}},
        },
    ),
    (
        "client_report",
        {"timestamp": NOW, "discarded_events": [{"reason": "queue_overflow", "category": "error", "quantity": 2}]},
    ),
    ("check_in", {"check_in_id": EVENT, "monitor_slug": "nightly", "status": "ok"}),
]
RAW_ITEMS = [
    (
        {
            "type": "attachment",
            "filename": "log.txt",
            "content_type": "text/plain",
            "attachment_type": "event.attachment",
        },
        b"hello",
    ),
    ({"type": "replay_recording"}, b'{"segment_id":0}\n\x78\x9c\x03\x00\x00\x00\x00\x01'),
]
ENVELOPE_HEADER = {
    "event_id": EVENT,
    "sent_at": "2025-10-09T08:53:21Z",
    "sdk": SDK,
    "trace": {"trace_id": TRACE, "public_key": "k", "sample_rate": "1", "sampled": "true"},
}

# Any JSON value, with the members that broke the collector made likely:
# integers past 64 bits, floats that are no time, ids in upper case.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=40),
    st.integers(-(2**70), 2**70),
    st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, -(2**63), -(2**63) - 1, 0, -1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1.7e12, 1e308, -1e308, 253402300800.0, NOW + 2 * 86400]),
    st.sampled_from(
        [
            TRACE.upper(),
            SPAN.upper(),
            "9EC79C33-EC99-42AB-8353-589FCB2E04DC",
            "10000-01-01T00:00:00Z",
            "0001-01-01T00:00:00",
            "2025-10-09T08:53:20+14:00",
            "NaN",
            "{{auto}}",
            "\x00\r\n",
        ]
    ),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


class Deep:
    """Lists nested `depth` deep: written into the JSON text by dumps()."""

    def __init__(self, depth: int):
        self.depth = depth


# orjson writes at most 254 levels and reads 1,023; repr() stops near 1,000.
DEPTHS = (10, 254, 255, 600, 1000, 1022)
any_json = st.one_of(json_values, st.sampled_from(DEPTHS).map(Deep))


def paths(value, path=()):
    """Every place in a document a value could be replaced."""
    yield path
    if isinstance(value, dict):
        for key, child in value.items():
            yield from paths(child, (*path, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from paths(child, (*path, i))


def replaced(doc, path, value):
    if not path:
        return value
    copy = list(doc) if isinstance(doc, list) else dict(doc)
    copy[path[0]] = replaced(doc[path[0]], path[1:], value)
    return copy


def dumps(value) -> bytes:
    # Python's encoder writes what orjson's refuses to: integers past 64
    # bits, NaN and Infinity, as an attacker can.
    text = json.dumps(value, allow_nan=True, default=lambda deep: f"<deep {deep.depth}>")
    for depth in DEPTHS:
        text = text.replace(f'"<deep {depth}>"', "[" * depth + "]" * depth)
    return text.encode()


@st.composite
def poisoned_envelopes(draw) -> Envelope:
    """An envelope of one SDK-shaped item with 1-3 fields of its envelope
    header, item header or payload replaced by any JSON value."""
    items = [({"type": t}, p) for t, p in PAYLOADS] + RAW_ITEMS
    item_header, payload = draw(st.sampled_from(items))
    doc = {"header": ENVELOPE_HEADER, "item_header": item_header, "payload": payload}
    for _ in range(draw(st.integers(1, 3))):
        # The item type stays a string: parse refuses anything else (400).
        places = [p for p in paths(doc) if len(p) > 1 and p != ("item_header", "type")]
        if isinstance(doc["payload"], bytes):
            places = [p for p in places if p[0] != "payload"]
        doc = replaced(doc, draw(st.sampled_from(places)), draw(any_json))
    body = doc["payload"] if isinstance(doc["payload"], bytes) else dumps(doc["payload"])
    return Envelope(doc["header"] if isinstance(doc["header"], dict) else {}, [Item(doc["item_header"], body)])


def assert_fits(table: str, column: str, value, latest: float) -> None:
    kind = schema.TABLES[table]["columns"][column]
    if value is None:
        return
    assert type(value) is kind, (table, column, value)
    if kind is str:
        value.encode("utf-8")  # no lone surrogates: SQLite refuses them
        if column in ID_COLUMNS:
            assert value == value.lower() and "-" not in value, (table, column, value)
    elif kind is int:
        assert INT64_MIN <= value <= INT64_MAX, (table, column, value)
    elif kind is float:
        # Every float column is a time: seconds since the epoch, at most a day ahead.
        assert math.isfinite(value) and 0 <= value <= latest, (table, column, value)


@pytest.fixture(scope="module")
def db():
    conn = sqlite3.connect(":memory:")
    schema.create(conn)
    yield conn
    conn.close()


def store(db, rows: dict) -> None:
    """Binds every value as the writer does, then forgets the rows."""
    try:
        for table, table_rows in rows.items():
            for row in table_rows:
                sql = f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})"
                db.execute(sql, list(row.values()))
    finally:
        db.rollback()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(poisoned_envelopes())
def test_any_value_anywhere_normalizes_to_rows_that_fit(db, envelope):
    records = normalize(envelope, "1", "127.0.0.1", received_at=NOW)
    latest = NOW + FUTURE_SLACK
    for table, rows in records.rows.items():
        for row in rows:
            for column, value in row.items():
                assert_fits(table, column, value, latest)
    # What ingest does next with the rows cannot raise either.
    summaries.summarize(records.rows)
    Batch(envelope={}, rows=records.rows).packet()
    store(db, records.rows)


def test_every_float_column_is_a_time():
    # fit() and the rule beside normalize.values.EARLIEST treat every float as a time.
    floats = {c for spec in schema.TABLES.values() for c, kind in spec["columns"].items() if kind is float}
    times = {
        "timestamp",
        "start_timestamp",
        "end_timestamp",
        "root_start_timestamp",
        "received_at",
        "started",
        "last_seen",
    }
    assert floats <= times


def rows_of(item_type: str, payload, header=None) -> dict:
    envelope = Envelope(header or {}, [Item({"type": item_type}, dumps(payload))])
    return normalize(envelope, "1", received_at=NOW).rows


@pytest.mark.parametrize("value", [2**63, 2**64 - 1, -(2**63) - 1, True, 3.0, "7", 2**70])
@pytest.mark.parametrize(
    "item_type, payload, table, column",
    [
        ("log", lambda v: {"items": [{"body": "x", "severity_number": v}]}, "logs", "severity_number"),
        ("session", lambda v: {"sid": "s", "errors": v}, "sessions", "errors"),
        ("replay_event", lambda v: {"replay_id": EVENT, "segment_id": v}, "replays", "segment_id"),
        ("client_report", lambda v: {"discarded_events": [{"quantity": v}]}, "client_reports", "quantity"),
    ],
)
def test_integer_columns_take_only_int64_integers(item_type, payload, table, column, value):
    (row,) = rows_of(item_type, payload(value))[table]
    assert row[column] is None


def test_replay_recording_header_segment_id_past_int64_is_dropped():
    item = Item({"type": "replay_recording"}, b'{"segment_id":18446744073709551615}\n\x00')
    envelope = Envelope({"event_id": EVENT}, [item])
    (row,) = normalize(envelope, "1", received_at=NOW).rows["replay_recordings"]
    assert row["segment_id"] is None


@pytest.mark.parametrize(
    "value, stored",
    [
        (NOW - 0.5, NOW - 0.5),
        (int(NOW), NOW),
        ("2025-10-09T08:53:20Z", 1760000000.0),
        ("2025-10-09T08:53:20.250+00:00", 1760000000.25),
        (NOW + 3600, NOW + 3600),  # a client clock an hour ahead
        (NOW * 1000, None),  # milliseconds
        (1e308, None),
        (-1.0, None),
        (NOW + 2 * 86400, None),
        ("9999-12-31T23:59:59Z", None),
        ("0001-01-01T00:00:00", None),
        ("yesterday", None),
        (True, None),
        ([NOW], None),
    ],
)
def test_times_are_seconds_between_the_epoch_and_a_day_ahead(value, stored):
    (row,) = rows_of("event", {"event_id": EVENT, "message": "m", "timestamp": value})["events"]
    assert row["timestamp"] == stored


def test_ids_are_lower_case_without_dashes():
    upper = {
        **dict(PAYLOADS)["transaction"],
        "event_id": "9EC79C33-EC99-42AB-8353-589FCB2E04DC",
        "contexts": {"trace": {"trace_id": TRACE.upper(), "span_id": SPAN.upper(), "parent_span_id": "A" * 16}},
        "spans": [{**span(1), "span_id": "ABCDEF01234567", "parent_span_id": SPAN.upper(), "trace_id": TRACE.upper()}],
    }
    rows = rows_of("transaction", upper)
    root, child = rows["spans"]
    ids = (root["trace_id"], root["span_id"], root["parent_span_id"], root["event_id"])
    assert ids == (TRACE, SPAN, "a" * 16, EVENT)
    ids = (child["trace_id"], child["span_id"], child["parent_span_id"], child["segment_id"])
    assert ids == (TRACE, "abcdef01234567", SPAN, SPAN)
    assert rows["transactions"][0]["event_id"] == EVENT and rows["transactions"][0]["trace_id"] == TRACE


def test_envelope_event_id_is_lower_case_for_every_item_that_uses_it():
    envelope = parse(
        b'{"event_id":"9EC79C33-EC99-42AB-8353-589FCB2E04DC"}\n{"type":"attachment"}\nhi\n'
        b'{"type":"replay_recording"}\n{"segment_id":1}\n'
    )
    rows = normalize(envelope, "1", received_at=NOW).rows
    assert envelope.event_id == EVENT
    assert rows["attachments"][0]["event_id"] == EVENT and rows["replay_recordings"][0]["replay_id"] == EVENT


@pytest.mark.parametrize("bad_id", [{"a": 1}, [TRACE], None, ""])
def test_spans_without_usable_ids_are_skipped_not_stored_half(bad_id):
    payload = {
        "version": 2,
        "items": [
            {"trace_id": bad_id, "span_id": SPAN},
            {"trace_id": TRACE, "span_id": bad_id},
            {"trace_id": TRACE, "span_id": SPAN, "name": "kept"},
        ],
    }
    (row,) = rows_of("span", payload)["spans"]
    assert row["description"] == "kept"


def test_json_deeper_than_orjson_writes_fails_the_item_alone():
    deep = "[" * 300 + "]" * 300
    envelope = Envelope(
        {},
        [
            Item({"type": "event"}, f'{{"event_id":"{EVENT}","extra":{deep}}}'.encode()),
            Item({"type": "session"}, b'{"sid":"s"}'),
        ],
    )
    rows = normalize(envelope, "1", received_at=NOW).rows
    assert "cannot store as JSON" in rows["item_failures"][0]["reason"]
    assert rows["sessions"][0]["sid"] == "s"
    assert orjson.loads(orjson.dumps(rows["sessions"][0])) == rows["sessions"][0]


@pytest.mark.parametrize(
    "field, value",
    [
        ("fingerprint", "[{nest}]"),
        ("exception", '[{{"type":{nest}}}]'),
        ("exception", '[{{"type":"E","value":{nest}}}]'),
    ],
)
def test_values_nested_past_what_repr_walks_fail_the_item_alone(field, value):
    # Grouping turns these into text; 1,000 levels exhaust Python's recursion.
    value = value.format(nest="[" * 1000 + "]" * 1000)
    event = f'{{"event_id":"{EVENT}","{field}":{value}}}'.encode()
    envelope = Envelope({}, [Item({"type": "event"}, event), Item({"type": "session"}, b'{"sid":"s"}')])
    rows = normalize(envelope, "1", received_at=NOW).rows
    assert len(rows["item_failures"]) == 1 and rows["sessions"][0]["sid"] == "s"


def test_types_without_a_handler_are_kept_raw_and_limits_are_by_type():
    assert set(HANDLERS) <= set(ItemType) and set(ITEM_LIMITS) <= set(ItemType)
    too_big = b"x" * (ITEM_LIMITS[ItemType.CHECK_IN] + 1)
    envelope = Envelope(
        {},
        [
            Item({"type": "check_in"}, b"{}"),
            Item({"type": "brand_new"}, b"\x00raw"),
            Item({"type": "check_in"}, too_big),
        ],
    )
    rows = normalize(envelope, "1", received_at=NOW).rows
    assert [(r["type"], r["payload"]) for r in rows["other_items"]] == [("check_in", b"{}"), ("brand_new", b"\x00raw")]
    assert [(f["item_index"], f["item_type"]) for f in rows["item_failures"]] == [(2, "check_in")]


def test_a_pageloads_web_vitals_reach_its_root_span():
    measurements = {"lcp": {"value": 2600.0, "unit": "millisecond"}, "cls": {"value": 0.05, "unit": ""}}
    transaction = {
        "type": "transaction",
        "transaction": "/checkout",
        "start_timestamp": NOW - 2,
        "timestamp": NOW - 1,
        "measurements": measurements,
        "contexts": {"trace": {"trace_id": "a" * 32, "span_id": "b" * 16, "op": "pageload"}},
    }
    (root,) = rows_of("transaction", transaction)["spans"]
    assert json.loads(root["data"])["measurements"] == measurements

"""Forwarding's pure rules: upstream DSNs, rate-limit headers, categories,
what ingest adds to the outbox, the header an upstream gets, the OTLP
messages, and the outbox chores on a real SQLite file."""

from __future__ import annotations

import orjson
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from collector.forward import destinations, otlp_export, rules
from collector.forward.ratelimits import ALL, RateLimits, parse_rate_limits, parse_retry_after
from collector.protocol.envelope import parse
from collector.storage import bodies, chores, schema

UPSTREAM = destinations.sentry("https://abc123@o1.ingest.sentry.io/42")


def test_dsn_gives_the_envelope_endpoint_and_key():
    assert UPSTREAM.url == "https://o1.ingest.sentry.io/api/42/envelope/"
    assert UPSTREAM.public_key == "abc123"
    assert UPSTREAM.name == "https://o1.ingest.sentry.io/42"
    assert "sentry_key=abc123, sentry_version=7, sentry_client=collector/" in UPSTREAM.auth_header()
    prefixed = destinations.sentry("http://k:secret@localhost:9000/sentry/7")
    assert prefixed.url == "http://localhost:9000/sentry/api/7/envelope/"
    assert prefixed.dsn == "http://k@localhost:9000/sentry/7"


@pytest.mark.parametrize(
    "dsn", ["", "https://o1.ingest.sentry.io/42", "https://k@host/", "ftp://k@h/1", "https://k@h:x/1"]
)
def test_unusable_dsn_is_refused_with_the_expected_form(dsn):
    with pytest.raises(destinations.InvalidDestination, match="invalid --forward DSN"):
        destinations.sentry(dsn)


def test_otlp_url_is_taken_back_to_its_base():
    assert destinations.otlp("http://otel:4318/v1/traces").url == "http://otel:4318"
    with pytest.raises(destinations.InvalidDestination):
        destinations.otlp("otel:4318")


def test_rate_limit_header_per_category_and_for_all():
    limits = parse_rate_limits("60:transaction;span:organization:quota, 5::key, junk, 10:error:project:x:ns", 1000.0)
    assert limits == {"transaction": 1060.0, "span": 1060.0, ALL: 1005.0, "error": 1010.0}


def test_retry_after_seconds_date_and_default():
    assert parse_retry_after("7", 0) == 7.0
    assert parse_retry_after("Thu, 01 Jan 1970 00:01:40 GMT", 40.0) == 60.0
    assert parse_retry_after("soon", 0) == 60.0


def test_a_bare_429_limits_everything_and_limits_run_out():
    limits = RateLimits()
    limits.update(200, {}, 0.0)
    assert limits.active(0.0) == {}
    limits.update(429, {"Retry-After": "3"}, 0.0)
    assert limits.active(1.0) == {ALL: 3.0}
    assert limits.active(3.5) == {}


ENVELOPE = (
    b'{"event_id":"aa","trace":{"environment":"staging","public_key":"local"}}\n'
    b'{"type":"event"}\n{"message":"x"}\n'
    b'{"type":"attachment","length":3}\nabc\n'
    b'{"type":"client_report"}\n{}\n'
)


def test_categories_of_items_once_each():
    assert rules.categories(parse(ENVELOPE)) == ["error", "attachment", "internal"]


def test_outbox_rows_one_per_destination_unless_the_environment_stays_local():
    envelope = parse(ENVELOPE)
    outbox = rules.Outbox((UPSTREAM, destinations.sentry("http://k@other/1")))
    rows = outbox.rows(envelope, ENVELOPE, {}, 5.0)
    assert [r["destination"] for r in rows] == [UPSTREAM.name, "http://other/1"]
    assert rows[0]["categories"] == ",error,attachment,internal,"
    assert bodies.unpack(rows[0]["body"], rows[0]["body_encoding"]) == ENVELOPE
    local = rules.Outbox((UPSTREAM,), frozenset({"staging"}))
    assert local.rows(envelope, ENVELOPE, {}, 5.0) == []
    # The rows' environments count too, not only the trace header's.
    assert local.rows(parse(b'{}\n{"type":"event"}\n{}\n'), b"", {"events": [{"environment": "staging"}]}, 5.0) == []


def test_large_bodies_are_compressed_and_come_back_whole():
    body = b"x" * 5000
    packed, encoding = bodies.pack(body)
    assert encoding == "zlib" and len(packed) < 100
    assert bodies.unpack(packed, encoding) == body


def test_upstream_gets_the_body_as_is_unless_it_names_a_dsn():
    assert rules.for_upstream(ENVELOPE, UPSTREAM) is ENVELOPE
    tunnelled = b'{"dsn":"http://local@127.0.0.1:8969/1","event_id":"aa"}\n{"type":"event"}\n{"a":1}\n'
    sent = rules.for_upstream(tunnelled, UPSTREAM)
    header, _, rest = sent.partition(b"\n")
    assert orjson.loads(header) == {"dsn": "https://abc123@o1.ingest.sentry.io/42", "event_id": "aa"}
    assert rest == tunnelled.partition(b"\n")[2]


def test_held_matches_whole_categories_only():
    held = rules.held(["span"])
    assert held(",transaction,span,")
    assert not held(",spans_extra,")


TRACE, ROOT, CHILD = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", "00f067aa0ba902b7"


def span_row(span_id, parent, op, status="ok", **extra):
    return {
        "trace_id": TRACE,
        "span_id": span_id,
        "parent_span_id": parent,
        "op": op,
        "description": f"{op} work",
        "start_timestamp": 1700000000.25,
        "timestamp": 1700000001.5,
        "status": status,
        "release": "shop@1.2",
        "sdk_name": "sentry.python",
        "environment": "prod",
        "data": orjson.dumps({"http.status": 500, "list": [1, "a"], "weird": {"deep": None}}).decode(),
        **extra,
    }


def test_spans_become_an_otlp_trace_request():
    rows = {"spans": [span_row(ROOT, None, "http.server"), span_row(CHILD, ROOT, "http.client", "internal_error")]}
    [(signal, body)] = otlp_export.requests(rows)
    assert signal == "traces"
    request = ExportTraceServiceRequest.FromString(body)
    [resource_spans] = request.resource_spans
    resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert resource["service.name"] == "shop" and resource["deployment.environment.name"] == "prod"
    root, child = resource_spans.scope_spans[0].spans
    assert root.trace_id == bytes.fromhex(TRACE) and root.span_id == bytes.fromhex(ROOT) and root.parent_span_id == b""
    assert child.parent_span_id == bytes.fromhex(ROOT)
    assert (root.kind, child.kind) == (Span.SPAN_KIND_SERVER, Span.SPAN_KIND_CLIENT)
    assert root.start_time_unix_nano == 1700000000250000000
    assert root.status.code == Status.STATUS_CODE_OK
    assert (child.status.code, child.status.message) == (Status.STATUS_CODE_ERROR, "internal_error")
    attributes = {a.key: a.value for a in root.attributes}
    assert attributes["http.status"].int_value == 500
    assert [v.string_value or v.int_value for v in attributes["list"].array_value.values] == [1, "a"]


def test_spans_with_bad_ids_are_left_out_and_logs_are_exported():
    rows = {
        "spans": [span_row("nothex!!nothex!!", None, "x"), span_row(ROOT, None, "x", trace_id="0" * 32)],
        "logs": [
            {
                "trace_id": TRACE,
                "timestamp": 2.0,
                "level": "warn",
                "severity_number": 13,
                "body": "disk low",
                "attributes": '{"free": 1.5}',
            }
        ],
    }
    [(signal, body)] = otlp_export.requests(rows)
    assert signal == "logs"
    [record] = ExportLogsServiceRequest.FromString(body).resource_logs[0].scope_logs[0].log_records
    assert (record.body.string_value, record.severity_number, record.severity_text) == ("disk low", 13, "warn")
    assert record.trace_id == bytes.fromhex(TRACE) and record.attributes[0].value.double_value == 1.5


@pytest.fixture
def conn(tmp_path):
    conn = schema.connect(str(tmp_path / "o.db"))
    schema.create(conn)
    return conn


def add(conn, destination, received_at, size):
    conn.execute(
        "INSERT INTO outbox (destination, received_at, categories, size, body) VALUES (?, ?, ',error,', ?, x'00')",
        (destination, received_at, size),
    )


def test_settle_deletes_and_uncounts(conn):
    for i in range(3):
        add(conn, "a", i, 10)
    conn.execute("INSERT INTO counters VALUES ('rows:outbox', 3)")
    assert chores.run(conn, "outbox.settle", ([1, 3, 99],)) == 2
    assert [r[0] for r in conn.execute("SELECT id FROM outbox")] == [2]
    assert conn.execute("SELECT value FROM counters WHERE name = 'rows:outbox'").fetchone()[0] == 1


def test_expire_drops_the_too_old_then_the_oldest_past_the_size_bound(conn):
    add(conn, "a", 1.0, 10)  # too old
    add(conn, "b", 50.0, 30)
    add(conn, "a", 60.0, 30)
    add(conn, "a", 70.0, 30)
    dropped = chores.run(conn, "outbox.expire", (10.0, 70))
    assert dropped == {"a": {"expired": 1}, "b": {"over_size": 1}}
    assert [r[0] for r in conn.execute("SELECT received_at FROM outbox ORDER BY id")] == [60.0, 70.0]
    assert chores.run(conn, "outbox.expire", (10.0, 70)) == {}

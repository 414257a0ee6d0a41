"""Spotlight's framing of an envelope (protocol/spotlight.py), from bytes alone."""

from __future__ import annotations

import uuid

import orjson

from collector.protocol.spotlight import envelope_id, envelope_json, event_name, inferred_source


def framed(*lines: bytes, user_agent: str | None = None):
    return orjson.loads(envelope_json(b"\n".join(lines) + b"\n", "the-id", user_agent))


def test_the_event_name_is_the_content_type_with_base64_when_asked():
    assert event_name(False) == "application/x-sentry-envelope"
    assert event_name(True) == "application/x-sentry-envelope;base64"


def test_ids_are_uuid_v7_in_time_order():
    first, later = envelope_id(1_700_000_000.0), envelope_id(1_700_000_000.5)
    assert uuid.UUID(first).version == 7 and uuid.UUID(first).variant == uuid.RFC_4122
    assert first < later


def test_json_payloads_are_parsed_and_get_their_items_type():
    header, items = framed(b'{"event_id":"e"}', b'{"type":"transaction"}', b'{"transaction":"GET /"}')
    assert header == {"event_id": "e", "__spotlight_envelope_id": "the-id", "__spotlight_inferred_source": "server"}
    assert items == [[{"type": "transaction"}, {"transaction": "GET /", "type": "transaction"}]]


def test_payloads_of_any_json_shape_or_none_are_kept_or_nulled():
    deep = b"[" * 300 + b"]" * 300
    _, items = framed(b"{}", b'{"type":"log"}', b"[1,2]", b'{"type":"event"}', b"not json", b'{"type":"event"}', deep)
    assert [payload for _, payload in items] == [[1, 2], None, None]


def test_statsd_is_text_and_an_attachment_with_an_odd_content_type_is_base64():
    _, items = framed(
        b"{}",
        b'{"type":"statsd"}',
        b"metric:1|c",
        b'{"type":"attachment","content_type":["text/plain"]}',
        b"abc",
    )
    assert items[0] == [{"type": "statsd", "content_type": "text/plain"}, {"data": "metric:1|c"}]
    assert items[1][1] == {"data": "YWJj"}


def test_a_body_that_is_not_an_envelope_is_not_framed():
    assert envelope_json(b"[1]\n", "the-id", None) is None


def test_the_source_follows_spotlights_order_of_signals():
    browser_ua = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"
    assert inferred_source({"sdk": {"name": "sentry.cocoa"}}, [], browser_ua) == "mobile"
    assert inferred_source({"sdk": {"name": "sentry.javascript.node"}}, [], browser_ua) == "browser"
    assert inferred_source({}, [{"tags": {"runtime": "browser"}}], "node") == "browser"
    assert inferred_source({}, [{"platform": ["python"]}, {"platform": "python"}], None) == "server"
    assert inferred_source({"sdk": {"name": "sentry.javascript.react"}}, [None, 3], "node") == "browser"
    assert inferred_source({"sdk": {"name": "sentry.javascript.nextjs"}}, [], None) == "server"
    assert inferred_source({"sdk": "not an object"}, [], None) == "server"

"""Refusals: one class per rule, each a 4xx, raised where the rule is
enforced; and the pure parts of the ingest endpoints that raise them."""

import base64
import inspect
import zlib

import pytest

from collector.ingest import batches, endpoints
from collector.protocol import refusals
from collector.protocol.endpoints import ENDPOINTS
from collector.protocol.envelope import parse
from collector.protocol.refusals import BodyTooLarge, InvalidBody, MalformedEnvelope, Refusal, TooManyItems

RULES = [
    cls for _, cls in inspect.getmembers(refusals, inspect.isclass) if issubclass(cls, Refusal) and cls is not Refusal
]


@pytest.mark.parametrize("rule", RULES, ids=lambda cls: cls.__name__)
def test_every_rule_is_a_4xx_with_its_reason(rule):
    refusal = rule("what the SDK got wrong")
    assert 400 <= refusal.status < 500
    assert refusal.reason == str(refusal) == "what the SDK got wrong"
    assert rule.__doc__, "each rule says in a sentence what it refuses"


def test_every_endpoint_has_a_handler():
    # Dispatch is an explicit table: an endpoint added to protocol.endpoints
    # without a handler would be a 500 on its first request.
    ingest = endpoints.Ingest(writer=None, stats={})
    for _, name in ENDPOINTS:
        assert callable(ingest._handler(name)), name


def test_more_items_than_any_sdk_sends_is_refused_whole():
    body = b"{}\n" + b'{"type":"session"}\n{}\n' * (endpoints.MAX_ITEMS + 1)
    with pytest.raises(TooManyItems) as refused:
        endpoints._parse_limited(body)
    assert refused.value.status == 413
    assert len(endpoints._parse_limited(b"{}\n" + b'{"type":"session"}\n{}\n' * endpoints.MAX_ITEMS).items) == 1000


@pytest.mark.parametrize(
    "body",
    [b"", b"  \n", b"[1, 2]", b'{"a": ', b"not base64 at all!", base64.b64encode(b"not zlib")],
)
def test_a_store_body_that_is_no_event_is_invalid(body):
    with pytest.raises(InvalidBody) as refused:
        endpoints._store_payload(body)
    assert refused.value.status == 400


def test_a_store_body_of_base64_zlib_json_is_read_and_bounded(monkeypatch):
    old_sdk_body = base64.b64encode(zlib.compress(b'{"message": "old sdk"}'))
    assert endpoints._store_payload(old_sdk_body) == {"message": "old sdk"}
    monkeypatch.setattr(endpoints, "MAX_DECOMPRESSED", 1000)
    bomb = base64.b64encode(zlib.compress(b" " * 1001))
    with pytest.raises(BodyTooLarge):
        endpoints._store_payload(bomb)


def test_an_envelope_header_that_cannot_be_written_back_is_malformed():
    # Nested deeper than orjson writes (it reads deeper than it writes).
    deep = b'{"a":' + b"[" * 300 + b"]" * 300 + b"}\n"
    envelope = parse(deep)
    # Checked where the batch is built, and before a raw body goes to the writer.
    with pytest.raises(MalformedEnvelope):
        batches.build(envelope, deep, "", "k", "1", None, None)
    with pytest.raises(MalformedEnvelope):
        batches.headers_json(envelope)

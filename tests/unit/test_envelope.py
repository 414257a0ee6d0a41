"""The envelope parser against every framing rule in PROTOCOL.md."""

import orjson
import pytest

from collector.protocol.envelope import Envelope, Item, ItemType, parse, serialize
from collector.protocol.refusals import MalformedEnvelope

HEADER = b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}'


def test_header_only_envelope_with_and_without_newline():
    assert parse(HEADER).items == []
    assert parse(HEADER + b"\n").items == []
    assert parse(HEADER).event_id == "9ec79c33ec9942ab8353589fcb2e04dc"


def test_empty_header_object_is_valid():
    env = parse(b'{}\n{"type":"session"}\n{"sid":"x"}\n')
    assert env.headers == {} and env.items[0].payload == b'{"sid":"x"}'


def test_unknown_header_keys_are_kept():
    env = parse(b'{"sent_at":"2026-11-28T00:00:00Z","future_key":[1,2]}\n')
    assert env.headers["future_key"] == [1, 2]


def test_explicit_length_reads_exactly_that_many_bytes():
    body = HEADER + b'\n{"type":"attachment","length":10}\n\xef\xbb\xbfHello\r\n\n{"type":"event","length":2}\n{}\n'
    env = parse(body)
    assert [i.payload for i in env.items] == [b"\xef\xbb\xbfHello\r\n", b"{}"]


def test_payload_with_length_may_contain_newlines():
    env = parse(HEADER + b'\n{"type":"attachment","length":5}\na\nb\nc\n')
    assert env.items[0].payload == b"a\nb\nc"


def test_implicit_length_runs_to_newline_or_end():
    env = parse(HEADER + b'\n{"type":"event"}\n{"a":1}\n{"type":"event"}\n{"b":2}')
    assert [i.payload for i in env.items] == [b'{"a":1}', b'{"b":2}']


def test_carriage_return_is_payload_not_line_end():
    env = parse(HEADER + b'\n{"type":"attachment"}\nab\r\n')
    assert env.items[0].payload == b"ab\r"


def test_zero_length_items_with_newline_and_at_eof():
    env = parse(HEADER + b'\n{"type":"attachment","length":0}\n\n{"type":"attachment","length":0}')
    assert [i.payload for i in env.items] == [b"", b""]


def test_item_header_at_end_of_body_has_empty_payload():
    env = parse(HEADER + b'\n{"type":"attachment"}')
    assert env.items[0].payload == b""


def test_unknown_item_types_are_kept():
    env = parse(HEADER + b'\n{"type":"something_new"}\nhello\n')
    assert env.items[0].type == "something_new" and env.items[0].payload == b"hello"
    assert env.items[0].type not in set(ItemType)


def test_item_types_are_the_strings_item_headers_hold():
    env = parse(HEADER + b'\n{"type":"transaction"}\n{}\n{"type":"replay_recording"}\n\n')
    # A table keyed by ItemType is looked up with the header's plain string.
    table = {ItemType.TRANSACTION: "t", ItemType.REPLAY_RECORDING: "r"}
    assert [table[item.type] for item in env.items] == ["t", "r"]
    assert ItemType("check_in") is ItemType.CHECK_IN and f"{ItemType.SPAN}" == "span"


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"", "empty envelope"),
        (b"not json\n", "invalid envelope header"),
        (b"[1,2]\n", "expected a JSON object"),
        (b'{"event_id":"x"\n', "invalid envelope header"),
        (HEADER + b"\nnot json\n{}\n", "invalid item header #1"),
        (HEADER + b'\n{"length":2}\n{}\n', 'missing "type"'),
        (HEADER + b'\n{"type":""}\n{}\n', 'missing "type"'),
        (HEADER + b'\n{"type":"event","length":50}\n{}\n', "declares length 50 but only 3 bytes follow"),
        (HEADER + b'\n{"type":"event","length":-1}\n{}\n', "non-negative integer"),
        (HEADER + b'\n{"type":"event","length":"2"}\n{}\n', "non-negative integer"),
        (HEADER + b'\n{"type":"event","length":2.0}\n{}\n', "non-negative integer"),
        (HEADER + b'\n{"type":"event","length":true}\n{}\n', "non-negative integer"),
        (HEADER + b'\n{"type":"event","length":99999999999999999999}\n{}\n', "invalid item header"),
        (HEADER + b'\n{"type":"event","length":1}\n{}\n', "missing newline after the 1-byte payload"),
        (b'{"a":"\xff\xfe"}\n', "invalid envelope header"),
        (b'{"a":1}\x00\n', "invalid envelope header"),
        (b"[" * 100_000 + b"\n", "invalid envelope header"),
    ],
)
def test_malformed_envelopes_are_rejected_with_a_reason(body, reason):
    with pytest.raises(MalformedEnvelope, match=reason.replace("(", r"\(").replace("[", r"\[")):
        parse(body)


def test_serialize_round_trips():
    env = Envelope({"event_id": "abc"}, [Item({"type": "event"}, b"{}"), Item({"type": "attachment"}, b"\n\nx")])
    again = parse(serialize(env))
    assert again.headers == env.headers
    assert [(i.type, i.payload) for i in again.items] == [("event", b"{}"), ("attachment", b"\n\nx")]
    assert orjson.loads(serialize(env).split(b"\n")[1])["length"] == 2

"""Dropped data, pure parts: the trace a failed item's kept bytes name, and
the note normalize leaves on a stored item Sentry would drop for its size."""

from __future__ import annotations

import orjson

from collector.ingest.normalize import ITEM_LIMITS, normalize
from collector.protocol.envelope import parse as parse_envelope
from collector.protocol.limits import OVER_SENTRY_LIMIT, SENTRY_LIMITS
from collector.read.dropped import reason_kind, trace_of

TRACE = "0123456789abcdef0123456789abcdef"


def test_trace_of_whole_json_cut_json_and_anything_else():
    assert trace_of(orjson.dumps({"contexts": {"trace": {"trace_id": TRACE.upper()}}})) == TRACE
    assert trace_of(orjson.dumps({"trace_id": "01234567-89ab-cdef-0123-456789abcdef"})) == TRACE
    cut = orjson.dumps({"spans": [{"trace_id": TRACE, "data": "x" * 100}]})[:80]
    assert trace_of(cut) == TRACE
    assert trace_of(orjson.dumps({"contexts": {"trace": {"trace_id": 42}}})) == "42"
    for nothing in (None, b"", b"not json", orjson.dumps([1, 2]), orjson.dumps({"trace_id": None})):
        assert trace_of(nothing) is None


def test_reasons_differing_in_numbers_are_one():
    assert reason_kind("item of 12 bytes exceeds the 10-byte limit") == reason_kind(
        "item of 99 bytes exceeds the 1-byte limit"
    )
    assert reason_kind(None) == "no reason given"


def _envelope(payload: bytes) -> bytes:
    return b'{}\n{"type":"transaction","length":%d}\n%s\n' % (len(payload), payload)


def test_a_transaction_over_sentrys_limit_is_stored_and_noted():
    padding = "x" * (SENTRY_LIMITS["transaction"] + 1)
    payload = orjson.dumps(
        {
            "event_id": "e" * 32,
            "contexts": {"trace": {"trace_id": TRACE, "span_id": "1" * 16}},
            "start_timestamp": 1.0,
            "timestamp": 2.0,
            "extra": {"p": padding},
        }
    )
    assert len(payload) < ITEM_LIMITS["transaction"]
    rows = normalize(parse_envelope(_envelope(payload)), "1").rows
    assert [r["trace_id"] for r in rows["transactions"]] == [TRACE]
    [note] = rows["item_failures"]
    assert note["reason"].startswith(OVER_SENTRY_LIMIT) and note["size"] == len(payload)
    assert trace_of(note["payload"]) == TRACE


def test_a_transaction_within_sentrys_limit_leaves_no_note():
    payload = orjson.dumps(
        {
            "event_id": "e" * 32,
            "contexts": {"trace": {"trace_id": TRACE, "span_id": "1" * 16}},
            "start_timestamp": 1.0,
            "timestamp": 2.0,
        }
    )
    assert "item_failures" not in normalize(parse_envelope(_envelope(payload)), "1").rows

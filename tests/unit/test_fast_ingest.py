"""The shortcuts of the ingest hot path give what the plain helpers give.

`spans.child_rows` takes common value shapes inline; `wire.values` reads a
whole row by itemgetter; trace summaries travel as plain fields. Each is
checked against the slow, obvious form, with any JSON value in any field.
"""

from __future__ import annotations

import pickle

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.ingest.normalize import MAX_ROWS, normalize
from collector.ingest.normalize.spans import child_rows
from collector.ingest.normalize.values import ItemError, as_id, json_or_none, timestamp
from collector.protocol.envelope import Envelope, Item
from collector.protocol.jsonshape import as_str
from collector.storage import summaries, wire
from tests.unit.test_normalize import json_values

LATEST = 2_000_000_000.0
SEGMENT = {"trace_id": "a" * 32, "span_id": "b" * 16}
COMMON = {"project_id": "1", "platform": "python", "sdk_name": "sentry.python", "user_email": "ada@example.com"}
FIELDS = ("span_id", "trace_id", "parent_span_id", "op", "description", "start_timestamp", "timestamp", "status")


def reference_row(span) -> dict | None:
    """A classic child span's row, built by the helpers alone."""
    if not isinstance(span, dict) or as_id(span.get("span_id")) is None:
        return None
    return {
        **COMMON,
        "trace_id": as_id(span.get("trace_id")) or SEGMENT["trace_id"],
        "span_id": as_id(span.get("span_id")),
        "parent_span_id": as_id(span.get("parent_span_id")),
        "segment_id": SEGMENT["span_id"],
        "is_segment": 0,
        "op": as_str(span.get("op")),
        "description": as_str(span.get("description")),
        "start_timestamp": timestamp(span.get("start_timestamp"), LATEST),
        "timestamp": timestamp(span.get("timestamp"), LATEST),
        "status": as_str(span.get("status")),
        "tags": json_or_none(span.get("tags")),
        "data": json_or_none(span.get("data")),
        "origin": "transaction",
        "event_id": None,
        "dsc": None,
    }


# Spans whose fields hold any JSON, beside the usual shapes (ids in any case,
# floats in and out of range, NaN) that the inline paths take.
usual = st.one_of(
    st.sampled_from(["c" * 16, "C" * 16, "9EC79C33-EC99-42AB", "", "-"]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.5, LATEST, LATEST + 1, 1.7e9]),
)
spans = st.one_of(
    json_values, st.fixed_dictionaries({}, optional={f: st.one_of(usual, json_values) for f in (*FIELDS, "data")})
)


@settings(max_examples=400, deadline=None)
@given(st.lists(spans, max_size=6))
def test_child_rows_equal_the_helpers_rows(given_spans):
    # A value no JSON column can hold (an integer past 64 bits) fails the
    # item either way.
    try:
        expected = [row for row in map(reference_row, given_spans) if row is not None]
    except ItemError as e:
        with pytest.raises(ItemError, match=str(e)):
            child_rows(given_spans, SEGMENT, COMMON, "transaction", LATEST)
        return
    assert child_rows(given_spans, SEGMENT, COMMON, "transaction", LATEST) == expected


def test_child_rows_stop_one_past_the_limit():
    many = [{"span_id": f"{i:016x}"} for i in range(50)]
    assert len(child_rows(many, SEGMENT, COMMON, "transaction", LATEST, limit=10)) == 11


def test_a_transaction_past_the_row_cap_fails_alone():
    children = [{"span_id": f"{i:016x}", "start_timestamp": 1.0, "timestamp": 2.0} for i in range(MAX_ROWS + 5)]
    event = {"type": "transaction", "contexts": {"trace": {"trace_id": "a" * 32, "span_id": "b" * 16}}}
    big = Item({"type": "transaction"}, orjson.dumps({**event, "spans": children}))
    small = Item({"type": "transaction"}, orjson.dumps({**event, "spans": children[:3]}))
    records = normalize(Envelope({}, [big, small]), "1", received_at=LATEST)
    assert len(records.rows["spans"]) == 4
    (failure,) = records.rows["item_failures"]
    assert failure["item_index"] == 0 and f"more than {MAX_ROWS} rows" in failure["reason"]


@pytest.mark.parametrize("table", sorted(wire.ROW_COLUMNS))
def test_values_read_whole_and_partial_rows_alike(table):
    columns = wire.ROW_COLUMNS[table]
    whole = {c: f"v{i}" for i, c in enumerate(columns)}
    partial = {c: v for i, (c, v) in enumerate(whole.items()) if i % 2}
    for row in (whole, partial, {}):
        assert wire.values(table, {**row, "not_a_column": 1}) == tuple(row.get(c) for c in columns)


def test_trace_summaries_travel_whole():
    root = summaries.Root("GET /", "http.server", True, 1.5)
    summary = summaries.TraceSummary(1.0, 2.0, root, 3, {"e"}, {"sdk"}, [{"id": "1"}], {"prod"}, {"1.0"})
    packet = wire.Packet(("envelope",), {"spans": [("a",)]}, {"t": summary, "u": summaries.TraceSummary()})
    sent = wire.frame(packet)
    received = pickle.loads(sent[wire.LENGTH.size :])
    assert received == packet
    assert isinstance(received.traces["t"].root, summaries.Root)

"""Export: a trace's stored rows back into envelopes that ingest turns into
the same rows, and a file of them that splits back into envelopes, whatever
the stored values hold."""

from __future__ import annotations

from collections import defaultdict

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector.ingest.normalize import normalize
from collector.protocol.envelope import parse, serialize
from collector.protocol.envelope_files import split
from collector.read.export import export_file, trace_envelopes
from collector.storage import schema
from tests import sdk_payloads

IDS = sdk_payloads.fresh_ids(0xE1)
NOW = sdk_payloads.now()
ATTACHMENT = b'\n{}\n\x00\xff{"type": 1}\n'
TABLES = {
    "spans": "spans",
    "transactions": "transactions",
    "events": "events",
    "logs": "logs",
    "attachments": "attachments",
    "sessions": "sessions",
    "replays": "replays",
    "recordings": "replay_recordings",
    "feedback": "feedback",
}


def _documents() -> list[dict]:
    error = sdk_payloads.error_event(IDS, NOW)
    error["items"].append([{"type": "attachment", "filename": "a.bin", "length": len(ATTACHMENT)}, ATTACHMENT])
    error["items"].append(sdk_payloads.session(IDS, NOW)["items"][0])
    names = ("span_container", "log_container", "replay_event", "feedback")
    return [sdk_payloads.transaction(IDS, NOW), error, *(sdk_payloads.PAYLOADS[n](IDS, NOW) for n in names)]


def ingested(bodies: list[bytes], client_ip: str) -> dict:
    """The rows ingest makes of `bodies`, as `trace_export_rows` reads them
    back (every column of the table, the envelope's number as its id)."""
    tables = defaultdict(list)
    for number, body in enumerate(bodies, 1):
        records = normalize(parse(body), "1", client_ip)
        assert "item_failures" not in records.rows, records.rows.get("item_failures")
        for table, rows in records.rows.items():
            tables[table] += [{**dict.fromkeys(schema.columns(table)), **row, "envelope_id": number} for row in rows]
    return {"trace_id": IDS["trace"], **{key: tables[table] for key, table in TABLES.items()}}


def _without(rows: list[dict], *columns: str) -> list[dict]:
    return sorted(({k: v for k, v in row.items() if k not in columns} for row in rows), key=repr)


@pytest.fixture(scope="module")
def stored() -> dict:
    return ingested([sdk_payloads.serialize(doc) for doc in _documents()], "10.0.0.7")


def test_ingesting_the_exported_envelopes_gives_the_same_rows(stored):
    again = ingested([serialize(e) for e in trace_envelopes(stored)], "192.0.2.99")

    assert _without(again["spans"], "envelope_id", "data") == _without(stored["spans"], "envelope_id", "data")
    for key in ("events", "transactions"):
        # `data` differs only by the address ingest filled in, now written out.
        assert _without(again[key], "envelope_id", "data") == _without(stored[key], "envelope_id", "data")
    for key in ("logs", "attachments", "sessions", "replays", "recordings", "feedback"):
        assert _without(again[key], "envelope_id") == _without(stored[key], "envelope_id"), key
    # The address the first collector filled in for the SDK (infer_ip) stays the sender's.
    assert {row["user_ip"] for row in again["events"] + again["spans"]} == {"10.0.0.7"}


def test_a_transaction_gets_its_spans_back_and_a_v2_error_status_its_reason(stored):
    stored = {**stored, "spans": [dict(row) for row in stored["spans"]]}
    page = next(row for row in stored["spans"] if row["span_id"] == IDS["page"])
    page["status"] = "deadline_exceeded"
    envelopes = {e.items[0].type: e for e in trace_envelopes(stored)}

    transaction = orjson.loads(envelopes["transaction"].items[0].payload)
    assert [s["span_id"] for s in transaction["spans"]] == [IDS["child"], IDS["child2"]]
    assert {s["parent_span_id"] for s in transaction["spans"]} == {IDS["segment"]}
    assert transaction["contexts"]["trace"]["parent_span_id"] == IDS["client"]
    assert envelopes["transaction"].headers["trace"]["public_key"] == "k"

    container = orjson.loads(envelopes["span"].items[0].payload)
    root = next(s for s in container["items"] if s["span_id"] == IDS["page"])
    assert root["status"] == "error"
    assert root["attributes"]["sentry.status.message"] == {"type": "string", "value": "deadline_exceeded"}


def test_a_file_of_envelopes_splits_where_each_begins_whatever_its_payloads_hold(stored):
    envelopes = trace_envelopes(stored)
    data = export_file(stored)

    pieces = split(data)

    assert pieces == [serialize(e) for e in envelopes]
    assert any(ATTACHMENT in piece for piece in pieces)


def test_a_file_an_sdk_wrote_without_lengths_is_one_envelope():
    body = b'{"event_id":"' + IDS["event"].encode() + b'"}\n{"type":"event"}\n{"message":"x"}\n'
    assert split(body) == [body]
    assert split(b"not json at all") == [b"not json at all"]


# Anything SQLite can hand back for a column, and JSON text of any shape in
# the JSON columns (at most the 254 levels ingest's encoder writes).
sqlite_values = st.one_of(
    st.none(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.binary(max_size=20),
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False), st.text()),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
json_texts = st.one_of(
    json_values.map(lambda v: orjson.dumps(v).decode()),
    st.just("[" * 254 + "]" * 254),
    st.just("{not json"),
)
JSON_COLUMNS = {"data", "tags", "dsc", "attributes", "trace_ids", "urls"}


@st.composite
def hostile_rows(draw, stored):
    rows = {key: [dict(row) for row in stored[key]] for key in TABLES}
    for _ in range(draw(st.integers(1, 6))):
        key = draw(st.sampled_from([k for k in TABLES if rows[k]]))
        row = draw(st.sampled_from(rows[key]))
        column = draw(st.sampled_from(sorted(row)))
        row[column] = draw(json_texts if column in JSON_COLUMNS else sqlite_values)
    return {"trace_id": stored["trace_id"], **rows}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_hostile_stored_values_still_export_valid_envelopes(stored, data):
    rows = data.draw(hostile_rows(stored))

    for piece in split(export_file(rows)):
        envelope = parse(piece)
        assert isinstance(envelope.headers["trace"], dict)
        for item in envelope.items:
            if item.type not in ("attachment", "replay_recording", "replay_video"):
                assert isinstance(orjson.loads(item.payload), dict), item

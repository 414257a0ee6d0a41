"""What the writer process makes of a raw envelope: the packet the server
would have built, or, when building fails, why, without stopping the writer."""

import logging

from collector.ingest import batches
from collector.protocol.envelope import parse
from collector.storage import wire
from collector.storage.client import Batch
from helpers import EVENT_ID, envelope, event_item

BODY = envelope(event_item("in the writer"))


def raw(body: bytes = BODY) -> batches.RawEnvelope:
    # As Ingest._batch sends it, stamped as Ingest.handle stamps it.
    sent = batches.RawEnvelope(body, "gzip", "key", "7", "127.0.0.1", "sentry.python/2.75.0", False)
    stamped = Batch(raw=sent)
    stamped.stamp(1_700_000_000.5, "envelope")
    return stamped.raw


def test_the_writer_makes_the_packet_the_server_would_have():
    made = batches.prepare_in_writer(raw())
    built = batches.build(parse(BODY), BODY, "gzip", "key", "7", "127.0.0.1", "sentry.python/2.75.0")
    built.stamp(1_700_000_000.5, "envelope")
    assert isinstance(made, wire.Packet)
    assert made == built.packet()
    row = dict(zip(wire.ROW_COLUMNS["envelopes"], made.envelope, strict=True))
    assert row["received_at"] == 1_700_000_000.5 and row["endpoint"] == "envelope"
    assert row["project_id"] == "7" and row["content_encoding"] == "gzip"
    assert [r[0] for r in made.rows["events"]] == [EVENT_ID]


def test_an_envelope_that_cannot_be_built_fails_alone_and_is_logged(monkeypatch, caplog):
    def broken(*args):
        raise RuntimeError("a bug in normalize")

    monkeypatch.setattr(batches, "normalize", broken)
    with caplog.at_level(logging.ERROR, logger=batches.__name__):
        answer = batches.prepare_in_writer(raw())
    assert answer == "internal error while ingesting; the collector's log has the traceback"
    assert "a bug in normalize" in caplog.text

"""Forwarding between two real collectors: the second plays Sentry (with
--keep-bodies, to compare bodies byte for byte), goes down and comes back,
and the forwarding one is restarted in between: nothing is lost, nothing
arrives twice."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
import uuid
import zlib

import orjson
import pytest

from helpers import Collector


class ArgsCollector(Collector):
    """A collector subprocess started with extra `serve` options."""

    def __init__(self, db, *args):
        super().__init__(db)
        self.args = list(args)

    def start(self):
        # As Collector.start, with our options: Popen is what it calls.
        real = subprocess.Popen

        def popen(command, **kwargs):
            return real([*command, *self.args], **kwargs)

        subprocess.Popen = popen
        try:
            return super().start()
        finally:
            subprocess.Popen = real


def envelope(event_id: str, *items: tuple[dict, bytes], header=None) -> bytes:
    parts = [orjson.dumps(header or {"event_id": event_id})]
    for item_header, payload in items:
        parts += [orjson.dumps({**item_header, "length": len(payload)}), payload]
    return b"\n".join(parts) + b"\n"


def error(message: str, **header) -> tuple[str, bytes]:
    event_id = uuid.uuid4().hex
    event = orjson.dumps({"event_id": event_id, "message": message, "level": "error"})
    return event_id, envelope(event_id, ({"type": "event"}, event), header={"event_id": event_id, **header})


def stored_bodies(db) -> dict[str, bytes]:
    """Envelope bodies the upstream kept, by event id (uncompressed)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT event_id, body, body_encoding FROM envelopes").fetchall()
    finally:
        conn.close()
    return {e: zlib.decompress(b) if enc == "zlib" else b for e, b, enc in rows}


def upstream_event_ids(db) -> list[str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [r[0] for r in conn.execute("SELECT event_id FROM envelopes")]
    finally:
        conn.close()


@pytest.fixture
def pair(tmp_path):
    upstream = ArgsCollector(tmp_path / "upstream.db", "--keep-bodies")
    upstream_dsn = f"http://upkey@127.0.0.1:{upstream.port}/7"
    local = ArgsCollector(tmp_path / "local.db", "--forward", upstream_dsn)
    upstream.start()
    local.start()
    yield upstream, local, upstream_dsn
    local.stop()
    upstream.stop()


def post(collector, body: bytes, query="?sentry_key=k"):
    status, _, answer = collector.request(f"/api/1/envelope/{query}", body)
    assert status == 200, answer


def test_every_envelope_arrives_byte_for_byte(pair):
    upstream, local, upstream_dsn = pair
    sent = dict([error("plain"), error("with a trace header", trace={"trace_id": "ab" * 16, "public_key": "k"})])
    attachment_id = uuid.uuid4().hex
    event = orjson.dumps({"event_id": attachment_id, "message": "with a file"})
    binary = bytes(range(256)) * 40
    sent[attachment_id] = envelope(
        attachment_id,
        ({"type": "event"}, event),
        ({"type": "attachment", "filename": "dump.bin", "content_type": "application/octet-stream"}, binary),
    )
    replay_id = uuid.uuid4().hex
    replay_event = orjson.dumps({"type": "replay_event", "replay_id": replay_id, "segment_id": 0, "timestamp": 1.0})
    sent[replay_id] = envelope(
        replay_id,
        ({"type": "replay_event"}, replay_event),
        ({"type": "replay_recording"}, b'{"segment_id":0}\n' + zlib.compress(b'[{"type":4,"data":{}}]')),
    )
    for body in sent.values():
        post(local, body)
    tunnelled_id, tunnelled = error("through a tunnel", dsn=f"http://k@127.0.0.1:{local.port}/1")
    post(local, tunnelled, query="")
    upstream.wait_for(lambda s: s["envelopes"] == len(sent) + 1, timeout=20)
    stored = stored_bodies(upstream.db)
    for event_id, body in sent.items():
        assert stored[event_id] == body, event_id
    # A tunnelled envelope names the upstream's DSN, or the upstream would
    # refuse it (its key would differ from the request's); its items are as sent.
    header, _, items = stored[tunnelled_id].partition(b"\n")
    assert orjson.loads(header)["dsn"] == upstream_dsn
    assert items == tunnelled.partition(b"\n")[2]
    [lane] = local.wait_for(lambda s: s["forwarding"][0]["pending"] == 0)["forwarding"]
    assert (lane["forwarded"], lane["dropped"]) == (len(sent) + 1, 0)
    assert upstream.get("/api/stats")["rows"]["attachments"] == 1


def test_an_outage_and_a_restart_lose_nothing_and_send_nothing_twice(pair):
    upstream, local, _ = pair
    first = [error(f"before {i}") for i in range(5)]
    for _, body in first:
        post(local, body)
    upstream.wait_for(lambda s: s["envelopes"] == 5)
    upstream.stop()
    during = [error(f"during {i}") for i in range(20)]
    for _, body in during:
        post(local, body)
    local.wait_for(lambda s: s["forwarding"][0]["retrying"] > 0 and s["forwarding"][0]["last_error"])
    local.wait_for(lambda s: s["forwarding"][0]["pending"] == 20)
    local.stop()
    local.start()
    lane = local.get("/api/stats")["forwarding"][0]
    assert lane["forwarded"] == 0
    upstream.start()
    expected = {event_id for event_id, _ in first + during}
    upstream.wait_for(lambda s: s["envelopes"] >= len(expected), timeout=90)
    local.wait_for(lambda s: s["forwarding"][0]["pending"] == 0)
    time.sleep(1)
    ids = upstream_event_ids(upstream.db)
    assert sorted(ids) == sorted(expected)


def test_a_bad_dsn_is_refused_at_start(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "collector", "serve", "--db", str(tmp_path / "x.db"), "--forward", "https://nokey/1"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "expected https://PUBLIC_KEY@HOST/PROJECT_ID" in result.stderr


def test_doctor_says_what_waits_to_be_forwarded(tmp_path):
    from collector.storage import schema

    db = tmp_path / "d.db"
    conn = schema.connect(str(db))
    schema.create(conn)
    conn.execute(
        "INSERT INTO outbox (destination, received_at, categories, size, body) VALUES (?, ?, ',error,', 2048, x'00')",
        ("https://o1.ingest.sentry.io/42", time.time() - 600),
    )
    conn.close()
    result = subprocess.run(
        [sys.executable, "-m", "collector", "doctor", "--db", str(db)], capture_output=True, text=True, timeout=30
    )
    assert "forwarding: 1 envelope(s) (2 KB) waiting for https://o1.ingest.sentry.io/42, the oldest 10 min old" in (
        result.stdout
    )

"""SIGKILL in the middle of a load: every envelope answered 200 survives."""

import signal
import sqlite3
import threading
import time
import urllib.error
import urllib.request
import uuid

import orjson

from helpers import Collector


def _sender(url: str, acked: list, stop: threading.Event) -> None:
    while not stop.is_set():
        event_id = uuid.uuid4().hex
        body = (
            orjson.dumps({"event_id": event_id})
            + b'\n{"type":"event"}\n'
            + orjson.dumps(
                {
                    "event_id": event_id,
                    "message": "under load",
                    "contexts": {"trace": {"trace_id": uuid.uuid4().hex, "span_id": "1" * 16}},
                }
            )
            + b"\n"
        )
        try:
            with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=5) as r:
                if r.status == 200:
                    acked.append(event_id)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return  # the server is gone


def test_sigkill_loses_nothing_that_was_acknowledged(tmp_path):
    c = Collector(tmp_path / "c.db").start()
    acked: list[str] = []
    stop = threading.Event()
    threads = [
        threading.Thread(target=_sender, args=(c.url + "/api/1/envelope/?sentry_key=k", acked, stop)) for _ in range(8)
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while len(acked) < 300 and time.monotonic() < deadline:
        time.sleep(0.05)
    c.proc.send_signal(signal.SIGKILL)  # mid-load: requests are in flight
    c.proc.wait(10)
    stop.set()
    for t in threads:
        t.join(10)
    assert len(acked) >= 300, "the load never got going"

    with sqlite3.connect(c.db) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = {row[0] for row in db.execute("SELECT event_id FROM events")}
    missing = set(acked) - stored
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged envelopes lost"

    # And the file opens and serves again.
    again = Collector(tmp_path / "c.db").start()
    try:
        assert again.get("/api/stats")["rows"]["events"] == len(stored)
    finally:
        again.stop()

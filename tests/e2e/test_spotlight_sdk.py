"""The real sentry-sdk in Spotlight mode (no DSN) reports to this collector,
and Spotlight-style clients read what it sent from GET /stream."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
from urllib.parse import urlsplit

import sentry_sdk.spotlight

ENVELOPE = "application/x-sentry-envelope"
# No DSN and no sample rate: Spotlight mode samples everything by itself.
APP = """
import sys
import sentry_sdk

sentry_sdk.init(spotlight=sys.argv[1])
with sentry_sdk.start_transaction(name="spotlight checkout", op="task") as transaction:
    with sentry_sdk.start_span(op="db.query", name="SELECT 1"):
        pass
    try:
        1 / 0
    except ZeroDivisionError as e:
        sentry_sdk.capture_exception(e)
sentry_sdk.flush()
print(transaction.trace_id)
"""


def run_app(collector) -> str:
    out = subprocess.run(
        [sys.executable, "-c", APP, f"{collector.url}/stream"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    # The SDK logs a post to Spotlight that failed on stderr; none may fail.
    assert "[spotlight] WARNING" not in out.stderr and "[spotlight] ERROR" not in out.stderr, out.stderr
    return out.stdout.strip()


class StreamReader(threading.Thread):
    """Reads GET /stream as `spotlight tail` does, collecting each event."""

    def __init__(self, url: str, path: str = "/stream"):
        super().__init__(daemon=True)
        parts = urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        self.connection.request("GET", path)
        self.response = self.connection.getresponse()
        self.events: list[dict] = []
        self.enough = threading.Event()

    def run(self):
        current = {}
        for raw in iter(self.response.readline, b""):
            line = raw.decode().rstrip("\r\n")
            if line:
                if not line.startswith(":"):
                    field, _, value = line.partition(": ")
                    current[field] = value
                continue
            if current:
                self.events.append(current)
                current = {}
            if len(self.items()) >= 2:
                self.enough.set()
                return

    def items(self) -> dict[str, dict]:
        """Payloads by item type, from every envelope read so far."""
        return {header["type"]: payload for event in self.events for header, payload in json.loads(event["data"])[1]}


def test_sentry_sdks_default_spotlight_url_is_this_collectors_default_port_and_path():
    assert sentry_sdk.spotlight.DEFAULT_SPOTLIGHT_URL == "http://localhost:8969/stream"


def test_a_dsn_less_spotlight_app_is_stored_listed_and_streamed_as_spotlight_frames_it(collector):
    reader = StreamReader(collector.url)
    assert reader.response.status == 200
    assert reader.response.getheader("Content-Type").startswith("text/event-stream")
    reader.start()
    trace_id = run_app(collector)

    assert reader.enough.wait(20), reader.events
    reader.connection.close()
    items = reader.items()
    assert items["event"]["exception"]["values"][-1]["type"] == "ZeroDivisionError"
    assert items["transaction"]["transaction"] == "spotlight checkout"
    assert items["transaction"]["contexts"]["trace"]["trace_id"] == trace_id
    for event in reader.events:
        header, _ = json.loads(event["data"])
        assert event["event"] == ENVELOPE
        assert event["id"] == header["__spotlight_envelope_id"]
        assert header["__spotlight_inferred_source"] == "server"

    collector.wait_for(lambda s: s["rows"]["events"] >= 1 and s["rows"]["transactions"] >= 1)
    [listed] = [t for t in collector.get("/api/traces")["traces"] if t["trace_id"] == trace_id]
    assert listed["root"] == "spotlight checkout" and listed["error_count"] == 1
    [group] = collector.get("/api/errors")["groups"]
    assert group["latest_event_id"] == items["event"]["event_id"] and "ZeroDivisionError" in group["title"]


def test_spotlights_ui_connection_receives_the_sdks_envelopes_in_chromium(collector, page):
    # What Spotlight's UI does (ui/sidecar.ts): EventSource on
    # /stream?base64=1&client=spotlight-ui, one listener per content type.
    page.goto(collector.url + "/traces")
    page.evaluate(
        """() => {
            window.received = [];
            const source = new EventSource('/stream?base64=1&client=spotlight-ui');
            source.addEventListener('application/x-sentry-envelope;base64', (e) => {
                window.received.push({id: e.lastEventId, envelope: JSON.parse(e.data)});
            });
            return new Promise((resolve) => source.addEventListener('open', resolve));
        }"""
    )
    trace_id = run_app(collector)
    page.wait_for_function("() => window.received.flatMap(r => r.envelope[1]).length >= 2", timeout=20_000)
    received = page.evaluate("() => window.received")
    types = {header["type"]: payload for r in received for header, payload in r["envelope"][1]}
    assert types["transaction"]["contexts"]["trace"]["trace_id"] == trace_id
    assert types["event"]["exception"]["values"][-1]["value"] == "division by zero"
    assert all(r["id"] == r["envelope"][0]["__spotlight_envelope_id"] for r in received)
    assert page.errors == []

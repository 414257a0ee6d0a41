"""Share a trace: SDK-shaped envelopes in collector A, `collector export`
(and the trace page's download, byte for byte the same), `collector import`
into collector B, and B shows the same trace."""

from __future__ import annotations

import re
import subprocess
import sys

import orjson
import pytest

from tests import sdk_payloads
from tests.helpers import Collector

ATTACHMENT = b"line one\n\x00\xff binary\nline three"


def cli(*args: str) -> subprocess.CompletedProcess:
    """The command's result: stdout as bytes (an export is binary), stderr as text."""
    done = subprocess.run([sys.executable, "-m", "collector", *args], capture_output=True, timeout=120)
    done.stderr = done.stderr.decode()
    return done


@pytest.fixture
def second(tmp_path):
    c = Collector(tmp_path / "b.db").start()
    yield c
    c.stop()


def _post(collector: Collector, document: dict) -> None:
    status, _, body = collector.request("/api/1/envelope/?sentry_key=k", sdk_payloads.serialize(document))
    assert status == 200, body


def _fill(collector: Collector, ids: dict) -> None:
    """One trace as the SDKs send it: a Python transaction and error (with an
    attachment and the session update it ended), browser spans streamed,
    Node logs, a replay and feedback."""
    now = sdk_payloads.now()
    error = sdk_payloads.error_event(ids, now)
    error["items"].append([{"type": "attachment", "filename": "notes.bin", "length": len(ATTACHMENT)}, ATTACHMENT])
    error["items"].append(sdk_payloads.session(ids, now)["items"][0])
    for document in (
        sdk_payloads.transaction(ids, now),
        error,
        sdk_payloads.span_container(ids, now),
        sdk_payloads.log_container(ids, now),
        sdk_payloads.replay_event(ids, now),
        sdk_payloads.feedback(ids, now),
    ):
        _post(collector, document)


SPAN_FIELDS = ("span_id", "parent_span_id", "op", "description", "start_timestamp", "timestamp", "status", "sdk")


def _shown(trace: dict) -> dict:
    """What a colleague must see the same: spans, errors, users, logs, replays, feedback."""
    spans = sorted(({k: s.get(k) for k in SPAN_FIELDS} | {"user": s.get("user")} for s in trace["spans"]), key=str)
    return {
        "spans": spans,
        "errors": trace["errors"],
        "users": trace["users"],
        "logs": trace["logs"],
        "replays": [r["replay_id"] for r in trace["replays"]],
        "feedback": [(f["event_id"], f["message"]) for f in trace["feedback"]],
    }


def test_an_exported_trace_imports_into_another_collector_the_same(collector, second, tmp_path):
    ids = sdk_payloads.fresh_ids(0x5EED)
    _fill(collector, ids)
    original = collector.wait_for(
        lambda t: t["span_count"] >= 5 and t["log_count"] and t["errors"] and t["feedback"],
        f"/api/traces/{ids['trace']}",
    )

    out = tmp_path / "shared.envelopes"
    done = cli("export", ids["trace"].upper(), "--db", str(collector.db), "--out", str(out))
    assert done.returncode == 0, done.stderr
    page = collector.request(f"/traces/{ids['trace']}")[2].decode()
    link = re.search(r'<p class="hint" id="share">Share it: <a href="([^"]+)" download>', page).group(1)
    status, headers, downloaded = collector.request(link)
    assert status == 200
    assert headers["Content-Disposition"] == f'attachment; filename="trace-{ids["trace"]}.envelopes"'
    assert downloaded == out.read_bytes()
    via_url = cli("export", ids["trace"], "--url", collector.url, "--out", "-")
    assert via_url.returncode == 0 and via_url.stdout == downloaded

    loaded = cli("import", str(out), "--url", second.url)
    assert loaded.returncode == 0, loaded.stderr
    assert "6 of 6 envelopes stored" in loaded.stderr, loaded.stderr
    copy = second.wait_for(
        lambda t: t["span_count"] == original["span_count"] and t["log_count"] and t["feedback"],
        f"/api/traces/{ids['trace']}",
    )
    assert _shown(copy) == _shown(original)
    assert {s["span_id"] for s in copy["spans"]} == {s["span_id"] for s in original["spans"]}

    # The attachment's bytes and the session update came along with their error.
    error_id = original["errors"][0]["event_id"]
    assert second.get(f"/api/events/{error_id}")["exception"] == collector.get(f"/api/events/{error_id}")["exception"]
    stats = second.get("/api/stats")
    assert stats["rows"]["attachments"] == 1 and stats["rows"]["sessions"] == 1, stats
    status, _, again = second.request(f"/api/traces/{ids['trace']}/export")
    assert status == 200 and ATTACHMENT in again


def test_a_directory_of_raw_envelopes_imports_and_a_refused_one_is_reported(second, tmp_path):
    ids = sdk_payloads.fresh_ids(0xD1)
    now = sdk_payloads.now()
    folder = tmp_path / "bodies"
    folder.mkdir()
    (folder / "1-transaction.envelope").write_bytes(sdk_payloads.serialize(sdk_payloads.transaction(ids, now)))
    (folder / "2-broken.envelope").write_bytes(b'{"event_id": "x"}\n{"type": "event", "length": 999}\n{}\n')
    (folder / "3-error.envelope").write_bytes(sdk_payloads.serialize(sdk_payloads.error_event(ids, now)))

    loaded = cli("import", str(folder), "--url", second.url)

    assert loaded.returncode == 1
    assert "2 of 3 envelopes stored" in loaded.stderr, loaded.stderr
    assert "2-broken.envelope: refused 400" in loaded.stderr and "declares length 999" in loaded.stderr
    trace = second.wait_for(lambda t: t["errors"] and t["span_count"] >= 3, f"/api/traces/{ids['trace']}")
    assert trace["errors"][0]["event_id"] == ids["event"]


def test_export_of_an_unknown_trace_says_so(collector):
    done = cli("export", "f" * 32, "--db", str(collector.db))
    assert done.returncode == 1 and "no trace" in done.stderr
    status, _, body = collector.request("/api/traces/" + "f" * 32 + "/export")
    assert status == 404 and "no trace" in orjson.loads(body)["detail"]


def test_import_without_a_collector_says_how_to_start_one(tmp_path):
    out = tmp_path / "one.envelope"
    out.write_bytes(sdk_payloads.serialize(sdk_payloads.error_event(sdk_payloads.fresh_ids(3), sdk_payloads.now())))
    done = cli("import", str(out), "--url", "http://127.0.0.1:9")
    assert done.returncode == 1 and "collector serve" in done.stderr

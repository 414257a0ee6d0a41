"""`collector serve` as a user runs it: what it prints, how it stops."""

import signal
import socket
import sqlite3
import subprocess
import sys

import orjson

from helpers import Collector


def test_serve_prints_dsn_and_stops_cleanly_keeping_data(tmp_path):
    c = Collector(tmp_path / "c.db").start()
    body = b'{"event_id":"' + b"c" * 32 + b'"}\n{"type":"event"}\n' + orjson.dumps({"message": "kept"}) + b"\n"
    status, _, _ = c.request("/api/1/envelope/?sentry_key=k", body)
    assert status == 200
    out = c.stop(signal.SIGINT)
    assert c.proc.returncode == 0
    assert f"http://anykey@127.0.0.1:{c.port}/1" in out
    assert f"http://127.0.0.1:{c.port}/" in out
    assert "stopped" in out
    with sqlite3.connect(c.db) as db:
        assert db.execute("SELECT count(*) FROM events").fetchone() == (1,)
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    # Restarted on the same file, it serves what it stored before.
    again = Collector(tmp_path / "c.db").start()
    try:
        assert again.get("/api/events/" + "c" * 32)["message"] == "kept"
    finally:
        again.stop(signal.SIGTERM)
    assert again.proc.returncode == 0


def test_port_in_use_says_so(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        out = subprocess.run(
            [sys.executable, "-m", "collector", "serve", "--port", str(port), "--db", str(tmp_path / "x.db")],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert out.returncode != 0
    assert f"port {port}" in out.stderr and "in use" in out.stderr and "--port" in out.stderr


def test_ui_refuses_foreign_host_but_ingest_accepts_it(collector):
    # A DNS-rebinding page would send its own domain as Host.
    status, _, body = collector.request("/api/stats", headers={"Host": "evil.example:8969"})
    assert status == 403 and b"--allow-host evil.example" in body
    status, _, _ = collector.request("/traces", headers={"Host": "evil.example"})
    assert status == 403
    for host in ("localhost", f"127.0.0.1:{collector.port}", "[::1]:8969"):
        assert collector.request("/api/stats", headers={"Host": host})[0] == 200, host
    envelope = b'{}\n{"type":"session"}\n{"sid":"s"}\n'
    assert collector.request("/api/1/envelope/?sentry_key=k", envelope, headers={"Host": "10.0.2.2:8969"})[0] == 200

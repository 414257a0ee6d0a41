"""Readers never starve: the pages and the read API stay quick while 32
clients post transactions as fast as they can (make bench's load)."""

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import run as bench  # noqa: E402


def test_pages_and_api_answer_within_100_ms_p99_under_ingest_load(tmp_path):
    port = bench.free_port()
    server = bench.Server(["-m", "collector", "serve", "--port", str(port), "--db", str(tmp_path / "load.db")], port)
    try:
        result = asyncio.run(bench.load(server, "transaction", 4000, readers=True))
    finally:
        server.stop()
    assert result["ok"] == 4000, result["statuses"]
    assert result["reader_requests"] >= 20
    assert result["reader_p99_ms"] < 100, f"readers p99 {result['reader_p99_ms']:.0f} ms under load"

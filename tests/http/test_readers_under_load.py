"""Readers never starve: the pages and the read API keep answering while 32
clients post transactions as fast as they can (make bench's load). How
quickly they answer is `make bench`'s business, not a timed test's."""

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import run as bench


def test_pages_and_api_keep_answering_under_ingest_load(tmp_path):
    port = bench.free_port()
    server = bench.Server(["-m", "collector", "serve", "--port", str(port), "--db", str(tmp_path / "load.db")], port)
    try:
        result = asyncio.run(bench.load(server, "transaction", 4000, readers=True))
    finally:
        server.stop()
    assert result["ok"] == 4000, result["statuses"]
    assert result["reader_requests"] >= 20
    assert result["reader_statuses"] == {200: result["reader_requests"]}

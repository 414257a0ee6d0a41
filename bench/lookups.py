"""Trace lookups: a 10,000-span trace's API and page (server time, the bytes
its page needs, and how soon Chromium can scroll it), and one 21-span trace
looked up at 10k and at 1M spans in the file."""

from __future__ import annotations

import json
import os
import sqlite3
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

import chromium
import envelopes
from servers import INGEST_PATH, Server, running_collector


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=120) as r:
        return json.loads(r.read())


def server_ms(timing: str | None) -> float | None:
    """The collector's own time for a request, from its Server-Timing header."""
    return float(timing.split("dur=")[1].split(",")[0].split(";")[0]) if timing and "dur=" in timing else None


def post(server: Server, body: bytes) -> None:
    request = urllib.request.Request(
        server.url + INGEST_PATH, data=body, headers={"Content-Type": "application/x-sentry-envelope"}
    )
    with urllib.request.urlopen(request, timeout=120) as r:
        r.read()


def timed_get(server: Server, path: str, runs: int) -> dict:
    """Medians of the server's own time (Server-Timing) and of the whole
    request, after two untimed requests that warm caches and reader threads."""
    server_times, walls = [], []
    for i in range(runs + 2):
        start = time.perf_counter()
        with urllib.request.urlopen(server.url + path, timeout=120) as r:
            r.read()
            if i >= 2:
                walls.append((time.perf_counter() - start) * 1000)
                server_times.append(server_ms(r.headers["Server-Timing"]))
    return {"server_ms": statistics.median(server_times), "wall_ms": statistics.median(walls), "runs": runs}


def grow(db: Path, template_trace: str, total_spans: int) -> None:
    """Copies one stored 21-span trace, rows as the collector wrote them,
    under random ids (as real ids are, so the indexes grow as they would)
    until the file holds `total_spans` spans. Direct inserts: posting a
    million spans would take the collector many minutes."""
    from collector.storage import schema

    conn = schema.connect(str(db))
    conn.row_factory = sqlite3.Row
    span_cols, trace_cols = schema.columns("spans"), schema.columns("traces")
    spans = [dict(r) for r in conn.execute("SELECT * FROM spans WHERE trace_id = ?", (template_trace,))]
    summary = dict(conn.execute("SELECT * FROM traces WHERE trace_id = ?", (template_trace,)).fetchone())
    copies = (total_spans - conn.execute("SELECT count(*) FROM spans").fetchone()[0]) // len(spans)
    insert_span = f"INSERT INTO spans ({', '.join(span_cols)}) VALUES ({', '.join('?' * len(span_cols))})"
    insert_trace = f"INSERT INTO traces ({', '.join(trace_cols)}) VALUES ({', '.join('?' * len(trace_cols))})"

    def copy(n: int) -> tuple[list[tuple], tuple]:
        ids = os.urandom(22).hex()
        trace_id, prefix = ids[:32], ids[32:]
        shift = -(n + 1) * 0.05  # older than the template, which stays the newest trace

        def respan(span_id: str | None) -> str | None:
            # envelopes.fresh's span ids: 12 random hex digits, then the index.
            return span_id and prefix + span_id[12:]

        rows = []
        for s in spans:
            row = {
                **s,
                "trace_id": trace_id,
                "span_id": respan(s["span_id"]),
                "parent_span_id": respan(s["parent_span_id"]),
                "segment_id": respan(s["segment_id"]),
                "start_timestamp": s["start_timestamp"] + shift,
                "timestamp": s["timestamp"] + shift,
            }
            rows.append(tuple(row[c] for c in span_cols))
        t = {
            **summary,
            "trace_id": trace_id,
            "start_timestamp": summary["start_timestamp"] + shift,
            "end_timestamp": summary["end_timestamp"] + shift,
            "root_start_timestamp": summary["root_start_timestamp"] + shift,
        }
        return rows, tuple(t[c] for c in trace_cols)

    for first in range(0, copies, 5_000):  # one transaction per ~100,000 spans
        made = [copy(n) for n in range(first, min(copies, first + 5_000))]
        conn.execute("BEGIN")
        conn.executemany(insert_span, (row for rows, _ in made for row in rows))
        conn.executemany(insert_trace, (t for _, t in made))
        conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def scaling_phase(grow_to: int) -> dict:
    big, small = os.urandom(16).hex(), os.urandom(16).hex()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        db = Path(tmp) / "lookup.db"
        with running_collector(db) as server:
            # The 10,000-span trace as JS SDK v11 streams it, through ingest.
            for body in envelopes.span_stream(big, 10_000):
                post(server, body)
            post(server, envelopes.fresh("transaction", trace_id=small))
            result = {
                "spans_small": get_json(server.url + "/api/stats")["rows"]["spans"],
                "trace_api_10k_spans": timed_get(server, f"/api/traces/{big}", 7),
                "trace_page_10k_spans": timed_get(server, f"/traces/{big}", 7),
                "trace_page_browser": chromium.trace_page(server.url + f"/traces/{big}", runs=5),
                "lookup_small": timed_get(server, f"/api/traces/{small}", 31),
            }
        started = time.perf_counter()
        grow(db, small, grow_to)
        result["grow_seconds"] = time.perf_counter() - started
        with running_collector(db) as server:
            result["spans_large"] = get_json(server.url + "/api/stats")["rows"]["spans"]
            result["lookup_large"] = timed_get(server, f"/api/traces/{small}", 31)
    # Lookups take well under a millisecond, so Server-Timing carries 0.01 ms
    # steps. The whole-request ratio, with the client's share, is kept beside it.
    result["lookup_ratio"] = result["lookup_large"]["server_ms"] / result["lookup_small"]["server_ms"]
    result["lookup_ratio_wall"] = result["lookup_large"]["wall_ms"] / result["lookup_small"]["wall_ms"]
    return result

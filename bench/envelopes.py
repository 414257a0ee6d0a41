"""Realistic envelope bodies for the benchmark, with a fresh id per request.

Each kind is built once as a template; `fresh()` swaps in new ids with a
bytes replace, so the load generator spends its CPU on sending, not on
building JSON.
"""

from __future__ import annotations

import os
import time

import orjson

EVENT_ID = "e" * 32
TRACE_ID = "7" * 32


def _transaction() -> bytes:
    now = time.time()
    spans = [
        {
            "trace_id": TRACE_ID, "span_id": f"{i + 1:016x}", "parent_span_id": "a" * 16,
            "op": "db" if i % 2 else "http.client", "description": f"SELECT * FROM orders LIMIT {i}",
            "start_timestamp": now + i * 0.001, "timestamp": now + i * 0.001 + 0.0008,
        }
        for i in range(20)
    ]
    event = {
        "type": "transaction", "event_id": EVENT_ID, "transaction": "/api/orders/{order_id}", "platform": "python",
        "start_timestamp": now, "timestamp": now + 0.05, "environment": "bench", "release": "backend@2.0.0",
        "sdk": {"name": "sentry.python.fastapi", "version": "2.75.0"},
        "user": {"id": "42", "email": "ada@example.com"}, "tags": {"authenticated": "true"},
        "request": {"url": "http://127.0.0.1:8000/api/orders/17", "method": "GET", "headers": {"user-agent": "bench"}},
        "contexts": {"trace": {"trace_id": TRACE_ID, "span_id": "a" * 16, "op": "http.server", "status": "ok"},
                     "runtime": {"name": "CPython", "version": "3.11.7"}},
        "spans": spans,
    }
    return _envelope(event, "transaction")


def _error() -> bytes:
    now = time.time()
    frames = [
        {"filename": f"app/module_{i}.py", "function": f"handler_{i}", "module": f"app.module_{i}",
         "lineno": 100 + i, "in_app": i > 20, "context_line": f"    result = process_{i}(request, order_id)"}
        for i in range(30)
    ]
    crumbs = [{"timestamp": now - i, "category": "http", "level": "info", "message": f"GET /api/item/{i} -> 200", "data": {"status_code": 200}} for i in range(20)]
    event = {
        "event_id": EVENT_ID, "level": "error", "platform": "python", "timestamp": now, "environment": "bench",
        "sdk": {"name": "sentry.python.fastapi", "version": "2.75.0"}, "user": {"id": "42", "email": "ada@example.com"},
        "exception": {"values": [{"type": "RuntimeError", "value": "payment provider timed out", "stacktrace": {"frames": frames}}]},
        "breadcrumbs": {"values": crumbs}, "tags": {"authenticated": "true"},
        "contexts": {"trace": {"trace_id": TRACE_ID, "span_id": "a" * 16}, "os": {"name": "Linux"}, "runtime": {"name": "CPython"}},
    }
    return _envelope(event, "event")


def _envelope(event: dict, item_type: str) -> bytes:
    payload = orjson.dumps(event)
    header = {"event_id": EVENT_ID, "sent_at": "2026-11-28T00:00:00Z",
              "trace": {"trace_id": TRACE_ID, "public_key": "bench", "sample_rate": "1.0", "sampled": "true"}}
    return b"\n".join([orjson.dumps(header), orjson.dumps({"type": item_type, "length": len(payload)}), payload]) + b"\n"


TEMPLATES = {"transaction": _transaction(), "error": _error()}
# What each kind should weigh, per issue 5; checked so the numbers stay comparable.
EXPECTED_SIZE = {"transaction": 5_000, "error": 8_000}
for _kind, _body in TEMPLATES.items():
    assert abs(len(_body) - EXPECTED_SIZE[_kind]) / EXPECTED_SIZE[_kind] < 0.2, (_kind, len(_body))


def fresh(kind: str) -> bytes:
    """The template with a new event id and trace id."""
    ids = os.urandom(32).hex()
    return TEMPLATES[kind].replace(EVENT_ID.encode(), ids[:32].encode()).replace(TRACE_ID.encode(), ids[32:].encode())

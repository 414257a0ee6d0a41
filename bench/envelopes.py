"""Envelope bodies for the benchmark, shaped like what real SDKs send.

Each kind is serialized once, as a template holding placeholder ids;
`fresh()` swaps in new ids with `bytes.replace`, which keeps every item's
`length` right (the ids have the placeholders' width) and costs a few
microseconds instead of a JSON encode. The load generator builds all its
bodies before the clock starts.
"""

from __future__ import annotations

import os
import time

import orjson

# Placeholders: no run of these letters occurs anywhere else in a template.
EVENT_ID = b"X" * 32
TRACE_ID = b"Y" * 32
SPAN_PREFIX = b"Z" * 12  # + 4 hex digits: every span id of the envelope
SDK = {"name": "sentry.python.fastapi", "version": "2.75.0"}
ROUTE = "/api/orders/{order_id}"
USER = {"id": "4711", "email": "ada@example.com", "ip_address": "127.0.0.1"}
# What issue 5 says each kind weighs; checked (±20%) so runs stay comparable.
EXPECTED_SIZE = {"transaction": 5_000, "error": 8_000}


def _span_id(i: int) -> str:
    return SPAN_PREFIX.decode() + f"{i:04x}"


def _request() -> dict:
    return {
        "url": "http://127.0.0.1:8000/api/orders/17",
        "method": "GET",
        "headers": {
            "host": "127.0.0.1:8000",
            "user-agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0",
            "accept": "application/json",
        },
    }


def _envelope(event: dict, item_type: str) -> bytes:
    """Framed the way sentry-python frames it: header line, item header with
    an explicit length, payload."""
    payload = orjson.dumps(event)
    header = {
        "event_id": EVENT_ID.decode(),
        "sent_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "trace": {
            "trace_id": TRACE_ID.decode(),
            "environment": "production",
            "release": "backend@2.0.0",
            "public_key": "bench",
            "transaction": ROUTE,
            "sample_rate": "1.0",
            "sampled": "true",
            "sample_rand": "0.412233",
        },
    }
    item = {"type": item_type, "content_type": "application/json", "length": len(payload)}
    return b"\n".join([orjson.dumps(header), orjson.dumps(item), payload]) + b"\n"


def _common(now: float) -> dict:
    return {
        "event_id": EVENT_ID.decode(),
        "platform": "python",
        "timestamp": now,
        "server_name": "api-1",
        "environment": "production",
        "release": "backend@2.0.0",
        "transaction": ROUTE,
        "transaction_info": {"source": "route"},
        "sdk": SDK,
        "user": USER,
        "tags": {"region": "eu-west-1", "tenant": "acme"},
        "request": _request(),
    }


def _transaction() -> bytes:
    """A FastAPI request: middleware, handler, then 18 db/http/cache spans.

    Trimmed to issue 5's ~5 KB: sentry-python also repeats trace_id in
    every span, adds origin and thread data, and sends timestamps as
    RFC 3339 strings (~11 KB). The rows stored are the same.
    """
    start = round(time.time(), 6)
    kinds = [
        ("db", "SELECT * FROM orders WHERE id = %s", {"db.system": "postgresql"}),
        ("http.client", "GET https://pay.example.com/charges", {"http.status_code": 200}),
        ("cache.get", "order:17:items", {"cache.hit": True}),
    ]
    spans = []
    for i in range(1, 21):
        if i == 1:
            op, desc, data, parent = "middleware.starlette", "ServerErrorMiddleware", {"thread.name": "MainThread"}, 0
        elif i == 2:
            op, desc, data, parent = "function", "app.api.orders.get_order", {"code.function": "get_order"}, 1
        else:
            (op, desc, data), parent = kinds[i % 3], 2
        spans.append(
            {
                "span_id": _span_id(i),
                "parent_span_id": _span_id(parent),
                "op": op,
                "description": desc,
                "start_timestamp": round(start + i * 0.001, 6),
                "timestamp": round(start + i * 0.001 + 0.0008, 6),
                "data": data,
            }
        )
    event = {
        **_common(start + 0.045),
        "type": "transaction",
        "start_timestamp": start,
        "contexts": {
            "trace": {"trace_id": TRACE_ID.decode(), "span_id": _span_id(0), "op": "http.server", "status": "ok"},
            "runtime": {"name": "CPython", "version": "3.11.7"},
        },
        "spans": spans,
    }
    return _envelope(event, "transaction")


def _error() -> bytes:
    """An unhandled exception 30 frames deep, with 20 breadcrumbs."""
    now = round(time.time(), 6)
    frames = []
    for i in range(30):
        in_app = i >= 27
        module = f"app.services.step_{i}" if in_app else f"starlette.layer_{i}"
        frame = {
            "filename": module.replace(".", "/") + ".py",
            "function": f"handle_{i}",
            "module": module,
            "lineno": 40 + i,
            "in_app": in_app,
            "context_line": f"    return await self.next_{i}(scope)",
        }
        if in_app:
            frame["pre_context"] = [f"async def handle_{i}(self, scope):", "    order = await self.repo.get(scope)"]
            frame["post_context"] = ["", f"async def next_{i}(self, scope):"]
        frames.append(frame)
    crumbs = [
        {
            "timestamp": round(now - 1 + i * 0.01, 6),
            "category": "query",
            "message": f"SELECT total FROM orders WHERE id = {i}",
        }
        for i in range(20)
    ]
    event = {
        **_common(now),
        "level": "error",
        "exception": {
            "values": [
                {
                    "type": "RuntimeError",
                    "value": "payment provider timed out after 30s",
                    "mechanism": {"type": "starlette", "handled": False},
                    "stacktrace": {"frames": frames},
                }
            ]
        },
        "breadcrumbs": {"values": crumbs},
        "contexts": {
            "trace": {"trace_id": TRACE_ID.decode(), "span_id": _span_id(0), "op": "http.server"},
            "runtime": {"name": "CPython", "version": "3.11.7"},
        },
    }
    return _envelope(event, "event")


def _checked(kind: str, body: bytes) -> bytes:
    expected = EXPECTED_SIZE[kind]
    assert abs(len(body) - expected) <= 0.2 * expected, f"{kind} envelope is {len(body)} bytes, not ~{expected}"
    return body


TEMPLATES = {"transaction": _checked("transaction", _transaction()), "error": _checked("error", _error())}


def fresh(kind: str, trace_id: str | None = None) -> bytes:
    """The template with a new event id, span ids and trace id (or this one)."""
    ids = os.urandom(38).hex().encode()  # 12 + 32 + 32 hex digits
    trace = trace_id.encode() if trace_id else ids[44:]
    return TEMPLATES[kind].replace(SPAN_PREFIX, ids[:12]).replace(EVENT_ID, ids[12:44]).replace(TRACE_ID, trace)


def span_stream(trace_id: str, count: int, per_envelope: int = 1_000) -> list[bytes]:
    """One trace of `count` spans, streamed as JS SDK v11 does (v2 span
    items), in envelopes of `per_envelope` spans: a pageload and a tree of
    children ten wide."""
    start = time.time() - 60
    spans = []
    for i in range(count):
        attributes = {
            "sentry.op": {"type": "string", "value": "pageload" if i == 0 else "resource.script"},
            "sentry.segment.id": {"type": "string", "value": f"{1:016x}"},
            "user.email": {"type": "string", "value": "ada@example.com"},
            "http.url": {"type": "string", "value": f"https://app.example.com/static/chunk-{i}.js"},
        }
        spans.append(
            {
                "trace_id": trace_id,
                "span_id": f"{i + 1:016x}",
                "parent_span_id": None if i == 0 else f"{i // 10 + 1:016x}",
                "name": "/checkout" if i == 0 else f"/static/chunk-{i}.js",
                "is_segment": i == 0,
                "status": "ok",
                "start_timestamp": start + i * 0.001,
                "end_timestamp": start + i * 0.001 + (20 if i == 0 else 0.05),
                "attributes": attributes,
            }
        )
    header = orjson.dumps(
        {
            "sdk": {"name": "sentry.javascript.browser", "version": "11.12.0"},
            "trace": {"trace_id": trace_id, "public_key": "bench", "sample_rate": "1.0", "sampled": "true"},
        }
    )
    bodies = []
    for first in range(0, count, per_envelope):
        chunk = spans[first : first + per_envelope]
        payload = orjson.dumps({"version": 2, "items": chunk})
        item = orjson.dumps(
            {
                "type": "span",
                "item_count": len(chunk),
                "content_type": "application/vnd.sentry.items.span.v2+json",
                "length": len(payload),
            }
        )
        bodies.append(b"\n".join([header, item, payload]) + b"\n")
    return bodies

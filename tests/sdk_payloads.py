"""Envelopes shaped as the official SDKs send them (sentry-sdk 2.75,
@sentry/browser and @sentry/node 11.12), one per item type, as documents:
{"header": envelope header, "items": [[item header, payload], ...]}.

Each takes the ids to use, so every generated example is a trace of its own.
"""

from __future__ import annotations

import json
import time

PY_SDK = {
    "name": "sentry.python.fastapi",
    "version": "2.75.0",
    "integrations": ["fastapi", "starlette"],
    "packages": [{"name": "pypi:sentry-sdk", "version": "2.75.0"}],
    "settings": {"infer_ip": "auto"},
}
JS_SDK = {"name": "sentry.javascript.browser", "version": "11.12.0"}


def _dsc(ids: dict) -> dict:
    return {
        "trace_id": ids["trace"],
        "public_key": "k",
        "sample_rate": "1",
        "sampled": "true",
        "environment": "test",
        "release": "shop@1.2.3",
        "transaction": "/api/orders",
    }


def _request(url: str) -> dict:
    return {
        "url": url,
        "method": "POST",
        "query_string": "page=1",
        "cookies": {"session": "s"},
        "headers": {
            "host": "localhost:8000",
            "user-agent": "Mozilla/5.0",
            "sentry-trace": "0" * 32 + "-" + "1" * 16 + "-1",
            "baggage": "sentry-trace_id=" + "0" * 32 + ",sentry-sample_rate=1",
        },
        "data": {"item": 3},
        "env": {"REMOTE_ADDR": "127.0.0.1"},
    }


def error_event(ids: dict, now: float) -> dict:
    frame = {
        "filename": "app/orders.py",
        "abs_path": "/srv/app/orders.py",
        "module": "app.orders",
        "function": "create_order",
        "lineno": 42,
        "colno": 5,
        "in_app": True,
        "pre_context": ["def create_order(cart):", "    total = price(cart)"],
        "context_line": "    raise RuntimeError('payment declined')",
        "post_context": ["", "def price(cart):"],
        "vars": {"cart": {"items": 3}, "total": "12.50", "user_id": 42},
    }
    library = {
        **frame,
        "filename": "starlette/routing.py",
        "module": "starlette.routing",
        "function": "handle",
        "in_app": False,
    }
    event = {
        "event_id": ids["event"],
        "timestamp": now,
        "platform": "python",
        "level": "error",
        "logger": "app",
        "transaction": "/api/orders",
        "server_name": "dev",
        "release": "shop@1.2.3",
        "environment": "test",
        "exception": {
            "values": [
                {
                    "type": "ValueError",
                    "value": "card expired",
                    "module": "builtins",
                    "mechanism": {"type": "chained", "handled": True},
                },
                {
                    "type": "RuntimeError",
                    "value": "payment declined",
                    "module": "builtins",
                    "mechanism": {"type": "fastapi", "handled": False},
                    "stacktrace": {"frames": [library, frame]},
                },
            ]
        },
        "breadcrumbs": {
            "values": [
                {
                    "timestamp": now - 1,
                    "category": "http",
                    "type": "http",
                    "level": "info",
                    "message": "GET /api/cart",
                    "data": {"url": "http://localhost:8000/api/cart", "status_code": 200},
                },
                {"timestamp": now - 0.5, "category": "query", "message": "SELECT * FROM carts"},
            ]
        },
        "request": _request("http://localhost:8000/api/orders"),
        "user": {"id": "42", "email": "ada@example.com", "username": "ada", "ip_address": "{{auto}}"},
        "contexts": {
            "trace": {
                "trace_id": ids["trace"],
                "span_id": ids["segment"],
                "parent_span_id": ids["client"],
                "op": "http.server",
                "status": "internal_error",
            },
            "runtime": {"name": "CPython", "version": "3.11.7"},
            "os": {"name": "Linux"},
        },
        "tags": {"authenticated": "yes", "region": "eu"},
        "extra": {"cart": [1, 2, 3]},
        "sdk": PY_SDK,
        "fingerprint": ["{{ default }}"],
        "modules": {"fastapi": "0.110.0"},
    }
    return {
        "header": {"event_id": ids["event"], "sent_at": "2026-01-01T00:00:00.000Z", "trace": _dsc(ids)},
        "items": [[{"type": "event", "content_type": "application/json"}, event]],
    }


def transaction(ids: dict, now: float) -> dict:
    spans = [
        {
            "trace_id": ids["trace"],
            "span_id": ids["child"],
            "parent_span_id": ids["segment"],
            "op": "db",
            "origin": "auto.db",
            "description": "SELECT * FROM orders WHERE id = %s",
            "start_timestamp": now + 0.01,
            "timestamp": now + 0.02,
            "status": "ok",
            "data": {"db.system": "postgresql"},
            "tags": {"db": "main"},
        },
        {
            "trace_id": ids["trace"],
            "span_id": ids["child2"],
            "parent_span_id": ids["segment"],
            "op": "http.client",
            "description": "GET http://127.0.0.1:9000/stock",
            "start_timestamp": now + 0.03,
            "timestamp": now + 0.08,
            "data": {"url": "http://127.0.0.1:9000/stock", "http.method": "GET"},
        },
    ]
    event = {
        "type": "transaction",
        "event_id": ids["transaction"],
        "transaction": "/api/orders",
        "transaction_info": {"source": "route"},
        "platform": "python",
        "start_timestamp": now,
        "timestamp": now + 0.1,
        "release": "shop@1.2.3",
        "environment": "test",
        "contexts": {
            "trace": {
                "trace_id": ids["trace"],
                "span_id": ids["segment"],
                "parent_span_id": ids["client"],
                "op": "http.server",
                "status": "ok",
                "data": {"thread.name": "main"},
            }
        },
        "spans": spans,
        "request": _request("http://localhost:8000/api/orders"),
        "user": {"id": "42", "email": "ada@example.com"},
        "sdk": PY_SDK,
        "tags": [["authenticated", "yes"]],
        "measurements": {"ttfb": {"value": 12.5, "unit": "millisecond"}},
    }
    return {
        "header": {"event_id": ids["transaction"], "sent_at": "2026-01-01T00:00:00.000Z", "trace": _dsc(ids)},
        "items": [[{"type": "transaction"}, event]],
    }


def _attr(value) -> dict:
    kind = "string" if isinstance(value, str) else "boolean" if isinstance(value, bool) else "double"
    return {"type": kind, "value": value}


def span_container(ids: dict, now: float) -> dict:
    def span(span_id, parent, name, op, start, end, segment=False, **attrs):
        attributes = {
            "sentry.op": op,
            "sentry.release": "shop@1.2.3",
            "sentry.environment": "test",
            "user.email": "ada@example.com",
            "user.id": "42",
            "sentry.segment.id": ids["page"],
            **attrs,
        }
        return {
            "trace_id": ids["trace"],
            "span_id": span_id,
            "parent_span_id": parent,
            "name": name,
            "status": "ok",
            "start_timestamp": now + start,
            "end_timestamp": now + end,
            "is_segment": segment,
            "attributes": {k: _attr(v) for k, v in attributes.items()},
        }

    items = [
        span(ids["page"], None, "/checkout", "pageload", 0, 1.5, segment=True),
        span(
            ids["client"],
            ids["page"],
            "POST http://localhost:8000/api/orders",
            "http.client",
            0.2,
            0.6,
            **{"url.full": "http://localhost:8000/api/orders", "http.request.method": "POST"},
        ),
    ]
    return {
        "header": {"sdk": JS_SDK, "trace": {**_dsc(ids), "sampled": True}},
        "items": [
            [
                {"type": "span", "item_count": 2, "content_type": "application/vnd.sentry.items.span.v2+json"},
                {"version": 2, "items": items, "ingest_settings": {"infer_ip": "auto"}},
            ]
        ],
    }


def log_container(ids: dict, now: float) -> dict:
    logs = [
        {
            "timestamp": now + 0.3,
            "trace_id": ids["trace"],
            "span_id": ids["client"],
            "level": "info",
            "severity_number": 9,
            "body": "order created",
            "attributes": {"sentry.sdk.name": _attr("sentry.javascript.node"), "order.id": _attr(77.0)},
        }
    ]
    return {
        "header": {"sdk": {"name": "sentry.javascript.node", "version": "11.12.0"}},
        "items": [
            [{"type": "log", "item_count": 1, "content_type": "application/vnd.sentry.items.log+json"}, {"items": logs}]
        ],
    }


def session(ids: dict, now: float) -> dict:
    update = {
        "sid": ids["event"],
        "did": "42",
        "seq": 1,
        "init": True,
        "started": "2026-01-01T00:00:00.000Z",
        "timestamp": "2026-01-01T00:00:01.000Z",
        "duration": 1.0,
        "status": "exited",
        "errors": 0,
        "attrs": {"release": "shop@1.2.3", "environment": "test"},
    }
    return {"header": {"sent_at": "2026-01-01T00:00:01.000Z"}, "items": [[{"type": "session"}, update]]}


def replay_event(ids: dict, now: float) -> dict:
    replay = {
        "type": "replay_event",
        "replay_id": ids["event"],
        "segment_id": 0,
        "timestamp": now,
        "replay_start_timestamp": now - 5,
        "urls": ["http://localhost:3000/checkout"],
        "error_ids": [ids["event"]],
        "trace_ids": [ids["trace"]],
        "replay_type": "session",
        "platform": "javascript",
        "user": {"email": "ada@example.com"},
        "sdk": JS_SDK,
        "contexts": {"trace": {"trace_id": ids["trace"], "span_id": ids["page"]}},
        "request": {"url": "http://localhost:3000/"},
    }
    recording = b'{"segment_id":0}\n[{"type":4,"data":{"href":"http://localhost:3000/"},"timestamp":1}]'
    return {
        "header": {"event_id": ids["event"], "sdk": JS_SDK},
        "items": [
            [{"type": "replay_event"}, replay],
            [{"type": "replay_recording", "length": len(recording)}, recording],
        ],
    }


def feedback(ids: dict, now: float) -> dict:
    event = {
        "event_id": ids["event"],
        "timestamp": now,
        "platform": "javascript",
        "level": "info",
        "user": {"email": "ada@example.com"},
        "contexts": {
            "feedback": {
                "message": "The button does nothing",
                "contact_email": "ada@example.com",
                "name": "Ada",
                "url": "http://localhost:3000/checkout",
                "associated_event_id": ids["event"],
            },
            "trace": {"trace_id": ids["trace"], "span_id": ids["page"]},
        },
        "sdk": JS_SDK,
    }
    return {"header": {"event_id": ids["event"], "sdk": JS_SDK}, "items": [[{"type": "feedback"}, event]]}


def client_report(ids: dict, now: float) -> dict:
    report = {
        "timestamp": now,
        "discarded_events": [
            {"reason": "network_error", "category": "error", "quantity": 2},
            {"reason": "sample_rate", "category": "transaction", "quantity": 5},
        ],
    }
    return {"header": {"sdk": JS_SDK}, "items": [[{"type": "client_report"}, report]]}


PAYLOADS = {
    f.__name__: f
    for f in (error_event, transaction, span_container, log_container, session, replay_event, feedback, client_report)
}


def serialize(document) -> bytes:
    """The envelope's bytes. Standard json, not orjson: it writes NaN,
    Infinity and integers past 64 bits, as an attacker's client may."""
    if not isinstance(document, dict):
        return json.dumps(document, allow_nan=True).encode() + b"\n"
    lines = [json.dumps(document.get("header"), allow_nan=True).encode()]
    items = document.get("items")
    for pair in items if isinstance(items, list) else [items]:
        parts = pair if isinstance(pair, list) and len(pair) == 2 else [pair, None]
        for part in parts:
            lines.append(part if isinstance(part, bytes) else json.dumps(part, allow_nan=True).encode())
    return b"\n".join(lines) + b"\n"


def fresh_ids(seed: int, upper: bool = False) -> dict:
    ids = {
        "trace": f"{seed:032x}",
        "event": f"{seed ^ 0xE:032x}",
        "transaction": f"{seed ^ 0xF:032x}",
        "segment": f"{seed % 2**60 | 2**62:016x}",
        "child": f"{seed % 2**60 | 2**61:016x}",
        "child2": f"{seed % 2**60 | 2**60:016x}",
        "client": f"{seed % 2**60 | 3 << 60:016x}",
        "page": f"{seed % 2**60 | 5 << 60:016x}",
    }
    return {k: v.upper() for k, v in ids.items()} if upper else ids


def now() -> float:
    return time.time() - 10

"""Rows written straight into SQLite, as the writer (or an older version of
it) stores them: a healthy trace to poison one column at a time, and the
function that writes them."""

from __future__ import annotations

import sqlite3
import time

import orjson

from collector.storage import schema

NOW = time.time() - 30


def row_ids(case: int, variant: int) -> dict:
    return {
        "trace": f"{case:08x}" + "a" * 16 + f"{variant:08x}",
        "segment": f"5{case:07x}{variant:08x}",
        "child": f"6{case:07x}{variant:08x}",
        "event": f"e{case:07x}" + "b" * 16 + f"{variant:08x}",
        "transaction": f"f{case:07x}" + "c" * 16 + f"{variant:08x}",
    }


def healthy_rows(ids: dict) -> dict[str, list[dict]]:
    """A small trace as the writer stores it: a backend segment with a child
    http.client span, its transaction, an error, a log, an envelope, a report."""
    user = {"user_id": "42", "user_email": "ada@example.com", "user_username": "ada", "user_ip": "127.0.0.1"}
    sdk = {"sdk_name": "sentry.python.fastapi", "sdk_version": "2.75.0"}
    span = {
        "trace_id": ids["trace"],
        "segment_id": ids["segment"],
        "platform": "python",
        "environment": "test",
        "release": "backend@2",
        "project_id": "1",
        "origin": "transaction",
        "status": "ok",
        **sdk,
        **user,
    }
    dsc = orjson.dumps({"trace_id": ids["trace"], "sample_rate": "1", "sampled": "true"}).decode()
    return {
        "traces": [
            {
                "trace_id": ids["trace"],
                "start_timestamp": NOW,
                "end_timestamp": NOW + 1,
                "root_name": "/orders",
                "root_op": "http.server",
                "root_is_parentless": 1,
                "root_start_timestamp": NOW,
                "span_count": 2,
                "error_count": 1,
                "sdks": '["sentry.python.fastapi"]',
                "users": '[{"id": "42", "email": "ada@example.com"}]',
                "environments": '["test"]',
                "releases": '["backend@2"]',
                "last_seen": NOW,
            }
        ],
        "spans": [
            {
                **span,
                "span_id": ids["segment"],
                "parent_span_id": None,
                "is_segment": 1,
                "op": "http.server",
                "description": "/orders",
                "start_timestamp": NOW,
                "timestamp": NOW + 1,
                "event_id": ids["transaction"],
                "dsc": dsc,
                "tags": '{"authenticated": "yes"}',
                "data": '{"http.request.url": "http://localhost:8000/orders"}',
            },
            {
                **span,
                "span_id": ids["child"],
                "parent_span_id": ids["segment"],
                "is_segment": 0,
                "op": "http.client",
                "description": "GET http://127.0.0.1:9000/stock",
                "start_timestamp": NOW + 0.1,
                "timestamp": NOW + 0.5,
                "data": '{"url.full": "http://127.0.0.1:9000/stock"}',
            },
        ],
        "transactions": [
            {
                "event_id": ids["transaction"],
                "trace_id": ids["trace"],
                "span_id": ids["segment"],
                "name": "/orders",
                "op": "http.server",
                "start_timestamp": NOW,
                "timestamp": NOW + 1,
                "project_id": "1",
                "data": orjson.dumps(
                    {"request": {"headers": {"sentry-trace": f"{ids['trace']}-{ids['child']}-1"}}}
                ).decode(),
            }
        ],
        "events": [
            {
                "event_id": ids["event"],
                "trace_id": ids["trace"],
                "span_id": ids["segment"],
                "level": "error",
                "exception_type": "RuntimeError",
                "exception_value": "boom",
                "message": None,
                "fingerprint": "f" * 16,
                "title": "RuntimeError: boom",
                "transaction_name": "/orders",
                "timestamp": NOW + 0.9,
                "project_id": "1",
                "platform": "python",
                "environment": "test",
                "release": "backend@2",
                **sdk,
                **user,
                "data": orjson.dumps(
                    {
                        "exception": {
                            "values": [
                                {
                                    "type": "RuntimeError",
                                    "value": "boom",
                                    "stacktrace": {
                                        "frames": [
                                            {
                                                "function": "orders",
                                                "in_app": True,
                                                "context_line": "raise",
                                                "pre_context": ["a"],
                                                "vars": {"x": 1},
                                            }
                                        ]
                                    },
                                }
                            ]
                        },
                        "contexts": {"trace": {"trace_id": ids["trace"], "span_id": ids["segment"]}},
                    }
                ).decode(),
            }
        ],
        "logs": [
            {
                "trace_id": ids["trace"],
                "span_id": ids["segment"],
                "timestamp": NOW + 0.2,
                "level": "info",
                "severity_number": 9,
                "body": "hello",
                "attributes": '{"sentry.environment": "test"}',
                **sdk,
                "project_id": "1",
            }
        ],
        "envelopes": [
            {
                "received_at": NOW,
                "endpoint": "envelope",
                "project_id": "1",
                "event_id": ids["event"],
                **sdk,
                "item_count": 1,
            }
        ],
        "client_reports": [
            {
                "timestamp": NOW,
                "kind": "discarded_events",
                "reason": "network_error",
                "category": "error",
                "quantity": 3,
                "sdk_name": "sentry.python.fastapi",
                "project_id": "1",
            }
        ],
    }


def write_rows(path, rows: dict[str, list[dict]]) -> None:
    conn = sqlite3.connect(path)
    schema.create(conn)
    for table, table_rows in rows.items():
        for row in table_rows:
            conn.execute(
                f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", tuple(row.values())
            )
    conn.commit()
    conn.close()

"""No stored value takes a page down.

Two ways in: rows written straight into SQLite, as an older version (or a
bug) may have left them, with every column of the tables the pages read
replaced by values of the wrong type or range; and real SDK payloads with
any field replaced by any JSON value, posted through ingest (hypothesis).
Every page and API endpoint must then answer 200 (or 404 for what is not
stored), never 400 or 500.
"""

from __future__ import annotations

import sqlite3
import time
from urllib.parse import quote

import orjson
import pytest

from collector import schema

NOW = time.time() - 30

TEXT_POISON = [None, "", "<script>window.__x = 1</script>", "line\r\nbreak\x00nul", "ABCDEF0123456789" * 2, b"\xff\xfe blob", "x" * 3000]
NUMBER_POISON = [
    None, 1.7e12 + NOW, NOW * 1e6, 253402300800.0, -1.0, -1e300, 1e300, float("inf"), float("-inf"),
    2**63 - 1, -(2**63), "not a number", b"\x00\x01",
]
JSON_POISON = [
    None, "[1, 2]", "5", '"text"', "null", "true", "{bad json", '[["a", "b", "c"]]', '[["k", "v"], [1, 2]]',
    '{"a": {"b": [1, {"c": null}]}}', '{"url.full": 5, "http.url": ["x"], "url": {"a": 1}}',
    '{"sampled": [], "sample_rate": {}}', '["sentry.python", 5, null, {"email": 7}, ["x"]]', b"\xff",
    "1e999", "[" * 50 + "]" * 50, '{"request": {"headers": [["Sentry-Trace", "x"], [["nested"], 1], "x"]}}',
    '{"request": {"headers": "sentry-trace: x"}}', '{"request": {"headers": 5}}', '{"request": "GET /"}',
]
JSON_COLUMNS = {
    "spans": {"tags", "data", "dsc"}, "events": {"data"}, "transactions": {"data"}, "logs": {"attributes"},
    "traces": {"sdks", "users", "environments", "releases"},
}


def poisons(table: str, column: str) -> list:
    if column in JSON_COLUMNS.get(table, ()):
        return JSON_POISON + TEXT_POISON
    kind = schema.TABLES[table]["columns"][column]
    return NUMBER_POISON if kind in (int, float) else TEXT_POISON + [5, 1.5]


# --- healthy rows, one trace per case --------------------------------------------------


def _ids(case: int, variant: int) -> dict:
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
        "trace_id": ids["trace"], "segment_id": ids["segment"], "platform": "python", "environment": "test",
        "release": "backend@2", "project_id": "1", "origin": "transaction", "status": "ok", **sdk, **user,
    }
    dsc = orjson.dumps({"trace_id": ids["trace"], "sample_rate": "1", "sampled": "true"}).decode()
    return {
        "traces": [{
            "trace_id": ids["trace"], "start_timestamp": NOW, "end_timestamp": NOW + 1, "root_name": "/orders",
            "root_op": "http.server", "root_is_parentless": 1, "root_start_timestamp": NOW, "span_count": 2, "error_count": 1,
            "sdks": '["sentry.python.fastapi"]', "users": '[{"id": "42", "email": "ada@example.com"}]',
            "environments": '["test"]', "releases": '["backend@2"]', "last_seen": NOW,
        }],
        "spans": [
            {**span, "span_id": ids["segment"], "parent_span_id": None, "is_segment": 1, "op": "http.server", "description": "/orders",
             "start_timestamp": NOW, "timestamp": NOW + 1, "event_id": ids["transaction"], "dsc": dsc,
             "tags": '{"authenticated": "yes"}', "data": '{"http.request.url": "http://localhost:8000/orders"}'},
            {**span, "span_id": ids["child"], "parent_span_id": ids["segment"], "is_segment": 0, "op": "http.client",
             "description": "GET http://127.0.0.1:9000/stock", "start_timestamp": NOW + 0.1, "timestamp": NOW + 0.5,
             "data": '{"url.full": "http://127.0.0.1:9000/stock"}'},
        ],
        "transactions": [{
            "event_id": ids["transaction"], "trace_id": ids["trace"], "span_id": ids["segment"], "name": "/orders",
            "op": "http.server", "start_timestamp": NOW, "timestamp": NOW + 1, "project_id": "1",
            "data": orjson.dumps({"request": {"headers": {"sentry-trace": f"{ids['trace']}-{ids['child']}-1"}}}).decode(),
        }],
        "events": [{
            "event_id": ids["event"], "trace_id": ids["trace"], "span_id": ids["segment"], "level": "error",
            "exception_type": "RuntimeError", "exception_value": "boom", "message": None, "fingerprint": "f" * 16,
            "title": "RuntimeError: boom", "transaction_name": "/orders", "timestamp": NOW + 0.9, "project_id": "1",
            "platform": "python", "environment": "test", "release": "backend@2", **sdk, **user,
            "data": orjson.dumps({
                "exception": {"values": [{"type": "RuntimeError", "value": "boom", "stacktrace": {"frames": [
                    {"function": "orders", "in_app": True, "context_line": "raise", "pre_context": ["a"], "vars": {"x": 1}}]}}]},
                "contexts": {"trace": {"trace_id": ids["trace"], "span_id": ids["segment"]}},
            }).decode(),
        }],
        "logs": [{
            "trace_id": ids["trace"], "span_id": ids["segment"], "timestamp": NOW + 0.2, "level": "info", "severity_number": 9,
            "body": "hello", "attributes": '{"sentry.environment": "test"}', **sdk, "project_id": "1",
        }],
        "envelopes": [{"received_at": NOW, "endpoint": "envelope", "project_id": "1", "event_id": ids["event"], **sdk, "item_count": 1}],
        "client_reports": [{"timestamp": NOW, "kind": "discarded_events", "reason": "network_error", "category": "error",
                            "quantity": 3, "sdk_name": "sentry.python.fastapi", "project_id": "1"}],
    }


POISONED_TABLES = ["spans", "traces", "events", "transactions", "logs", "envelopes", "client_reports"]


def poisoned_database(path, table: str) -> tuple[list[str], list[str]]:
    """A database where, for each column of `table`, one trace holds rows of
    that table with the column replaced by each poison value (a trace
    summary row cannot have siblings: each poisoned one is a trace of its
    own). Returns the trace and event ids to visit."""
    conn = sqlite3.connect(path)
    schema.create(conn)
    trace_ids, event_ids = [], []
    for case, column in enumerate(c for c in schema.columns(table) if c not in ("id", "envelope_id")):
        base = healthy_rows(_ids(case, 0))
        rows = {t: list(r) for t, r in base.items()}
        for variant, value in enumerate(poisons(table, column), start=1):
            fresh = healthy_rows(_ids(case, variant))
            if table == "traces":
                rows["traces"].append({**fresh["traces"][0], column: value})
                trace_ids.append(fresh["traces"][0]["trace_id"])
                continue
            # Siblings in the case's trace, with their own ids.
            rows[table] += [{**r, "trace_id": base["traces"][0]["trace_id"], column: value} if "trace_id" in r and column != "trace_id"
                            else {**r, column: value} for r in fresh[table]]
            if table == "transactions":
                # A segment naming the transaction, so the doctor reads its request headers.
                rows["spans"].append({**fresh["spans"][0], "trace_id": base["traces"][0]["trace_id"]})
            event_ids += [fresh["events"][0]["event_id"]] if table == "events" else []
        trace_ids.append(base["traces"][0]["trace_id"])
        event_ids.append(base["events"][0]["event_id"])
        for name, table_rows in rows.items():
            for row in table_rows:
                conn.execute(f"INSERT OR IGNORE INTO {name} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", tuple(row.values()))
    conn.commit()
    conn.close()
    return trace_ids, event_ids


def _path(value) -> str:
    return quote(value if isinstance(value, str) else str(value), safe="")


async def assert_pages(client, paths) -> None:
    bad = []
    for path in paths:
        r = await client.get(path, allow_redirects=False)
        if r.status not in (200, 302, 404):
            bad.append((path, r.status, (await r.text())[:300]))
    assert not bad, bad


GLOBAL_PAGES = ["/", "/traces", "/errors", "/users", "/doctor", "/doctor?since=100000d", "/api/traces", "/api/stats", "/api/doctor",
                "/api/doctor?since=100000d", "/traces?has_errors=1&min_duration_ms=1"]


async def listed(client) -> tuple[list[str], list[str]]:
    """Trace ids and user keys the list pages link to."""
    traces = (await (await client.get("/api/traces?limit=1000")).json())["traces"]
    conn = sqlite3.connect(f"file:{client.db}?mode=ro", uri=True)
    users = [r[0] for r in conn.execute("SELECT DISTINCT coalesce(user_email, user_id, user_username) FROM events") if r[0]]
    conn.close()
    return [t["trace_id"] for t in traces if t["trace_id"]], users


@pytest.mark.parametrize("table", POISONED_TABLES)
async def test_poisoned_rows_of_an_older_database(make_client, tmp_path, table):
    trace_ids, event_ids = poisoned_database(tmp_path / "c.db", table)
    client = await make_client()
    listed_traces, users = await listed(client)
    assert len(listed_traces) >= len(set(trace_ids)) * 0.9
    pages = [*GLOBAL_PAGES, *(f"/traces?page={n}" for n in range(1, len(listed_traces) // 50 + 2))]
    for trace_id in {*trace_ids, *listed_traces}:
        pages += [f"/traces/{_path(trace_id)}", f"/api/traces/{_path(trace_id)}", f"/api/doctor?trace_id={_path(trace_id)}"]
    for event_id in event_ids:
        pages += [f"/events/{_path(event_id)}", f"/api/events/{_path(event_id)}", f"/search?q={_path(event_id)}"]
    pages += [f"/users/{_path(u)}" for u in users]
    await assert_pages(client, pages)

"""The MCP server answers a real `mcp` client session: over stdio
(`collector mcp --db FILE`, on a file a real collector filled) and over
streamable HTTP at the running collector's /mcp."""

from __future__ import annotations

import sys
import time

import httpx2
import orjson
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from helpers import post_envelope

BROWSER_TRACE = "a1" * 16
BACKEND_TRACE = "b2" * 16
WEB = {"name": "sentry.javascript.browser", "version": "11.12.0"}
PY = {"name": "sentry.python.fastapi", "version": "2.75.0"}
ADA = {"id": "42", "email": "ada@example.com"}
TOOLS = {"list_traces", "get_trace", "search_errors", "search_logs", "diagnose_trace", "user_journey"}


def store_checkout(collector) -> None:
    """A browser pageload whose fetch reached a backend that started a trace
    of its own (no sentry-trace header), and the error the browser raised."""
    t0 = time.time() - 60
    fetch = {
        "trace_id": BROWSER_TRACE,
        "span_id": "b000000000000002",
        "parent_span_id": "b000000000000001",
        "op": "http.client",
        "description": "POST http://127.0.0.1:8000/api/checkout",
        "start_timestamp": t0 + 0.1,
        "timestamp": t0 + 0.5,
        "data": {"url": "http://127.0.0.1:8000/api/checkout"},
    }
    pageload = transaction(BROWSER_TRACE, "b000000000000001", "pageload", "/cart", t0, WEB, spans=[fetch])
    backend = transaction(BACKEND_TRACE, "c000000000000001", "http.server", "/api/checkout", t0 + 0.2, PY)
    backend["request"] = {"url": "http://localhost:8000/api/checkout", "headers": [["Host", "localhost:8000"]]}
    error = {
        "event_id": "e" * 32,
        "level": "error",
        "timestamp": t0 + 0.6,
        "exception": {"values": [{"type": "CardDeclined", "value": "card 4242 declined"}]},
        "contexts": {"trace": {"trace_id": BROWSER_TRACE, "span_id": "b000000000000001"}},
        "user": ADA,
        "sdk": WEB,
    }
    for kind, payload in (("transaction", pageload), ("transaction", backend), ("event", error)):
        post_envelope(collector, {"event_id": payload["event_id"]}, ({"type": kind}, orjson.dumps(payload)))
    collector.wait_for(lambda s: s["rows"]["events"] >= 1 and s["rows"]["transactions"] >= 2)


def transaction(trace_id, span_id, op, name, start, sdk, spans=()) -> dict:
    return {
        "event_id": span_id * 2,
        "type": "transaction",
        "transaction": name,
        "start_timestamp": start,
        "timestamp": start + 1,
        "contexts": {"trace": {"trace_id": trace_id, "span_id": span_id, "op": op}},
        "spans": list(spans),
        "sdk": sdk,
        "user": ADA,
    }


async def text_of(session: ClientSession, tool: str, **arguments) -> str:
    result = await session.call_tool(tool, arguments)
    assert not result.is_error, result
    return "\n".join(block.text for block in result.content)


async def check_tools(session: ClientSession) -> None:
    await session.initialize()
    assert {t.name for t in (await session.list_tools()).tools} == TOOLS

    listed = await text_of(session, "list_traces")
    assert BROWSER_TRACE in listed and BACKEND_TRACE in listed and '"/cart"' in listed
    by_name = await text_of(session, "list_traces", text="checkout")
    assert BACKEND_TRACE in by_name and BROWSER_TRACE not in by_name
    with_errors = await text_of(session, "list_traces", errors_only=True)
    assert BROWSER_TRACE in with_errors and BACKEND_TRACE not in with_errors

    trace = await text_of(session, "get_trace", trace_id=BROWSER_TRACE)
    assert '"/cart"' in trace and '"POST http://127.0.0.1:8000/api/checkout"' in trace
    assert "CardDeclined: card 4242 declined" in trace
    assert "ada@example.com" in trace
    # The fetch is a child of the pageload: indented under it.
    assert any(line.startswith("  +") and "http.client" in line for line in trace.splitlines())

    diagnosis = await text_of(session, "diagnose_trace", trace_id=BROWSER_TRACE)
    assert "unlinked_outgoing_request" in diagnosis and "fix:" in diagnosis and BACKEND_TRACE in diagnosis

    errors = await text_of(session, "search_errors", text="declined")
    assert "CardDeclined" in errors and BROWSER_TRACE in errors
    assert "none match" in await text_of(session, "search_errors", text="no such thing")

    journey = await text_of(session, "user_journey", user="ada@example.com")
    assert "CardDeclined" in journey and BROWSER_TRACE in journey


async def test_stdio_server_reads_the_file_a_collector_filled(collector):
    store_checkout(collector)
    server = StdioServerParameters(command=sys.executable, args=["-m", "collector", "mcp", "--db", str(collector.db)])
    async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
        await check_tools(session)


async def test_stdio_server_without_a_database_says_how_to_get_one(tmp_path):
    missing = tmp_path / "nothing-here.db"
    server = StdioServerParameters(command=sys.executable, args=["-m", "collector", "mcp", "--db", str(missing)])
    async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        for tool, arguments in (("list_traces", {}), ("get_trace", {"trace_id": BROWSER_TRACE})):
            answer = await text_of(session, tool, **arguments)
            assert f"no collector data at {missing}" in answer and "collector serve" in answer
    assert not missing.exists()


async def test_http_transport_on_the_running_collector(collector):
    store_checkout(collector)
    async with (
        streamable_http_client(collector.url + "/mcp") as (read, write, *_),
        ClientSession(read, write) as session,
    ):
        await check_tools(session)


def test_http_transport_refuses_other_origins_and_hosts(collector):
    call = orjson.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    json_headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    for headers in ({"Origin": "http://evil.example"}, {"Host": "evil.example"}):
        status, answer_headers, _ = collector.request("/mcp", call, {**json_headers, **headers}, "POST")
        assert status == 403, headers
        assert "Access-Control-Allow-Origin" not in answer_headers
    with httpx2.Client() as client:
        same_origin = client.post(
            collector.url + "/mcp", content=call, headers={**json_headers, "Origin": collector.url}
        )
    assert same_origin.status_code == 200 and "list_traces" in same_origin.text
    assert "access-control-allow-origin" not in same_origin.headers


def test_http_transport_holds_no_stream_open(collector):
    # The spec's answer for a server without a GET stream or sessions; an
    # SDK default would keep the GET open for ever.
    for method in ("GET", "DELETE"):
        status, headers, _ = collector.request("/mcp", None, {"Accept": "text/event-stream"}, method)
        assert (status, headers["Allow"]) == (405, "POST")

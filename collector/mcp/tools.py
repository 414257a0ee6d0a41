"""The MCP tools, on the official `mcp` SDK's MCPServer.

`build_server(run)` is shared by both transports: `run(fn, *args)` runs a
reads.py function on a read-only connection (storage/reader.py's
Reader.run, on the running collector's readers or on ones `collector mcp`
opens on the file) and may raise NoData. Every tool answers text, bounded
in size, that ends by saying how to get more.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations
from pydantic import Field

from ..read.doctor import parse_since
from . import reads, render
from .waterfall_text import render_trace

Run = Callable[..., Awaitable[Any]]

INSTRUCTIONS = (
    "A local Sentry-compatible collector's data: traces (spans across browser, mobile and backend SDKs), "
    "errors, logs, sessions and replays an app under development sent. Start with list_traces or "
    "search_errors; get_trace shows one trace's spans with their errors, logs and users; diagnose_trace "
    "says why a trace did not link (propagation, sampling, users) and how to fix it."
)
READ_ONLY = ToolAnnotations(readOnlyHint=True, idempotentHint=True, openWorldHint=False)


class NoData(Exception):
    """There is nothing to read (no database file yet); the message says what to do."""


Text = Annotated[str, Field(description="Substring to match; empty for any.")]
Sdk = Annotated[str, Field(description="Part of an SDK name, e.g. 'python', 'javascript.browser'; empty for any.")]
User = Annotated[str, Field(description="A user's id, email or username; empty for any.")]
Offset = Annotated[int, Field(ge=0, description="Skip this many (the previous answer names the next offset).")]


def _limit(most: int):
    return Annotated[int, Field(ge=1, le=most, description=f"How many to return (at most {most}).")]


async def _answer(run: Run, fn, *args) -> Any:
    try:
        return await run(fn, *args)
    except NoData as e:
        return e


class Tools:
    """The tools, each a method whose signature and docstring the SDK turns
    into its input schema and description."""

    def __init__(self, run: Run):
        self.run = run

    async def list_traces(
        self,
        sdk: Sdk = "",
        user: User = "",
        errors_only: Annotated[bool, Field(description="Only traces with at least one error.")] = False,
        text: Annotated[str, Field(description="Part of the trace's root span name (a route, a page).")] = "",
        environment: Annotated[str, Field(description="An environment, exactly; empty for any.")] = "",
        limit: _limit(100) = 20,
        offset: Offset = 0,
    ) -> str:
        """Traces stored by the collector, newest first: id, start, duration, root span, span and error
        counts, SDKs, users. Filter like the /traces page."""
        filters = {"sdk": sdk, "user": user, "environment": environment, "has_errors": errors_only}
        data = await _answer(self.run, reads.trace_list, filters, text.strip(), limit, offset)
        args = {"sdk": sdk, "user": user, "errors_only": errors_only, "text": text, "environment": environment}
        return str(data) if isinstance(data, NoData) else render.render_trace_list(data, {**args, "offset": offset})

    async def get_trace(
        self,
        trace_id: Annotated[str, Field(description="The 32-hex-digit trace id.")],
        span_filter: Annotated[str, Field(description="Keep spans whose op, description or id holds this.")] = "",
        offset: Annotated[int, Field(ge=0, description="First span to read, in start order.")] = 0,
        limit: _limit(1000) = 200,
    ) -> str:
        """One trace's waterfall as indented text: a line per span (offset from the trace start, duration,
        op, description, status, service/SDK, span id) with its errors and logs under it, the trace's
        users and services on top, and whether the doctor found problems. At most 300 span lines."""
        data = await _answer(self.run, reads.trace_detail, trace_id.strip(), limit, offset)
        if isinstance(data, NoData):
            return str(data)
        if data is None:
            return f"no trace {trace_id!r} stored: list_traces shows the stored ones."
        return render_trace(data, span_filter)

    async def search_errors(
        self,
        text: Text = "",
        sdk: Sdk = "",
        user: User = "",
        trace_id: Annotated[str, Field(description="Only this trace's errors.")] = "",
        level: Annotated[str, Field(description="error, warning, fatal, info…; empty for any.")] = "",
        limit: _limit(100) = 20,
        offset: Offset = 0,
    ) -> str:
        """Error events, newest first, matched on their title, exception, message or transaction:
        time, level, title, event id, trace id, SDK, transaction, user."""
        args = {"text": text, "sdk": sdk, "user": user, "trace_id": trace_id, "level": level}
        data = await _answer(self.run, reads.error_events, {k: v.strip() for k, v in args.items()}, limit, offset)
        return str(data) if isinstance(data, NoData) else render.render_errors(data, {**args, "offset": offset})

    async def search_logs(
        self,
        text: Annotated[str, Field(description="Part of the log's body or attributes; empty for any.")] = "",
        level: Annotated[str, Field(description="trace, debug, info, warn, error, fatal; empty for any.")] = "",
        sdk: Sdk = "",
        user: User = "",
        trace_id: Annotated[str, Field(description="Only this trace's logs.")] = "",
        limit: _limit(200) = 50,
        offset: Offset = 0,
    ) -> str:
        """Log records, newest first: time, level, body, trace and span ids, SDK, user."""
        args = {"text": text, "level": level, "sdk": sdk, "user": user, "trace_id": trace_id}
        filters = {"q": text.strip(), "level": level.strip(), "sdk": sdk.strip(), "user": user.strip()}
        filters["trace_id"] = trace_id.strip()
        data = await _answer(self.run, reads.log_records, filters, limit, offset)
        return str(data) if isinstance(data, NoData) else render.render_logs(data, {**args, "offset": offset})

    async def diagnose_trace(
        self,
        trace_id: Annotated[str, Field(description="The trace to check; empty checks every recent trace.")] = "",
        since: Annotated[str, Field(description="Without trace_id: the window, e.g. 15m, 1h, 2d.")] = "1h",
    ) -> str:
        """The collector's doctor: why a trace's browser and backend halves did not link (propagation
        headers, CORS, sampling), which events have no user, which SDK went quiet; each finding with what
        was seen, the evidence and the fix."""
        trace_id = trace_id.strip()
        try:
            start = None if trace_id else parse_since(since, time.time())
        except ValueError as e:
            return f"bad since {since!r}: {e}"
        report = await _answer(self.run, reads.findings, trace_id, start)
        if isinstance(report, NoData):
            return str(report)
        return render.render_findings(report, f"trace {trace_id}" if trace_id else f"the last {since}")

    async def user_journey(
        self,
        user: Annotated[str, Field(description="The user's id, email or username, or an anonymous id.")],
        limit: _limit(500) = 50,
        oldest_first: Annotated[bool, Field(description="Start from the user's first activity.")] = False,
    ) -> str:
        """One user's journey, as /users/<key> shows it: who they are, the anonymous ids they were before
        login, and their traces, errors, logs, sessions, replays and feedback in time order."""
        data = await _answer(self.run, reads.user_journey, user.strip(), limit, oldest_first)
        if isinstance(data, NoData):
            return str(data)
        return render.render_journey(data, {"user": user, "limit": limit, "oldest_first": oldest_first})


TOOL_NAMES = ("list_traces", "get_trace", "search_errors", "search_logs", "diagnose_trace", "user_journey")


def build_server(run: Run) -> MCPServer:
    """The MCP server with its tools, reading through `run`."""
    server = MCPServer("collector", instructions=INSTRUCTIONS, log_level="WARNING")
    tools = Tools(run)
    for name in TOOL_NAMES:
        server.add_tool(getattr(tools, name), annotations=READ_ONLY, structured_output=False)
    return server

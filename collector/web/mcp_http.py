"""The MCP tools over HTTP at /mcp, on the running collector.

The `mcp` SDK's streamable HTTP transport is an ASGI app; aiohttp is not
ASGI. Rather than a second server on another port, /mcp hands each request
to the SDK's session manager through the small adapter below: the request
becomes an ASGI scope and body messages, the ASGI answer an aiohttp
Response. The manager runs stateless with JSON answers: every POST is one
JSON-RPC call answered by one JSON body (no server-held sessions, no open
SSE stream: GET and DELETE answer 405, as the spec allows), which is all
tools need, and which lets the adapter answer with a plain Response that
the collector's middlewares finish like any other.

/mcp is not ingest, so cors.py applies as to /api: the Host must be a
loopback (or allowed) name, a browser's request from another origin or site
is refused, and no CORS headers are sent. The SDK's own Host/Origin check is
therefore off: it would only repeat ours, without `--allow-host`.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings

from ..mcp.tools import build_server
from .keys import READER

PATH = "/mcp"
MANAGER = web.AppKey("mcp_manager", StreamableHTTPSessionManager)
CHUNK = 64 * 1024
FRAMING = frozenset({b"content-length", b"transfer-encoding", b"connection"})


def add_routes(app: web.Application) -> None:
    """/mcp; added before ingest's catch-all POST route."""
    app.router.add_post(PATH, handle)
    for method in ("GET", "DELETE"):
        app.router.add_route(method, PATH, not_offered)


async def not_offered(request: web.Request) -> web.Response:
    # The transport's spec lets a server without a server-to-client stream
    # (GET) or sessions to end (DELETE) answer 405; clients then go on with
    # POSTs alone. The SDK's stateless GET would hold an empty stream open.
    return web.Response(
        status=405,
        headers={"Allow": "POST"},
        text="this MCP endpoint answers each POSTed JSON-RPC call with JSON; it keeps no stream or session.\n",
    )


async def mcp_context(app: web.Application):
    """Runs the SDK's session manager for the app's life. Its task group lives
    in a task of its own: anyio requires a task group to be entered and left
    in one task, and aiohttp may start and clean up the app in different ones."""
    server = build_server(app[READER].run)
    server.streamable_http_app(
        stateless_http=True,
        json_response=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    manager = server.session_manager
    running, stop = asyncio.Event(), asyncio.Event()

    async def serve() -> None:
        async with manager.run():
            running.set()
            await stop.wait()

    task = asyncio.create_task(serve())
    await asyncio.wait([task, asyncio.ensure_future(running.wait())], return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()  # the manager failed to start: raise why
    app[MANAGER] = manager
    yield
    stop.set()
    await task


def asgi_scope(request: web.Request) -> dict:
    """The ASGI HTTP scope of an aiohttp request."""
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": f"{request.version.major}.{request.version.minor}",
        "method": request.method,
        "scheme": request.scheme,
        "path": request.path,
        "raw_path": request.raw_path.split("?", 1)[0].encode("latin-1", "replace"),
        "query_string": request.query_string.encode("latin-1", "replace"),
        "root_path": "",
        # ASGI header names are lower case; aiohttp keeps them as sent.
        "headers": [(name.lower(), value) for name, value in request.raw_headers],
        "client": tuple(peer[:2]) if isinstance(peer, tuple) else None,
        "server": None,
    }


async def handle(request: web.Request) -> web.Response:
    """One MCP request, through the SDK's transport."""
    answered = asyncio.Event()
    status, headers, body = 500, [], bytearray()

    async def receive() -> dict:
        # The body in chunks, so the SDK's own size limit (4 MiB) stops a
        # large one early; then, as ASGI wants, a disconnect once answered.
        if not request.content.at_eof():
            chunk = await request.content.read(CHUNK)
            return {"type": "http.request", "body": chunk, "more_body": not request.content.at_eof()}
        await answered.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status, headers = message["status"], message.get("headers", [])
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))
            if not message.get("more_body", False):
                answered.set()

    try:
        await request.app[MANAGER].handle_request(asgi_scope(request), receive, send)
    finally:
        answered.set()
    response = web.Response(status=status, body=bytes(body))
    for name, value in headers:
        # aiohttp frames the body itself.
        if name.lower() not in FRAMING:
            response.headers.add(name.decode("latin-1"), value.decode("latin-1"))
    return response

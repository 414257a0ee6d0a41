"""The one middleware every request passes through.

It used to be four (server timing, CORS or the private headers, the
database-gone answer, the unknown-path answer), and each middleware is one
more coroutine that every await of a request goes through: under ingest
load the layers cost ~12% of the server's CPU (sampled with py-spy). Here
they are one coroutine; what each does stays in its own module.
"""

from __future__ import annotations

import time

from aiohttp import web

from ..protocol.answers import error_response
from .cors import ingest_answer, is_ingest, private_answer
from .keys import WRITER
from .responses import unknown_path_answer


def database_gone(request: web.Request) -> web.Response | None:
    """A database file deleted or replaced under the collector: say so on
    every page and answer, instead of showing one file and writing another."""
    gone = request.app[WRITER].gone
    if gone is None or request.path.startswith("/static/"):
        return None
    if request.method == "POST" or request.path.startswith("/api/"):
        return error_response(503, gone)
    return web.Response(status=503, text=f"collector: {gone}.\n")


def _before_pages(request: web.Request) -> web.Response | None:
    # Not a route: a path no route serves must answer 404 (HTML, or JSON
    # under /api), not the 405 that ingest's catch-all routes would give.
    return database_gone(request) or unknown_path_answer(request)


def front_door(allowed_hosts: frozenset[str]):
    """The middleware: ingest gets CORS, everything else the Host and
    cross-site checks and the private headers (cors.py says why)."""

    @web.middleware
    async def middleware(request: web.Request, handler):
        start = time.perf_counter()
        if is_ingest(request.method, request.path):
            response = await ingest_answer(request, handler, database_gone)
        else:
            response = await private_answer(request, handler, allowed_hosts, _before_pages)
        # How long the collector itself took, excluding the network: what
        # `make bench` reports as server time, and visible in browser devtools.
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - start) * 1000:.2f}"
        return response

    return middleware

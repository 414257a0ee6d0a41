"""Which answers a page on another origin may read.

Ingest is for every origin: the browser SDK in a developer's app posts from
that app's origin. Its answers, errors included, carry CORS headers: without
Access-Control-Allow-Origin the SDK counts a network error, and Replay
re-uploads each segment until it gives up recording.

Everything else (the read API and the pages) holds users' emails, IPs and
traces. Any site the developer visits can make their browser fetch
http://127.0.0.1:8969/api/traces; the Host check does not catch that, as the
Host is 127.0.0.1. So those answers carry no CORS headers, forbid embedding
(CORP, frames, sniffing), and a request the browser marks as coming from
another site or origin is refused before any data is read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiohttp import web
from multidict import CIMultiDictProxy

from ..protocol.answers import error_response
from ..protocol.endpoints import match_endpoint
from .hosts import host_refusal, request_authority, same_authority

log = logging.getLogger(__name__)

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "x-sentry-error, x-sentry-rate-limits, retry-after",
}
PREFLIGHT_HEADERS = {
    **CORS_HEADERS,
    "Access-Control-Allow-Methods": "POST",
    "Access-Control-Allow-Headers": (
        "x-sentry-auth, content-type, content-encoding, authorization, sentry-trace, baggage, "
        "origin, accept, x-requested-with"
    ),
    "Access-Control-Max-Age": "3600",
}
# On every answer that is not ingest. CORP keeps even opaque (no-cors)
# loads such as <script src> or <img> from other origins from getting the
# bytes; nosniff keeps JSON from being run as script; DENY keeps the pages
# out of other sites' frames (clickjacking).
PRIVATE_HEADERS = {
    "Cross-Origin-Resource-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def is_ingest(method: str, path: str) -> bool:
    """A POST to an ingest endpoint, or its CORS preflight."""
    return method in ("POST", "OPTIONS") and match_endpoint(path) is not None


def cross_site_refusal(method: str, headers: CIMultiDictProxy[str], authority: str) -> str | None:
    """Why a browser request to the UI or the API must be refused as coming
    from another site or origin, or None. Requests without Sec-Fetch-* and
    Origin (curl, the CLI, SDKs) are not browsers' and pass."""
    site = headers.get("Sec-Fetch-Site", "").lower()
    # A developer clicking a link from their app to a trace must get there;
    # a top-level page load lets the other site read nothing of it.
    navigation = headers.get("Sec-Fetch-Mode") == "navigate" and headers.get("Sec-Fetch-Dest") == "document"
    # A cross-site form POST is a navigation too, but it acts: only reads
    # may arrive by navigation.
    if site in ("cross-site", "same-site") and not (navigation and method in SAFE_METHODS):
        return (
            f"a page on another site may not read or change the collector's UI and API (Sec-Fetch-Site: {site}); "
            "open it in its own tab instead."
        )
    # Browsers send Origin on every cross-origin fetch and on every
    # state-changing request, and old ones send no Sec-Fetch-*. Any POST,
    # PUT, DELETE… that is not ingest is refused here unless it comes from
    # the collector's own pages, so routes that change state are covered
    # from the day they are added.
    origin = headers.get("Origin")
    if origin is not None and not same_authority(origin, authority):
        return f"requests from origin {origin!r} may not read or change the collector's UI and API."
    return None


def forbidden(path: str, reason: str) -> web.Response:
    if path == "/api" or path.startswith("/api/"):
        return error_response(403, reason)
    return web.Response(status=403, text=reason + "\n")


async def ingest_answer(request: web.Request, handler, early: Callable) -> web.StreamResponse:
    """An ingest request's answer (`early(request)`'s, else the handler's),
    with the CORS headers whatever happened."""
    try:
        response = early(request) or await handler(request)
    except web.HTTPException as e:
        e.headers.update(CORS_HEADERS)
        raise
    except Exception:
        # Left to aiohttp this would be a 500 without CORS, which the SDK
        # cannot read and counts as a network error; it is logged here.
        log.exception("ingest failed on %s", request.path)
        response = error_response(500, "internal error while ingesting; the collector's log has the traceback")
    response.headers.update(CORS_HEADERS)
    return response


async def private_answer(
    request: web.Request, handler, allowed_hosts: frozenset[str], early: Callable
) -> web.StreamResponse:
    """Any other request's answer: refused by the Host check or the
    cross-site check, else `early(request)`'s or the handler's, always with
    the private headers."""
    reason = host_refusal(request, allowed_hosts) or cross_site_refusal(
        request.method, request.headers, request_authority(request)
    )
    if reason:
        response = forbidden(request.path, reason)
    else:
        try:
            response = early(request) or await handler(request)
        except web.HTTPException as e:
            e.headers.update(PRIVATE_HEADERS)
            raise
    response.headers.update(PRIVATE_HEADERS)
    return response


async def preflight(request: web.Request) -> web.Response:
    # Only ingest is meant for other origins; the middleware has already
    # refused cross-origin preflights to anything else.
    if match_endpoint(request.path) is None:
        return web.Response(status=404, text="no ingest endpoint here: only ingest answers CORS preflights\n")
    return web.Response(status=200, headers=PREFLIGHT_HEADERS)

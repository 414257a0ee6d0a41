"""Sentry's answers: JSON bodies, and errors as `{"detail": reason}` with the
reason repeated in an `X-Sentry-Error` header, as Relay answers. Ingest and
the read API answer errors in this one shape.
"""

from __future__ import annotations

import re

import orjson
from aiohttp import web

from .jsonshape import text


def json_response(body, status: int = 200, headers: dict | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json", headers=headers)


# Control characters (C0, DEL, C1): aiohttp refuses a header holding CR, LF
# or NUL and drops the connection unanswered.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def error_response(status: int, reason: str, headers: dict | None = None) -> web.Response:
    # The reason may quote a path or header: non-UTF-8 bytes arrive as lone
    # surrogates, which orjson refuses.
    reason = text(reason)
    # X-Sentry-Error carries the reason to SDKs that log headers only; it
    # must be one line of printable latin-1.
    header = _CONTROL.sub(" ", reason).encode("latin-1", "replace").decode("latin-1")[:500]
    return json_response({"detail": reason}, status, {"X-Sentry-Error": header, **(headers or {})})

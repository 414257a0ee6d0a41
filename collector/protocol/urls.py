"""URLs as SDKs report them: where a span's request went, and which names
mean this machine.

Pure. Used to pair a frontend's outgoing request with the backend request
that served it (the doctor), and to tell loopback Host headers (the web layer).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from .jsonshape import as_dict, as_str

# Names under which a browser, a tool or a Host header reaches this machine.
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
# A request sent to 0.0.0.0 also lands here (browsers and curl send it to
# loopback), though as an address to bind it means every interface.
_SAME_MACHINE = LOOPBACK_NAMES | {"0.0.0.0"}

# The ops SDKs give the two ends of an HTTP request: the caller's span and
# the server's segment (http.server, or http.server.<framework>).
CLIENT_OP = "http.client"
SERVER_OP = "http.server"

# Span data keys where SDKs put the URL of a request (v2 attributes, span
# data of classic transactions, and what normalize lifts from `request`).
URL_KEYS = ("url.full", "http.url", "url", "http.request.url", "http.full_url")


def request_url(span: dict) -> str | None:
    """The URL an http.client or http.server span's request went to."""
    data = as_dict(span.get("data"))
    for key in URL_KEYS:
        value = data.get(key)
        if isinstance(value, str) and "://" in value:
            return value
    # Classic http.client spans are described "GET http://host/path".
    description = as_str(span.get("description")) or ""
    method, _, rest = description.partition(" ")
    return rest if "://" in rest and method.isalpha() else None


def endpoint(url: str | None) -> tuple | None:
    """(host, port, path) of a URL, every name of this machine made equal,
    so `http://localhost:8000/a` and `http://127.0.0.1:8000/a` compare equal."""
    if not isinstance(url, str) or "://" not in url:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    return ("loopback" if host in _SAME_MACHINE else host, port, parts.path or "/")


def origin(url: str | None) -> str:
    """scheme://host:port of a URL, what tracePropagationTargets matches."""
    try:
        parts = urlsplit(url or "")
    except ValueError:  # e.g. "http://[::1" (an unclosed IPv6 address)
        return url or "?"
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else (url or "?")


def is_client_request(span: dict) -> bool:
    return (as_str(span.get("op")) or "").startswith(CLIENT_OP)


def is_server_segment(span: dict) -> bool:
    """A backend's request segment: where a client's request span should lead."""
    return bool(span.get("is_segment")) and (as_str(span.get("op")) or "").startswith(SERVER_OP)

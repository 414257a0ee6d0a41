"""DNS rebinding protection for the UI and the read API.

A web page on another site can point its own DNS name at 127.0.0.1 and read
a local server's pages as same-origin. The Host header gives it away: such
requests name the attacker's domain. So pages and /api answer only requests
whose Host is a loopback name, the bound address or a name the user allowed;
ingest (POST and its preflight) accepts any Host, as SDKs on other machines
or emulators legitimately use other names.
"""

from __future__ import annotations

from aiohttp import web

from .ingest import error_response

LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def host_name(host_header: str) -> str:
    """The name part of a Host header: without port, without IPv6 brackets."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def allowed_hosts(bound_host: str, extra: list[str]) -> frozenset[str]:
    names = set(LOCAL_NAMES) | {h.strip().lower() for h in extra if h.strip()}
    if bound_host not in ("0.0.0.0", "::", ""):
        names.add(bound_host.lower())
    return frozenset(names)


def host_check_middleware(allowed: frozenset[str]):
    @web.middleware
    async def check_host(request: web.Request, handler):
        # Ingest is POST (and its OPTIONS preflight); everything else is read.
        if request.method in ("POST", "OPTIONS"):
            return await handler(request)
        name = host_name(request.host or "")
        if name not in allowed:
            return error_response(
                403,
                f"Host {request.host!r} is not allowed for the UI and API (DNS rebinding protection). "
                f"Browse via 127.0.0.1 or localhost, or start the collector with --allow-host {name}.",
            )
        return await handler(request)

    return check_host

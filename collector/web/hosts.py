"""DNS rebinding protection for the UI and the read API.

A web page on another site can point its own DNS name at 127.0.0.1 and read
a local server's pages as same-origin. The Host header gives it away: such
requests name the attacker's domain. So pages and /api answer only requests
whose Host (and absolute-form target, if any) is a loopback name, the bound
address or a name the user allowed; ingest accepts any Host, as SDKs on
other machines or emulators legitimately use other names.

Parsing is strict: a name is compared with the allowed ones only once the
whole header has been read as `name[:port]` or `[ipv6][:port]`, so no
trailing junk (`[::1]evil.com`) can ride along an allowed name.
"""

from __future__ import annotations

import ipaddress
import re

from aiohttp import hdrs, web

from ..protocol.urls import LOOPBACK_NAMES

DEFAULT_PORTS = {"http": 80, "https": 443}

# A DNS name or an IPv4 address; browsers send IDNs as punycode, so ASCII.
_NAME = re.compile(r"[a-z0-9_.-]+")
_PORT = re.compile(r"[0-9]{1,5}")


def split_host(value: str) -> tuple[str, int | None] | None:
    """(name, port) of a Host header or URL authority; None when malformed.

    IPv6 addresses lose their brackets and are written compressed."""
    # ASCII first: str.strip() and str.lower() would turn some non-ASCII
    # characters (NBSP, the Kelvin sign) into ASCII ones.
    if not value.isascii():
        return None
    host = value.strip(" \t").lower()
    if host.startswith("["):
        inner, bracket, tail = host[1:].partition("]")
        name = _ipv6(inner) if bracket else None
    else:
        name, colon, port = host.partition(":")
        tail = colon + port
        name = name if _NAME.fullmatch(name) else None
    if name is None:
        return None
    if not tail:
        return name, None
    port = tail[1:] if tail.startswith(":") else ""
    if not _PORT.fullmatch(port) or int(port) > 65535:
        return None
    return name, int(port)


def _ipv6(text: str) -> str | None:
    try:
        return ipaddress.IPv6Address(text).compressed
    except ValueError:
        return None


def host_name(host_header: str) -> str | None:
    """The name part of a Host header (no port, no IPv6 brackets), or None
    when the header is not a well-formed host."""
    parsed = split_host(host_header)
    return parsed[0] if parsed else None


def target_authority(raw_target: str) -> str | None:
    """The authority of an absolute-form request target
    (`GET http://name:port/path`), None for the usual origin-form."""
    if raw_target.startswith("/") or raw_target == "*":
        return None
    _, _, rest = raw_target.partition("://")
    # An authority ends at the path, the query or the fragment.
    return re.split(r"[/?#]", rest, maxsplit=1)[0]


def request_authority(request: web.Request) -> str:
    """Whom the request is for: RFC 9112 §3.2.2 says an absolute-form
    target's authority wins over the Host header."""
    target = target_authority(request.raw_path)
    return target if target is not None else request.headers.get(hdrs.HOST, "")


def same_authority(origin: str, host: str) -> bool:
    """Whether an Origin header (`scheme://name[:port]`) names the same
    name and port as a Host header; `null` and anything malformed do not."""
    scheme, sep, authority = origin.partition("://")
    default = DEFAULT_PORTS.get(scheme.lower())
    ours, theirs = split_host(host), split_host(authority)
    if not sep or default is None or ours is None or theirs is None:
        return False
    return ours[0] == theirs[0] and (ours[1] or default) == (theirs[1] or default)


def allowed_hosts(bound_host: str, extra: list[str]) -> frozenset[str]:
    # Given as a Host would be (`[::1]`, `name:port`) or as a bare name.
    names = set(LOOPBACK_NAMES) | {host_name(h) or h.strip().lower() for h in extra if h.strip()}
    if bound_host not in ("0.0.0.0", "::", ""):
        names.add(bound_host.lower())
    return frozenset(names)


def host_refusal(request: web.Request, allowed: frozenset[str]) -> str | None:
    """Why a request to the UI or the API must be refused for the host it
    names, or None. Both the Host header and an absolute-form target must
    name an allowed host: either one is what some part of the stack (this
    server, a proxy, a cache) takes for the site."""
    named = [("Host", request.headers.get(hdrs.HOST))]
    target = target_authority(request.raw_path)
    if target is not None:
        named.append(("request target host", target))
    for what, value in named:
        # No Host at all (an HTTP/1.0 tool) cannot be a browser's request.
        if value is None:
            continue
        name = host_name(value)
        if name is None:
            return f"{what} {value!r} is not a valid host name (DNS rebinding protection)."
        if name not in allowed:
            return (
                f"{what} {value!r} is not allowed for the UI and API (DNS rebinding protection). "
                f"Browse via 127.0.0.1 or localhost, or start the collector with --allow-host {name}."
            )
    return None

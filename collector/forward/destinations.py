"""Where forwarded data goes: a Sentry DSN's envelope endpoint, or an
OpenTelemetry Collector's OTLP/HTTP base URL."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from urllib.parse import urlsplit

try:
    VERSION = version("collector")
except PackageNotFoundError:  # run from a checkout that was never installed
    VERSION = "0.0.0"

# How the collector names itself to an upstream, as SDKs do (`sentry.python/2.75.0`).
CLIENT = f"collector/{VERSION}"


class InvalidDestination(ValueError):
    """A --forward DSN or --forward-otlp URL that cannot be used; the message says why."""


@dataclass(frozen=True)
class Destination:
    # What the outbox rows and /api/stats call it: the URL, without the key.
    name: str
    kind: str  # "sentry" or "otlp"
    # Sentry: the envelope endpoint; OTLP: the base URL (/v1/traces is appended).
    url: str
    public_key: str = ""
    dsn: str = ""

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc

    def auth_header(self) -> str:
        return f"Sentry sentry_key={self.public_key}, sentry_version=7, sentry_client={CLIENT}"


def sentry(dsn: str) -> Destination:
    """`https://KEY@host[:port]/[prefix/]PROJECT` → its envelope endpoint,
    `https://host[:port]/[prefix/]api/PROJECT/envelope/`, and key."""
    try:
        parts = urlsplit(dsn.strip())
        port = parts.port  # raises on a port that is not a number
    except ValueError as e:
        raise InvalidDestination(f"invalid --forward DSN {dsn!r}: {e}") from None
    prefix, _, project = parts.path.rstrip("/").rpartition("/")
    if parts.scheme not in ("http", "https") or not parts.hostname or not parts.username or not project.isdigit():
        raise InvalidDestination(
            f"invalid --forward DSN {dsn!r}: expected https://PUBLIC_KEY@HOST/PROJECT_ID, "
            "as Sentry shows under Project Settings → Client Keys"
        )
    netloc = parts.hostname if port is None else f"{parts.hostname}:{port}"
    if ":" in parts.hostname:
        netloc = f"[{parts.hostname}]" + (f":{port}" if port is not None else "")
    base = f"{parts.scheme}://{netloc}{prefix}"
    public = f"{parts.scheme}://{parts.username}@{netloc}{prefix}/{project}"
    return Destination(f"{base}/{project}", "sentry", f"{base}/api/{project}/envelope/", parts.username, public)


def otlp(url: str) -> Destination:
    """An OTLP/HTTP endpoint's base URL (`http://host:4318`); a URL given
    with /v1/traces or /v1/logs is taken back to its base."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidDestination(f"invalid --forward-otlp URL {url!r}: expected http://HOST:4318")
    path = parts.path.rstrip("/")
    for signal in ("/v1/traces", "/v1/logs"):
        path = path.removesuffix(signal)
    base = f"{parts.scheme}://{parts.netloc}{path}"
    return Destination(f"otlp {base}", "otlp", base)

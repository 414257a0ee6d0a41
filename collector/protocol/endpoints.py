"""The URLs SDKs post to, as Relay routes them.

Pure: a path in, the endpoint's name and its parameters out. Ingest serves
these; the web layer asks which requests are ingest (only those are readable
cross-origin).
"""

from __future__ import annotations

import re

# Every endpoint may sit under a path prefix (a reverse proxy's, or the
# DSN's), and a trailing slash is optional everywhere.
_P = r"^(?:/.*)?/api/"
ENDPOINTS: list[tuple[re.Pattern, str]] = [
    (re.compile(_P + r"(?P<project_id>\d+)/envelope/?$"), "envelope"),
    (re.compile(_P + r"(?:(?P<project_id>\d+)/)?store/?$"), "store"),
    (re.compile(_P + r"(?P<project_id>\d+)/(?:security|csp-report|nel)/?$"), "security"),
    (re.compile(_P + r"(?P<project_id>\d+)/minidump/?$"), "minidump"),
    (re.compile(_P + r"(?P<project_id>\d+)/events/(?P<event_id>[0-9a-fA-F-]{32,36})/attachments/?$"), "attachments"),
    # OTLP/HTTP: Sentry's URL for OpenTelemetry exporters first (it also ends
    # in /v1/traces), then the exporters' default paths, under any prefix.
    (re.compile(_P + r"(?P<project_id>\d+)/integration/otlp/v1/(?P<signal>traces|logs)/?$"), "otlp"),
    (re.compile(r"^(?:/.*)?/v1/(?P<signal>traces|logs)/?$"), "otlp"),
    # Spotlight's sidecar endpoint: SDKs with spotlight enabled post here.
    (re.compile(r"^/stream/?$"), "stream"),
]


def match_endpoint(path: str) -> tuple[str, dict] | None:
    for pattern, name in ENDPOINTS:
        m = pattern.match(path)
        if m:
            return name, m.groupdict()
    return None

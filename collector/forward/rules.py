"""What is forwarded, and as what: pure functions from an accepted
envelope to its outbox rows, and from a stored row to the bytes sent.

Run at ingest (through `Ingest.outbox`, so ingest imports nothing of this
package), off the event loop for large bodies; they must be cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import orjson

from ..protocol.envelope import Envelope, ItemType
from ..protocol.jsonshape import as_dict, as_str
from ..storage import bodies
from . import otlp_export
from .destinations import Destination

# Sentry's data category of each item type, as its SDKs and Relay name them
# in X-Sentry-Rate-Limits. An event is "error" as the SDKs count it (Relay
# files an event without an exception under "default"; a limit on "error"
# is what upstreams send in practice).
CATEGORIES = {
    ItemType.EVENT: "error",
    ItemType.TRANSACTION: "transaction",
    ItemType.SPAN: "span",
    ItemType.LOG: "log_item",
    ItemType.OTEL_LOG: "log_item",
    ItemType.TRACE_METRIC: "trace_metric",
    ItemType.SESSION: "session",
    ItemType.SESSIONS: "session",
    ItemType.ATTACHMENT: "attachment",
    ItemType.REPLAY_EVENT: "replay",
    ItemType.REPLAY_RECORDING: "replay",
    ItemType.REPLAY_VIDEO: "replay",
    ItemType.USER_REPORT: "user_report_v2",
    ItemType.FEEDBACK: "feedback",
    ItemType.PROFILE: "profile",
    ItemType.PROFILE_CHUNK: "profile_chunk",
    ItemType.CHECK_IN: "monitor",
    ItemType.STATSD: "metric_bucket",
    ItemType.METRIC_BUCKETS: "metric_bucket",
    ItemType.SECURITY: "security",
}
# Client reports are never rate limited (Relay's "internal").
INTERNAL = "internal"


def categories(envelope: Envelope) -> list[str]:
    """The rate-limit categories of an envelope's items, each once, in order."""
    found: dict[str, None] = {}
    for item in envelope.items:
        found[CATEGORIES.get(item.type, INTERNAL if item.type == ItemType.CLIENT_REPORT else "default")] = None
    return list(found)


def environments(envelope: Envelope, rows: dict[str, list[dict]]) -> set[str]:
    """Every environment the envelope names: its trace header's and its rows'."""
    found = {as_str(as_dict(envelope.headers.get("trace")).get("environment"))}
    for table_rows in rows.values():
        for row in table_rows:
            found.add(row.get("environment"))
    found.discard(None)
    return found


@dataclass(frozen=True)
class Outbox:
    """The outbox rows of each accepted envelope: one per destination,
    unless its environment is kept local (`--forward-skip-environment`)."""

    destinations: tuple[Destination, ...]
    skip_environments: frozenset[str] = frozenset()

    def rows(self, envelope: Envelope, body: bytes, rows: dict[str, list[dict]], now: float) -> list[dict]:
        if self.skip_environments and environments(envelope, rows) & self.skip_environments:
            return []
        out: list[dict] = []
        sentry = [d for d in self.destinations if d.kind == "sentry"]
        if sentry:
            packed, encoding = bodies.pack(body)
            wrapped = ",".join(["", *categories(envelope), ""])
            out += [_row(d, wrapped, packed, encoding, now) for d in sentry]
        for d in self.destinations:
            if d.kind == "otlp":
                for signal, message in otlp_export.requests(rows):
                    out.append(_row(d, signal, *bodies.pack(message), now))
        return out


def _row(destination: Destination, categories: str, body: bytes, encoding: str | None, now: float) -> dict:
    return {
        "destination": destination.name,
        "received_at": now,
        "categories": categories,
        "size": len(body),
        "body": body,
        "body_encoding": encoding,
    }


def for_upstream(body: bytes, destination: Destination) -> bytes:
    """The envelope as the upstream gets it: byte for byte, except that a
    tunnelled envelope's header `dsn` names the upstream's DSN (as
    getsentry/sentry-mirror rewrites it): Relay refuses an envelope whose
    `dsn` key differs from the request's auth ("public key header
    mismatch"). `trace.public_key` is left as the SDK wrote it: it only picks
    the sampling project, and an unknown key means the envelope is kept."""
    first, newline, rest = body.partition(b"\n")
    if b'"dsn"' not in first:
        return body
    try:
        headers = orjson.loads(first)
    except orjson.JSONDecodeError:
        return body
    if not isinstance(headers, dict) or "dsn" not in headers:
        return body
    headers["dsn"] = destination.dsn
    return orjson.dumps(headers) + newline + rest


def held(limited: Iterable[str]) -> Callable[[str], bool]:
    """Whether a row's comma-wrapped categories meet a limited one."""
    marks = [f",{c}," for c in limited]
    return lambda wrapped: any(m in wrapped for m in marks)

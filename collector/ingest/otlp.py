"""OTLP/HTTP ingest: `POST /v1/traces` and `/v1/logs`, where OpenTelemetry
exporters post by default, and Sentry's
`/api/<project>/integration/otlp/v1/traces` and `/logs`.

Each request goes: Content-Type checked (protobuf or JSON, else 415) →
body read and decoded (bounded, gzip as exporters send it) → rows
(`normalize.otlp`) → the writer, as one batch with an `envelopes` row
standing for the request. The answer is an OpenTelemetry Collector's: 200
with an empty Export…ServiceResponse, or a partial success counting what
was rejected and why.
"""

from __future__ import annotations

import time

import orjson
from aiohttp import web

from ..protocol import auth, otlp
from ..storage.client import Batch
from . import news
from .batches import ROW_BYTES
from .body import offload, read_decoded
from .normalize import FUTURE_SLACK, fit
from .normalize.otlp import log_rows, span_rows

# What an exporter posting to /v1/… is filed under: it names no project.
DEFAULT_PROJECT = "1"
# The public key of a request without Sentry auth (exporters send none).
NO_KEY = "otlp"
TABLES = {"traces": "spans", "logs": "logs"}


async def receive(request: web.Request, params: dict) -> tuple[Batch, web.Response]:
    """The batch of an OTLP export and the answer to send once it is stored."""
    signal = params["signal"]
    # Rule: the Content-Type is checked before the body is read.
    protobuf = otlp.is_protobuf(request.content_type)
    found = auth.from_request(request.headers, request.query)
    body, encoding = await read_decoded(request)
    project_id = params.get("project_id") or DEFAULT_PROJECT
    key = found.public_key if found else NO_KEY
    batch, answer = await offload(len(body), build, body, protobuf, signal, project_id, key, encoding)
    content, content_type = answer
    return batch, web.Response(body=content, content_type=content_type)


def build(
    body: bytes, protobuf: bool, signal: str, project_id: str, key: str, encoding: str, now: float | None = None
) -> tuple[Batch, tuple[bytes, str]]:
    """The batch an export becomes, and the answer's body and Content-Type."""
    request = otlp.decode(body, protobuf, signal)
    latest = (time.time() if now is None else now) + FUTURE_SLACK
    to_rows = span_rows if signal == "traces" else log_rows
    rows, rejected = to_rows(request, project_id, latest)
    table = {TABLES[signal]: rows} if rows else {}
    first = rows[0] if rows else {}
    envelope = fit(
        "envelopes",
        {
            "project_id": project_id,
            "public_key": key,
            "sdk_name": first.get("sdk_name"),
            "sdk_version": first.get("sdk_version"),
            "content_encoding": encoding or None,
            "item_count": len(rows),
            "item_types": f"otlp_{signal}",
            # What the request was, for a developer reading the envelopes table.
            "headers": orjson.dumps({"otlp": signal, "encoding": "protobuf" if protobuf else "json"}).decode(),
            "news": news.encode(table),
        },
    )
    size = len(body) + ROW_BYTES * len(rows)
    answer = otlp.answer(signal, protobuf, rejected.count, rejected.message())
    return Batch(envelope=envelope, rows=table, size=size), answer

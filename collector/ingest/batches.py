"""An envelope's batch for the writer: its rows and its own row.

The server makes it (`build`) or, with one server process, the writer
process does (`prepare_in_writer`, from the raw body the server sends): on
two cores the server's core was the busy one, so the parsing moves to the
other. Nothing here needs aiohttp, so the writer process does without it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import NamedTuple

import orjson

from ..protocol.envelope import Envelope, parse, serialize
from ..protocol.refusals import MalformedEnvelope
from ..storage import bodies
from ..storage.client import Batch, WriteFailed
from ..storage.wire import Packet
from . import news
from .normalize import fit, normalize

log = logging.getLogger(__name__)

# What a row weighs in memory while its batch waits for the writer (a dict
# of ~30 columns: 1.1-1.5 KB measured), beside the decoded body its values
# come from: the write queue's byte limit bounds both.
ROW_BYTES = 1024


def build(
    envelope: Envelope,
    body: bytes,
    encoding: str,
    key: str,
    project_id: str,
    remote: str | None,
    client: str | None,
    keep_bodies: bool = False,
    outbox: Callable[[Envelope, bytes, dict, float], list[dict]] | None = None,
    body_is_envelope: bool = True,
) -> Batch:
    """The batch of an envelope: its rows, and its own row fitted to
    the columns (its header may hold any JSON, its key any bytes)."""
    records = normalize(envelope, project_id, remote)
    sdk = _sender_sdk(envelope, records, client)
    row = fit(
        "envelopes",
        {
            "project_id": project_id,
            "public_key": key,
            "event_id": envelope.event_id,
            "sdk_name": sdk.get("name"),
            "sdk_version": sdk.get("version"),
            "content_encoding": encoding or None,
            "item_count": len(envelope.items),
            "item_types": ",".join(item.type for item in envelope.items),
            "headers": headers_json(envelope),
            **(stored_body(body) if keep_bodies else {}),
            "news": news.encode(records.rows),
        },
    )
    # What the batch holds while queued: the decoded body's worth of
    # values, the rows themselves, a raw body kept alongside.
    size = len(body) + ROW_BYTES * sum(map(len, records.rows.values())) + len(row.get("body") or b"")
    rows = records.rows
    if outbox is not None:
        forwarded = outbox(envelope, body if body_is_envelope else serialize(envelope), rows, time.time())
        if forwarded:
            rows = {**rows, "outbox": forwarded}
            size += sum(r["size"] for r in forwarded)
    return Batch(envelope=row, rows=rows, size=size)


class RawEnvelope(NamedTuple):
    """What the server sends the writer process instead of rows
    (`Ingest.build_in_writer`): the envelope as received, what the request
    said of it, and (`Batch.stamp`) when and where it arrived."""

    body: bytes
    encoding: str
    key: str
    project_id: str
    remote: str | None
    client: str | None
    keep_bodies: bool
    received_at: float | None = None
    endpoint: str | None = None


def prepare_in_writer(raw: RawEnvelope) -> Packet | str:
    """Run by the writer process: the packet of an envelope the server has
    parsed and authenticated, or why it has none (the server answers 500
    with that, as when a commit fails)."""
    try:
        batch = build(
            parse(raw.body), raw.body, raw.encoding, raw.key, raw.project_id, raw.remote, raw.client, raw.keep_bodies
        )
        batch.stamp(raw.received_at, raw.endpoint)
        return batch.packet()
    except WriteFailed as e:
        return str(e)
    except Exception:
        # As ingest_answer does on the server: this request fails with a 500
        # and the traceback is logged; the writer goes on with the others.
        log.exception("could not normalize an envelope from %s", raw.remote)
        return "internal error while ingesting; the collector's log has the traceback"


# How the server names `prepare_in_writer` to the writer process.
PREPARE_IN_WRITER = f"{__name__}:prepare_in_writer"


def headers_json(envelope: Envelope) -> str:
    """The envelope's header as stored, or MalformedEnvelope (a 400)."""
    try:
        return orjson.dumps(envelope.headers).decode()
    except orjson.JSONEncodeError as e:
        # Rule: the envelope header is stored as JSON, so it must write back as JSON.
        raise MalformedEnvelope(f"invalid envelope header: {e}") from None


def stored_body(body: bytes) -> dict:
    """The envelopes.body and body_encoding columns for a raw body."""
    packed, encoding = bodies.pack(body)
    return {"body": packed, "body_encoding": encoding}


def _sender_sdk(envelope: Envelope, records, client: str | None) -> dict:
    """Which SDK sent an envelope: the envelope header says so for JS SDKs;
    the Python SDK names itself only inside events and in its auth client
    string (`sentry.python/2.75.0`)."""
    sdk = envelope.headers.get("sdk")
    if isinstance(sdk, dict) and isinstance(sdk.get("name"), str) and sdk["name"]:
        return sdk
    for rows in records.rows.values():
        for row in rows:
            if row.get("sdk_name"):
                return {"name": row["sdk_name"], "version": row.get("sdk_version")}
    if client:
        name, _, version = client.partition("/")
        return {"name": name, "version": version or None}
    return {}

"""HTTP ingest: the endpoints SDKs post to, answered the way Sentry answers.

Each request goes: endpoint match → body read (bounded, timed) → decode
(bounded) → auth → envelope parse → normalize (here, or in the writer
process: batches.py) → the writer. A request
broken in any way is refused with a `protocol.refusals.Refusal`: a 4xx
with `{"detail": reason}` and an `X-Sentry-Error` header, noted in the
`rejections` table so the UI can say what the SDK got wrong.
"""

from __future__ import annotations

import base64
import binascii
import functools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from aiohttp import web

from ..protocol import auth, compression
from ..protocol.answers import error_response, json_response
from ..protocol.endpoints import match_endpoint
from ..protocol.envelope import Envelope, Item, ItemType, parse, serialize
from ..protocol.jsonshape import text
from ..protocol.refusals import (
    BodyTooLarge,
    InvalidBody,
    MissingAuth,
    MissingMinidump,
    Refusal,
    TooManyItems,
    UndecodableBody,
)
from ..storage.client import Batch, QueueFull, WriteFailed, Writer, WriterUnavailable
from . import otlp
from .batches import RawEnvelope, build, headers_json
from .body import MAX_DECOMPRESSED, offload, read_decoded
from .normalize import fit

MIB = 1024 * 1024
# Minidumps and standalone attachments are multipart uploads of files.
MAX_UPLOAD = 100 * MIB
RETRY_AFTER = 1
# While no writer process can store (it cannot open a locked database, say).
UNAVAILABLE_RETRY_AFTER = 5
# More items than any SDK sends in one envelope (they batch far fewer); past
# this the envelope is refused whole rather than filling item_failures.
MAX_ITEMS = 1000
# The exception of a minidump uploaded without an event.
NATIVE_CRASH = {"type": "Minidump", "value": "native crash"}
# Where an envelope request keeps its decoded body for `Ingest.on_envelope`.
ENVELOPE_BODY = web.RequestKey("envelope_body", bytes)


# --- the handler --------------------------------------------------------------


@dataclass
class Ingest:
    writer: Writer
    stats: dict
    # Every row keeps what normalizing understood, and failed items keep
    # their raw bytes anyway; whole bodies are for seeing byte for byte what
    # an SDK sent, and compressing and writing them costs ~15% of ingest.
    keep_bodies: bool = False
    # Given each stored envelope's decoded body and sender's User-Agent
    # (Spotlight's GET /stream); it must return at once.
    on_envelope: Callable[[bytes, str | None], None] | None = None
    # `serve --forward`: the outbox rows of an accepted envelope, given it,
    # its body as an envelope, its rows and the time (forward.rules.Outbox.rows).
    # They are written with the envelope's rows, in one transaction: an
    # acknowledged envelope is never lost to forwarding, nor forwarded unstored.
    outbox: Callable[[Envelope, bytes, dict, float], list[dict]] | None = None
    # The writer process normalizes envelopes itself (`prepare_in_writer`):
    # with one server process and one writer on two cores, the server was
    # the busy one (make bench: its core saturated, the writer's half idle),
    # so its parsing moves across. With `--workers` the servers keep it, so
    # that it spreads over their cores; and with an outbox, which needs the
    # rows where the server's forwarding rules are.
    build_in_writer: bool = False

    async def handle(self, request: web.Request) -> web.Response:
        matched = match_endpoint(request.path)
        if matched is None:
            reason = f"no ingest endpoint at {request.path}; post envelopes to /api/<project>/envelope/"
            return error_response(404, reason)
        endpoint, params = matched
        try:
            batch, answer = await self._handler(endpoint)(request, params)
            batch.stamp(time.time(), endpoint)
            await self.writer.write(batch)
            if self.on_envelope is not None and ENVELOPE_BODY in request:
                self.on_envelope(request[ENVELOPE_BODY], request.headers.get("User-Agent"))
        except Refusal as e:
            return await self._reject(request, endpoint, e)
        except QueueFull:
            self.stats["queue_full"] = self.stats.get("queue_full", 0) + 1
            return error_response(
                429,
                "collector busy: write queue full, retry shortly",
                {"Retry-After": str(RETRY_AFTER), "X-Sentry-Rate-Limits": f"{RETRY_AFTER}::organization:queue_full"},
            )
        except WriteFailed as e:
            # Nothing of this request was stored; SDKs retry on a 5xx.
            return error_response(500, str(e))
        except WriterUnavailable as e:
            # Nothing can be stored until the writer is back: SDKs back off.
            return error_response(503, str(e), {"Retry-After": str(UNAVAILABLE_RETRY_AFTER)})
        return answer

    def _handler(self, endpoint: str):
        """The method serving each endpoint `protocol.endpoints` names: it
        takes the request and the path's parameters, and returns the batch
        to write and the answer to send once it is written."""
        return {
            "envelope": self._envelope,
            "stream": self._stream,
            "store": self._store,
            "security": self._security,
            "minidump": self._minidump,
            "attachments": self._attachments,
            "otlp": otlp.receive,
        }[endpoint]

    async def _reject(self, request: web.Request, endpoint: str, refusal: Refusal) -> web.Response:
        # Noted before answering, so /api/stats agrees with what the SDK saw;
        # skipped (not waited for) when the queue is already full.
        rejection = {
            "received_at": time.time(),
            "endpoint": f"{endpoint} {request.path}",
            "status": refusal.status,
            "reason": refusal.reason,
            "user_agent": request.headers.get("User-Agent"),
        }
        rejection = fit("rejections", rejection)
        try:
            await self.writer.write(Batch(rejection=rejection))
        except (QueueFull, WriterUnavailable, WriteFailed):
            self.stats["unrecorded_rejections"] = self.stats.get("unrecorded_rejections", 0) + 1
        return error_response(refusal.status, refusal.reason)

    async def _batch(
        self,
        request,
        envelope: Envelope,
        body: bytes,
        encoding: str,
        key: str,
        project_id: str,
        client: str | None = None,
        body_is_envelope: bool = True,
    ) -> Batch:
        if self.build_in_writer and body_is_envelope:
            # Checked here, where a refusal can still be answered 400.
            headers_json(envelope)
            # Waiting, it holds its body alone: the rows are made across.
            raw = RawEnvelope(body, encoding, key, project_id, request.remote, client, self.keep_bodies)
            return Batch(raw=raw, size=len(body))
        config = (self.keep_bodies, self.outbox, body_is_envelope)
        made = functools.partial(build, envelope, body, encoding, key, project_id, request.remote, client, *config)
        return await offload(len(body), made)

    async def _envelope(self, request, params):
        request_auth = auth.from_request(request.headers, request.query)
        body, encoding = await read_decoded(request)
        envelope = await offload(len(body), _parse_limited, body)
        key, project_id = auth.resolve(request_auth, envelope.headers.get("dsn"), params["project_id"])
        client = request_auth.client if request_auth else None
        batch = await self._batch(request, envelope, body, encoding, key, project_id, client)
        request[ENVELOPE_BODY] = body
        event_id = envelope.event_id
        return batch, json_response({"id": event_id} if event_id else {})

    async def _stream(self, request, params):
        # Spotlight posts without auth or DSN: file it under project 1.
        body, encoding = await read_decoded(request)
        envelope = await offload(len(body), _parse_limited, body)
        dsn = envelope.headers.get("dsn")
        key, project_id = auth.resolve(None, dsn, None) if isinstance(dsn, str) and dsn else ("spotlight", "1")
        request[ENVELOPE_BODY] = body
        return await self._batch(request, envelope, body, encoding, key, project_id), json_response({})

    async def _store(self, request, params):
        request_auth = _require_auth(request)
        body, encoding = await read_decoded(request)
        event_id, item = await offload(len(body), _store_item, body)
        envelope = Envelope({"event_id": event_id}, [item])
        payload = item.payload
        project_id = params.get("project_id") or "1"
        batch = await self._batch(
            request, envelope, payload, encoding, request_auth.public_key, project_id, body_is_envelope=False
        )
        return batch, json_response({"id": event_id})

    async def _security(self, request, params):
        request_auth = _require_auth(request)
        body, encoding = await read_decoded(request)
        envelope = Envelope({}, [Item({"type": ItemType.SECURITY.value, "content_type": request.content_type}, body)])
        batch = await self._batch(
            request, envelope, body, encoding, request_auth.public_key, params["project_id"], body_is_envelope=False
        )
        return batch, json_response({})

    async def _minidump(self, request, params):
        request_auth = _require_auth(request)
        event_id = uuid.uuid4().hex
        items, event = await _multipart_items(request)
        if not any(i.headers.get("attachment_type") == "event.minidump" for i in items):
            raise MissingMinidump("missing minidump: send the file in the form field upload_file_minidump")
        event = event or {"level": "fatal", "platform": "native", "exception": {"values": [NATIVE_CRASH]}}
        event["event_id"] = event_id
        items.insert(0, _event_item(event, ItemType.EVENT))
        envelope = Envelope({"event_id": event_id}, items)
        body = serialize(envelope)
        batch = await self._batch(request, envelope, body, "", request_auth.public_key, params["project_id"])
        return batch, web.Response(text=event_id)

    async def _attachments(self, request, params):
        request_auth = _require_auth(request)
        event_id = params["event_id"].replace("-", "")
        items, _ = await _multipart_items(request)
        envelope = Envelope({"event_id": event_id}, items)
        body = serialize(envelope)
        batch = await self._batch(request, envelope, body, "", request_auth.public_key, params["project_id"])
        return batch, json_response({})


def _parse_limited(body: bytes) -> Envelope:
    envelope = parse(body)
    if len(envelope.items) > MAX_ITEMS:
        raise TooManyItems(f"envelope has {len(envelope.items)} items; at most {MAX_ITEMS} are accepted")
    return envelope


def _require_auth(request: web.Request) -> auth.Auth:
    # Only the envelope endpoint can be tunnelled; the others need a key.
    found = auth.from_request(request.headers, request.query)
    if found is None:
        raise MissingAuth("missing authentication: send X-Sentry-Auth or ?sentry_key=…")
    return found


def _store_item(body: bytes) -> tuple[str, Item]:
    """The event id and the item of a store request's event."""
    event = _store_payload(body)
    given = event.get("event_id")
    event_id = given.replace("-", "").lower() if isinstance(given, str) and given else uuid.uuid4().hex
    event["event_id"] = event_id
    item_type = ItemType.TRANSACTION if event.get("type") == "transaction" else ItemType.EVENT
    return event_id, _event_item(event, item_type)


def _event_item(event: dict, item_type: ItemType) -> Item:
    try:
        return Item({"type": item_type.value}, orjson.dumps(event))
    except orjson.JSONEncodeError as e:
        # Nested deeper than orjson writes (254 levels; it reads 1,023).
        raise InvalidBody(f"invalid event JSON: {e}") from None


def _store_payload(body: bytes) -> dict:
    """The event of a store request: JSON, or (old SDKs) base64 of zlib'd JSON."""
    if not body.strip():
        raise InvalidBody("empty body: the store endpoint expects an event as JSON")
    if not body.lstrip().startswith(b"{"):
        try:
            body = compression.decode(base64.b64decode(body, validate=True), "deflate", MAX_DECOMPRESSED)
        except (binascii.Error, UndecodableBody):
            raise InvalidBody("invalid store body: neither JSON nor base64-encoded zlib JSON") from None
    try:
        event = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise InvalidBody(f"invalid event JSON: {e}") from None
    if not isinstance(event, dict):
        raise InvalidBody("invalid event JSON: expected an object")
    return event


async def _multipart_items(request: web.Request) -> tuple[list[Item], dict | None]:
    """Attachments from a multipart upload, and the event JSON if one came along."""
    if request.content_length is not None and request.content_length > MAX_UPLOAD:
        raise BodyTooLarge(f"upload of {request.content_length} bytes exceeds the {MAX_UPLOAD}-byte limit")
    try:
        form = await request.post()
    except web.HTTPRequestEntityTooLarge:
        raise BodyTooLarge(f"upload exceeds the {MAX_UPLOAD}-byte limit") from None
    except ValueError as e:
        raise InvalidBody(f"invalid multipart body: {e}") from None
    items, event = [], None
    for name, value in form.items():
        if isinstance(value, web.FileField):
            kind = "event.minidump" if name == "upload_file_minidump" else "event.attachment"
            headers = {
                "type": ItemType.ATTACHMENT.value,
                # Names and types come from the request as aiohttp decoded them.
                "filename": text(value.filename),
                "content_type": text(value.content_type),
                "attachment_type": kind,
            }
            items.append(Item(headers, value.file.read()))
        elif name == "sentry":
            try:
                parsed = orjson.loads(value)
            except orjson.JSONDecodeError as e:
                raise InvalidBody(f"invalid JSON in form field 'sentry': {e}") from None
            event = parsed if isinstance(parsed, dict) else None
    return items, event

"""HTTP ingest: the endpoints SDKs post to, answered the way Sentry answers.

Each request goes: endpoint match → body read (bounded, timed) → decode
(bounded) → auth → envelope parse → normalise → the writer. Every refusal is
a 4xx with `{"detail": reason}` and an `X-Sentry-Error` header, and is noted
in the `rejections` table so the UI can say what the SDK got wrong.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import logging
import time
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import orjson
from aiohttp import web

from ..protocol import auth
from ..protocol import compression
from ..protocol.envelope import Envelope, EnvelopeError, Item, parse, serialise
from ..protocol.answers import error_response, json_response
from ..protocol.endpoints import match_endpoint
from ..protocol.jsonshape import text
from .normalize import fit, normalise
from ..storage.client import Batch, QueueFull, WriteFailed, Writer, WriterUnavailable

log = logging.getLogger(__name__)

MIB = 1024 * 1024
# Relay's defaults: the body as sent, and the envelope once decompressed.
MAX_COMPRESSED = 20 * MIB
MAX_DECOMPRESSED = 200 * MIB
# Minidumps and standalone attachments are multipart uploads of files.
MAX_UPLOAD = 100 * MIB
# A client that trickles its body gets this long in total, then a 408.
BODY_TIMEOUT = 30.0
RETRY_AFTER = 1
# While no writer process can store (it cannot open a locked database, say).
UNAVAILABLE_RETRY_AFTER = 5
# More items than any SDK sends in one envelope (they batch far fewer); past
# this the envelope is refused whole rather than filling item_failures.
MAX_ITEMS = 1000
# Work that grows with the body runs on the event loop only up to these
# sizes: a body decodes inline up to 1 MiB of output, and is parsed and
# normalised inline up to 256 KiB (a 6 KB transaction never leaves the loop).
# Past that it continues on HEAVY.
INLINE_DECODE = 1 * MIB
INLINE_PARSE = 256 * 1024
# One thread for all large bodies: a stream of bombs or huge envelopes
# queues behind itself and takes one core, leaving the other to the loop and
# everyone else. zlib, brotli and zstd let go of the GIL while inflating;
# parsing does not, but the loop gets the GIL back every 5 ms.
HEAVY = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-heavy")
# What a row weighs in memory while its batch waits for the writer (a dict
# of ~30 columns: 1.1-1.5 KB measured), beside the decoded body its values
# come from: the write queue's byte limit bounds both.
ROW_BYTES = 1024

class Rejected(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


# --- body ---------------------------------------------------------------------


async def read_body(request: web.Request, limit: int) -> bytes:
    """The body as sent, chunked or not; 413 past `limit`, 408 when slow."""
    if request.content_length is not None and request.content_length > limit:
        raise Rejected(413, f"request body of {request.content_length} bytes exceeds the {limit}-byte limit")
    if request.content.is_eof():
        # The usual case: the whole body came in with the headers.
        body = request.content.read_nowait()
        if len(body) > limit:
            raise Rejected(413, f"request body exceeds the {limit}-byte limit")
        return body
    buf = bytearray()
    try:
        async with asyncio.timeout(BODY_TIMEOUT):
            async for chunk in request.content.iter_any():
                buf += chunk
                if len(buf) > limit:
                    raise Rejected(413, f"request body exceeds the {limit}-byte limit")
    except TimeoutError:
        raise Rejected(408, f"request body not received within {BODY_TIMEOUT:.0f}s") from None
    return bytes(buf)


async def decode_body(request: web.Request, raw: bytes) -> tuple[bytes, str]:
    """The decoded body: its first MiB inline, the rest (a large body or a
    bomb) on the HEAVY thread."""
    encoding = compression.normalise_encoding(request.headers.get("Content-Encoding"))
    decoder = compression.Decoder(raw, encoding, MAX_DECOMPRESSED)
    try:
        body = decoder.run(INLINE_DECODE)
        if body is None:
            body = await asyncio.get_running_loop().run_in_executor(HEAVY, decoder.run)
    except compression.BodyTooLarge as e:
        raise Rejected(413, str(e)) from None
    except compression.DecodeError as e:
        raise Rejected(400, str(e)) from None
    return body, encoding


async def offload(size: int, fn, *args):
    """fn(*args) for a body of `size` bytes: at once when small, on the
    HEAVY thread when large."""
    if size <= INLINE_PARSE:
        return fn(*args)
    return await asyncio.get_running_loop().run_in_executor(HEAVY, fn, *args)


# --- the handler --------------------------------------------------------------


@dataclass
class Ingest:
    writer: Writer
    stats: dict
    # Every row keeps what normalising understood, and failed items keep
    # their raw bytes anyway; whole bodies are for seeing byte for byte what
    # an SDK sent, and compressing and writing them costs ~15% of ingest.
    keep_bodies: bool = False

    async def handle(self, request: web.Request) -> web.Response:
        matched = match_endpoint(request.path)
        if matched is None:
            return error_response(404, f"no ingest endpoint at {request.path}; post envelopes to /api/<project>/envelope/")
        endpoint, params = matched
        try:
            batch, answer = await getattr(self, f"_{endpoint}")(request, params)
            batch.envelope.update(received_at=time.time(), endpoint=endpoint)
            await self.writer.write(batch)
        except (auth.AuthError, Rejected) as e:
            return await self._reject(request, endpoint, e.status, e.reason)
        except EnvelopeError as e:
            return await self._reject(request, endpoint, 400, str(e))
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

    async def _reject(self, request: web.Request, endpoint: str, status: int, reason: str) -> web.Response:
        # Noted before answering, so /api/stats agrees with what the SDK saw;
        # skipped (not waited for) when the queue is already full.
        rejection = {
            "received_at": time.time(),
            "endpoint": f"{endpoint} {request.path}",
            "status": status,
            "reason": reason,
            "user_agent": request.headers.get("User-Agent"),
        }
        rejection = fit("rejections", rejection)
        try:
            await self.writer.write(Batch(rejection=rejection))
        except (QueueFull, WriterUnavailable, WriteFailed):
            self.stats["unrecorded_rejections"] = self.stats.get("unrecorded_rejections", 0) + 1
        return error_response(status, reason)

    async def _batch(
        self, request, envelope: Envelope, body: bytes, encoding: str, key: str, project_id: str, client: str | None = None
    ) -> Batch:
        build = functools.partial(self._build, envelope, body, encoding, key, project_id, request.remote, client)
        return await offload(len(body), build)

    def _build(
        self, envelope: Envelope, body: bytes, encoding: str, key: str, project_id: str, remote: str | None, client: str | None
    ) -> Batch:
        """The batch of an envelope: its rows, and its own row fitted to
        the columns (its header may hold any JSON, its key any bytes)."""
        records = normalise(envelope, project_id, remote)
        sdk = _sender_sdk(envelope, records, client)
        try:
            headers = orjson.dumps(envelope.headers).decode()
        except orjson.JSONEncodeError as e:
            raise EnvelopeError(f"invalid envelope header: {e}") from None
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
                "headers": headers,
                **(stored_body(body) if self.keep_bodies else {}),
            },
        )
        # What the batch holds while queued: the decoded body's worth of
        # values, the rows themselves, a raw body kept alongside.
        size = len(body) + ROW_BYTES * sum(map(len, records.rows.values())) + len(row.get("body") or b"")
        return Batch(envelope=row, rows=records.rows, size=size)

    async def _envelope(self, request, params):
        request_auth = auth.from_request(request.headers, request.query)
        body, encoding = await decode_body(request, await read_body(request, MAX_COMPRESSED))
        envelope = await offload(len(body), _parse_limited, body)
        key, project_id = auth.resolve(request_auth, envelope.headers.get("dsn"), params["project_id"])
        client = request_auth.client if request_auth else None
        batch = await self._batch(request, envelope, body, encoding, key, project_id, client)
        event_id = envelope.event_id
        return batch, json_response({"id": event_id} if event_id else {})

    async def _stream(self, request, params):
        # Spotlight posts without auth or DSN: file it under project 1.
        body, encoding = await decode_body(request, await read_body(request, MAX_COMPRESSED))
        envelope = await offload(len(body), _parse_limited, body)
        dsn = envelope.headers.get("dsn")
        key, project_id = auth.resolve(None, dsn, None) if isinstance(dsn, str) and dsn else ("spotlight", "1")
        return await self._batch(request, envelope, body, encoding, key, project_id), json_response({})

    async def _store(self, request, params):
        request_auth = _require_auth(request)
        body, encoding = await decode_body(request, await read_body(request, MAX_COMPRESSED))
        event_id, item = await offload(len(body), _store_item, body)
        envelope = Envelope({"event_id": event_id}, [item])
        payload = item.payload
        project_id = params.get("project_id") or "1"
        batch = await self._batch(request, envelope, payload, encoding, request_auth.public_key, project_id)
        return batch, json_response({"id": event_id})

    async def _security(self, request, params):
        request_auth = _require_auth(request)
        body, encoding = await decode_body(request, await read_body(request, MAX_COMPRESSED))
        envelope = Envelope({}, [Item({"type": "security", "content_type": request.content_type}, body)])
        batch = await self._batch(request, envelope, body, encoding, request_auth.public_key, params["project_id"])
        return batch, json_response({})

    async def _minidump(self, request, params):
        request_auth = _require_auth(request)
        event_id = uuid.uuid4().hex
        items, event = await _multipart_items(request)
        if not any(i.headers.get("attachment_type") == "event.minidump" for i in items):
            raise Rejected(400, "missing minidump: send the file in the form field upload_file_minidump")
        event = event or {"level": "fatal", "platform": "native", "exception": {"values": [{"type": "Minidump", "value": "native crash"}]}}
        event["event_id"] = event_id
        items.insert(0, _event_item(event, "event"))
        envelope = Envelope({"event_id": event_id}, items)
        body = serialise(envelope)
        batch = await self._batch(request, envelope, body, "", request_auth.public_key, params["project_id"])
        return batch, web.Response(text=event_id)

    async def _attachments(self, request, params):
        request_auth = _require_auth(request)
        event_id = params["event_id"].replace("-", "")
        items, _ = await _multipart_items(request)
        envelope = Envelope({"event_id": event_id}, items)
        body = serialise(envelope)
        batch = await self._batch(request, envelope, body, "", request_auth.public_key, params["project_id"])
        return batch, json_response({})


# Raw bodies are kept zlib-compressed: JSON shrinks 3-5x, and the bytes
# written per envelope are what limits ingest (see make bench).
COMPRESS_ABOVE = 512


def stored_body(body: bytes) -> dict:
    """The envelopes.body and body_encoding columns for a raw body."""
    if len(body) > COMPRESS_ABOVE:
        packed = zlib.compress(body, 1)
        if len(packed) < len(body):
            return {"body": packed, "body_encoding": "zlib"}
    return {"body": body, "body_encoding": None}


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


def _parse_limited(body: bytes) -> Envelope:
    envelope = parse(body)
    if len(envelope.items) > MAX_ITEMS:
        raise Rejected(413, f"envelope has {len(envelope.items)} items; at most {MAX_ITEMS} are accepted")
    return envelope


def _require_auth(request: web.Request) -> auth.Auth:
    # Only the envelope endpoint can be tunnelled; the others need a key.
    found = auth.from_request(request.headers, request.query)
    if found is None:
        raise auth.AuthError(401, "missing authentication: send X-Sentry-Auth or ?sentry_key=…")
    return found


def _store_item(body: bytes) -> tuple[str, Item]:
    """The event id and the item of a store request's event."""
    event = _store_payload(body)
    given = event.get("event_id")
    event_id = given.replace("-", "").lower() if isinstance(given, str) and given else uuid.uuid4().hex
    event["event_id"] = event_id
    return event_id, _event_item(event, "transaction" if event.get("type") == "transaction" else "event")


def _event_item(event: dict, item_type: str) -> Item:
    try:
        return Item({"type": item_type}, orjson.dumps(event))
    except orjson.JSONEncodeError as e:
        # Nested deeper than orjson writes (254 levels; it reads 1,023).
        raise Rejected(400, f"invalid event JSON: {e}") from None


def _store_payload(body: bytes) -> dict:
    """The event of a store request: JSON, or (old SDKs) base64 of zlib'd JSON."""
    if not body.strip():
        raise Rejected(400, "empty body: the store endpoint expects an event as JSON")
    if not body.lstrip().startswith(b"{"):
        try:
            body = compression.decode(base64.b64decode(body, validate=True), "deflate", MAX_DECOMPRESSED)
        except (binascii.Error, compression.DecodeError):
            raise Rejected(400, "invalid store body: neither JSON nor base64-encoded zlib JSON") from None
        except compression.BodyTooLarge as e:
            raise Rejected(413, str(e)) from None
    try:
        event = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise Rejected(400, f"invalid event JSON: {e}") from None
    if not isinstance(event, dict):
        raise Rejected(400, "invalid event JSON: expected an object")
    return event


async def _multipart_items(request: web.Request) -> tuple[list[Item], dict | None]:
    """Attachments from a multipart upload, and the event JSON if one came along."""
    if request.content_length is not None and request.content_length > MAX_UPLOAD:
        raise Rejected(413, f"upload of {request.content_length} bytes exceeds the {MAX_UPLOAD}-byte limit")
    try:
        form = await request.post()
    except web.HTTPRequestEntityTooLarge:
        raise Rejected(413, f"upload exceeds the {MAX_UPLOAD}-byte limit") from None
    except ValueError as e:
        raise Rejected(400, f"invalid multipart body: {e}") from None
    items, event = [], None
    for name, value in form.items():
        if isinstance(value, web.FileField):
            kind = "event.minidump" if name == "upload_file_minidump" else "event.attachment"
            # Names and types come from the request as aiohttp decoded them.
            headers = {"filename": text(value.filename), "content_type": text(value.content_type)}
            items.append(Item({"type": "attachment", **headers, "attachment_type": kind}, value.file.read()))
        elif name == "sentry":
            try:
                parsed = orjson.loads(value)
            except orjson.JSONDecodeError as e:
                raise Rejected(400, f"invalid JSON in form field 'sentry': {e}") from None
            event = parsed if isinstance(parsed, dict) else None
    return items, event

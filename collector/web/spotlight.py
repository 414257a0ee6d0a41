"""`GET /stream`: the envelopes just stored, as Spotlight's sidecar streams them.

Spotlight's UI (`/stream?base64=1&client=spotlight-ui`) and `spotlight tail`
read this stream; `protocol/spotlight.py` has the framing. As the sidecar
does, a client that connects gets the recent envelopes first (all that the
ring holds, or those after its `Last-Event-ID` when the ring still has that
id), then each envelope as it is stored.

Ingest hands each stored envelope's decoded body to `SpotlightStream.publish`,
which only appends references: to a ring bounded in count and bytes, and to
each client's backlog, bounded too. A client whose backlog is full (it reads
slower than SDKs send) is dropped, and one that stops reading is dropped
after SEND_TIMEOUT; EventSource reconnects by itself. Envelopes are framed
by each client's own task, off the ingest path.

Like the read API (web/cors.py), this stream holds users' data, so it is
not readable by other origins: the cross-origin middleware refuses such
requests and sends no CORS headers. Spotlight's overlay embedded in a
developer's app on another port would need CORS here; it is not opened:
open Spotlight's UI or run `spotlight tail` instead, neither needs it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass

from aiohttp import web
from aiohttp_sse import sse_response

from ..protocol import spotlight
from .cors import PRIVATE_HEADERS
from .live import woken_or_gone

MIB = 1024 * 1024
# Spotlight's sidecar keeps 500 envelopes; the byte bound keeps a few large
# ones (attachments, replay videos) from holding a lot of memory.
RING_ENVELOPES = 500
RING_BYTES = 32 * MIB
# What one client may fall behind by before it is dropped: the ring it is
# sent on connecting, and as much again.
CLIENT_ENVELOPES = 2 * RING_ENVELOPES
CLIENT_BYTES = 2 * RING_BYTES
SEND_TIMEOUT = 10
PING_INTERVAL = 15
# How often a waiting client checks that its connection is still open
# (aiohttp does not cancel a handler whose client left).
CHECK_INTERVAL = 1.0
# Envelopes larger than this are framed off the event loop, on a thread of
# the loop's own pool: never on ingest's, which a slow Spotlight client must
# not hold up.
INLINE_FRAME = 256 * 1024


@dataclass(frozen=True, slots=True)
class Stored:
    """One stored envelope: its Spotlight id and its decoded body."""

    id: str
    body: bytes
    user_agent: str | None


class Ring:
    """The most recent envelopes, at most `max_count` and `max_bytes` of them."""

    def __init__(self, max_count: int = RING_ENVELOPES, max_bytes: int = RING_BYTES):
        self.max_count = max_count
        self.max_bytes = max_bytes
        self._entries: deque[Stored] = deque()
        self.bytes = 0

    def add(self, entry: Stored) -> None:
        if len(entry.body) > self.max_bytes:
            # Sent to the clients connected now, not kept for later ones.
            return
        self._entries.append(entry)
        self.bytes += len(entry.body)
        while len(self._entries) > self.max_count or self.bytes > self.max_bytes:
            self.bytes -= len(self._entries.popleft().body)

    def after(self, last_id: str | None) -> list[Stored]:
        """What a client connecting with `last_id` gets first: what came
        after it, or everything when the ring no longer has it."""
        entries = list(self._entries)
        if last_id:
            for index, entry in enumerate(entries):
                if entry.id == last_id:
                    return entries[index + 1 :]
        return entries

    def __len__(self) -> int:
        return len(self._entries)


class Listener:
    """One connected client: what it has yet to be sent."""

    def __init__(self, backlog: list[Stored]):
        self.pending: deque[Stored] = deque(backlog)
        self.pending_bytes = sum(len(entry.body) for entry in backlog)
        self.woken = asyncio.Event()
        self.dropped = False
        if backlog:
            self.woken.set()

    def offer(self, entry: Stored) -> None:
        # One envelope is always let in, however large, or a big one would
        # drop every client.
        full = len(self.pending) >= CLIENT_ENVELOPES or self.pending_bytes + len(entry.body) > CLIENT_BYTES
        if self.pending and full:
            self.drop()
            return
        self.pending.append(entry)
        self.pending_bytes += len(entry.body)
        self.woken.set()

    def take(self) -> Stored | None:
        if not self.pending:
            self.woken.clear()
            return None
        entry = self.pending.popleft()
        self.pending_bytes -= len(entry.body)
        return entry

    def drop(self) -> None:
        self.dropped = True
        self.pending.clear()
        self.pending_bytes = 0
        self.woken.set()


class SpotlightStream:
    def __init__(self, ring: Ring | None = None):
        self.ring = ring if ring is not None else Ring()
        self.listeners: set[Listener] = set()

    def publish(self, body: bytes, user_agent: str | None = None) -> None:
        """Ingest's hand-off of a stored envelope: never waits, never copies."""
        entry = Stored(spotlight.envelope_id(), body, user_agent)
        self.ring.add(entry)
        for listener in list(self.listeners):
            listener.offer(entry)
            if listener.dropped:
                self.listeners.discard(listener)

    def listen(self, last_id: str | None) -> Listener:
        listener = Listener(self.ring.after(last_id))
        self.listeners.add(listener)
        return listener

    def forget(self, listener: Listener) -> None:
        self.listeners.discard(listener)

    async def close(self, app: web.Application | None = None) -> None:
        """Ends every stream, so the server's shutdown does not wait on them."""
        for listener in list(self.listeners):
            listener.drop()
        self.listeners.clear()


SPOTLIGHT = web.AppKey("spotlight_stream", SpotlightStream)


def setup(app: web.Application) -> SpotlightStream:
    """The stream, its route and its shutdown; ingest is given `publish`."""
    stream = SpotlightStream()
    app[SPOTLIGHT] = stream
    app.router.add_get("/stream", stream_handler)
    app.on_shutdown.append(stream.close)
    return stream


async def stream_handler(request: web.Request) -> web.StreamResponse:
    stream = request.app[SPOTLIGHT]
    name = spotlight.event_name("base64" in request.query)
    listener = stream.listen(request.headers.get("Last-Event-ID"))
    try:
        async with sse_response(
            request, headers=PRIVATE_HEADERS, send_timeout=SEND_TIMEOUT, ping_interval=PING_INTERVAL
        ) as sse:
            try:
                # As the sidecar does: a first byte, so every browser fires `open`.
                await sse.write(b"\n")
                await _send_until_gone(request, sse, listener, name)
            except (ConnectionResetError, TimeoutError):
                # The client left or stopped reading: it reconnects with Last-Event-ID.
                pass
    finally:
        stream.forget(listener)
    return sse


async def _send_until_gone(request: web.Request, sse, listener: Listener, name: str) -> None:
    while not listener.dropped and sse.is_connected():
        entry = listener.take()
        if entry is None:
            if not await woken_or_gone(listener.woken, request, CHECK_INTERVAL):
                return
            continue
        args = (entry.body, entry.id, entry.user_agent)
        if len(entry.body) <= INLINE_FRAME:
            data = spotlight.envelope_json(*args)
        else:
            data = await asyncio.to_thread(spotlight.envelope_json, *args)
        if data is not None:
            await sse.send(data, id=entry.id, event=name)

"""`GET /api/live`: what was just stored, as Server-Sent Events.

One read of the feed per commit (at most every READ_INTERVAL) is shared by
every client at its head: the entries are read, decoded and framed once,
and each client keeps those its filters pass. A client behind the head
(it reconnected with an old `Last-Event-ID`, or was slow) reads on its own
from its position until it is back. Nothing is buffered for a client, so a
slow one costs nothing but its own socket, and one that stops reading is
dropped after SEND_TIMEOUT. Ingest never waits for the feed. Event ids are
positions in the database (`<envelope id>.<entry>`): a client that
reconnects with `Last-Event-ID` (browsers do by themselves), even to a
restarted collector, gets exactly what it missed.
"""

from __future__ import annotations

import asyncio

import orjson
from aiohttp import web
from aiohttp_sse import sse_response

from ..protocol.answers import error_response
from ..read import live
from ..read.noise import Noise
from .keys import NOISE, READER, WRITER
from .params import BadParameter, flag, text

# How often one client reads at most: a burst of commits is one read.
READ_INTERVAL = 0.2
# A client that has not taken an event for this long is dropped; it
# reconnects and catches up from where it was.
SEND_TIMEOUT = 10
# Comments keep proxies and idle browsers from closing the stream.
PING_INTERVAL = 10
# What EventSource waits before reconnecting after the collector went away.
RETRY_MS = 1000


# The shared read keeps every entry after its start; each client filters.
EVERYTHING = live.Filters(noise=None)


class Feed:
    """The newest entries, read once for every client: after each commit
    the entries past `head` are read and framed, and every client is woken
    to take those it wants. It reads only while some client is connected."""

    def __init__(self, committed: asyncio.Event, reader):
        self._committed = committed
        self._reader = reader
        self._next = asyncio.Event()
        self.clients = 0
        self.closed = False
        # The last shared read: its entries (each with its SSE frame) lie
        # after `since`, up to `head`. None while no client is connected.
        self.since: live.Position | None = None
        self.head: live.Position | None = None
        self.framed: list[tuple[live.Entry, bytes]] = []

    def next(self) -> asyncio.Event:
        return self._next

    async def run(self) -> None:
        while True:
            await self._committed.wait()
            self._committed.clear()
            if self.clients:
                await self._read()
                # A burst of commits is one read.
                await asyncio.sleep(READ_INTERVAL)

    async def _read(self) -> None:
        if self.head is None:
            head = await self._reader.run(live.latest_position)
            if not self.clients:
                return  # every client left meanwhile: the next one starts afresh
            # Clients behind this point (all of them, now) read on their own
            # until they pass it: woken to do so.
            self.head = head
            self._wake_all()
        more = True
        while more and self.clients:
            after = self.head
            entries, reached, more = await self._reader.run(live.read_after, after, live.PAGE)
            if self.head is not after or reached == after:
                return  # every client left while it read (left() reset it), or nothing new
            self.since, self.head = after, reached
            self.framed = [(e, _frame(e)) for e in live.select(entries, after, EVERYTHING)]
            self._wake_all()

    def joined(self) -> None:
        self.clients += 1

    def left(self) -> None:
        self.clients -= 1
        if not self.clients:
            # Nobody reads: the next client starts the shared reads afresh.
            self.since = self.head = None
            self.framed = []

    async def close(self, app: web.Application | None = None) -> None:
        """Ends every live stream, so the server's shutdown does not wait on them."""
        self.closed = True
        self._wake_all()

    def _wake_all(self) -> None:
        fired, self._next = self._next, asyncio.Event()
        fired.set()


FEED = web.AppKey("live_feed", Feed)


def filters_of(query, noise: Noise) -> live.Filters:
    kinds = frozenset(k.strip() for k in text(query, "kinds").split(",") if k.strip()) or frozenset(live.KINDS)
    unknown = kinds - set(live.KINDS)
    if unknown:
        raise BadParameter("kinds", ",".join(sorted(unknown)), f"list some of {', '.join(live.KINDS)}")
    trace_id = text(query, "trace_id").lower() or None
    return live.Filters(
        kinds=kinds,
        trace_id=trace_id,
        sdk=text(query, "sdk") or None,
        user=text(query, "user") or None,
        level=text(query, "level") or None,
        # ?noise=1 shows health checks and preflights too.
        noise=None if flag(query, "noise") else noise,
    )


async def start_position(request: web.Request) -> live.Position:
    given = request.headers.get("Last-Event-ID") or request.query.get("after")
    position = live.Position.parse(given)
    if given and position is None:
        raise BadParameter("Last-Event-ID", given, "be an id this feed sent, like 1234.0")
    return position or await request.app[READER].run(live.latest_position)


async def live_feed(request: web.Request) -> web.StreamResponse:
    try:
        filters = filters_of(request.query, request.app[NOISE])
        position = await start_position(request)
    except BadParameter as e:
        return error_response(400, str(e))
    feed = request.app[FEED]
    async with sse_response(request, send_timeout=SEND_TIMEOUT, ping_interval=PING_INTERVAL) as stream:
        feed.joined()
        try:
            await stream.send("", event="ready", id=_id(position), retry=RETRY_MS)
            while stream.is_connected() and not feed.closed:
                woken = feed.next()
                frames, position, more = await _frames_after(request, feed, position, filters)
                if frames:
                    # One write for all of them: a send per event cost more
                    # than the rest of the feed together with ten clients open.
                    await asyncio.wait_for(stream.write(frames), SEND_TIMEOUT)
                if more:
                    continue
                if not await woken_or_gone(woken, request):
                    break
        except (ConnectionResetError, TimeoutError):
            # The client left, or stopped reading for SEND_TIMEOUT: it
            # reconnects with Last-Event-ID and catches up.
            pass
        finally:
            feed.left()
    return stream


async def _frames_after(
    request: web.Request, feed: Feed, position: live.Position, filters: live.Filters
) -> tuple[bytes, live.Position, bool]:
    """The frames a client at `position` gets next, its new position, and
    whether more may be waiting: from the shared read when the client is
    within it, else (behind it, or ahead of a read not made yet) its own read."""
    if feed.since is not None and feed.since <= position < feed.head:
        framed = feed.framed
        if position != feed.since:
            # Most clients are exactly at the read's start; this one has part of it.
            framed = [(e, f) for e, f in framed if e.position > position]
        return b"".join(f for e, f in framed if filters.keeps(e.data)), feed.head, False
    if feed.head is not None and position >= feed.head:
        return b"", position, False
    entries, reached, more = await request.app[READER].run(live.entries_after, position, filters)
    return b"".join(map(_frame, entries)), reached, more


async def woken_or_gone(woken: asyncio.Event, request: web.Request, check_every: float = 1.0) -> bool:
    """Waits until `woken` is set (True) or the client has gone (False).
    aiohttp does not cancel a handler whose client left, so a stream that
    waits for news looks every `check_every` seconds."""
    while not woken.is_set():
        if request.transport is None or request.transport.is_closing():
            return False
        try:
            await asyncio.wait_for(woken.wait(), check_every)
        except TimeoutError:
            continue
    return True


def _frame(entry: live.Entry) -> bytes:
    # orjson writes JSON on one line, so each event's data is one `data:` line.
    return b"id: %s\nevent: %s\ndata: %s\n\n" % (entry.id.encode(), entry.kind.encode(), orjson.dumps(entry.data))


def _id(position: live.Position) -> str:
    return f"{position.envelope}.{position.entry}"


async def live_context(app: web.Application):
    """The shared read of the feed, for the app's lifetime."""
    feed = Feed(app[WRITER].committed, app[READER])
    app[FEED] = feed
    app.on_shutdown.append(feed.close)
    task = asyncio.create_task(feed.run())
    yield
    task.cancel()

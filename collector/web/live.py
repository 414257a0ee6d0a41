"""`GET /api/live`: what was just stored, as Server-Sent Events.

Each client reads the feed itself, from its own position, whenever the
writer commits (at most every READ_INTERVAL): nothing is buffered for it,
so a slow client costs nothing but its own socket, and one that stops
reading is dropped after SEND_TIMEOUT. Ingest never waits for the feed.
Event ids are positions in the database (`<envelope id>.<entry>`): a client
that reconnects with `Last-Event-ID` (browsers do by themselves), even to a
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


class Commits:
    """Wakes every live client when the writer commits: the writer's event
    is taken by one task and passed on to all as a fresh event each time."""

    def __init__(self, committed: asyncio.Event):
        self._committed = committed
        self._next = asyncio.Event()
        self.closed = False

    def next(self) -> asyncio.Event:
        return self._next

    async def relay(self) -> None:
        while True:
            await self._committed.wait()
            self._committed.clear()
            self._wake_all()

    async def close(self, app: web.Application | None = None) -> None:
        """Ends every live stream, so the server's shutdown does not wait on them."""
        self.closed = True
        self._wake_all()

    def _wake_all(self) -> None:
        fired, self._next = self._next, asyncio.Event()
        fired.set()


COMMITS = web.AppKey("live_commits", Commits)


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
    commits = request.app[COMMITS]
    reader = request.app[READER]
    async with sse_response(request, send_timeout=SEND_TIMEOUT, ping_interval=PING_INTERVAL) as stream:
        try:
            await stream.send("", event="ready", id=_id(position), retry=RETRY_MS)
            while stream.is_connected() and not commits.closed:
                woken = commits.next()
                entries, position, more = await reader.run(live.entries_after, position, filters)
                if entries:
                    # One write for all of them: a send per event cost more
                    # than the rest of the feed together with ten clients open.
                    await asyncio.wait_for(stream.write(b"".join(map(_frame, entries))), SEND_TIMEOUT)
                if more:
                    continue
                if not await woken_or_gone(woken, request):
                    break
                await asyncio.sleep(READ_INTERVAL)
        except (ConnectionResetError, TimeoutError):
            # The client left, or stopped reading for SEND_TIMEOUT: it
            # reconnects with Last-Event-ID and catches up.
            pass
    return stream


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
    """The task that wakes live clients, for the app's lifetime."""
    commits = Commits(app[WRITER].committed)
    app[COMMITS] = commits
    app.on_shutdown.append(commits.close)
    task = asyncio.create_task(commits.relay())
    yield
    task.cancel()

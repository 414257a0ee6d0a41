"""Connections: a deadline for request heads, a cap on open connections, and
one log line per burst of a repeated error.

aiohttp closes an idle keep-alive connection after `keepalive_timeout`, but
nothing bounds how long a request's head may take to arrive, and nothing
stops connections from using up every file descriptor; asyncio then logs
its failing accept loop again and again. `listen` puts a protocol factory in
front of aiohttp's server that counts connections, refuses those over the
cap with a 503, and closes a connection whose request head is late with a 408.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import resource
import threading
import time
from dataclasses import dataclass

from aiohttp import web

# How long a request's head (request line and headers) may take to arrive:
# from connecting for the first request, from its first byte for later ones.
HEADER_TIMEOUT = 10.0
DEFAULT_MAX_CONNECTIONS = 1000
# Accepted in one loop tick before any of them is refused and closed.
BACKLOG = 128
# A refused client gets this long to read the 503 while what it sent is read
# and dropped; closing at once with unread input makes the kernel answer
# with a reset, which can destroy the 503 before the client reads it. Past
# MAX_LINGERING such connections at once, refusals close at once.
REFUSAL_LINGER = 1.0
MAX_LINGERING = 64
# File descriptors kept out of the cap: SQLite files, the writer's pipes and
# logs (64), a backlog's worth of sockets being refused, those lingering.
RESERVED_FDS = 64 + BACKLOG + MAX_LINGERING
REPEAT_WINDOW = 10.0

log = logging.getLogger("collector.connections")


async def listen(runner: web.AppRunner, host: str, port: int, max_connections: int) -> GuardedSite:
    """Starts serving `runner` (set up) on host:port as `collector serve` does."""
    install_repeat_filter()
    files = raise_file_limit()
    limit = connection_limit(max_connections, files)
    if limit < max_connections:
        log.warning("the file limit (%d) allows %d open connections, not %d", files, limit, max_connections)
    site = GuardedSite(runner, ConnectionGuard(runner.server, limit), host, port)
    await site.start()
    return site


def raise_file_limit() -> int:
    """Raises the soft limit on open files to the hard one, as servers do;
    returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == hard or soft == resource.RLIM_INFINITY:
        return soft
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        # Some kernels refuse more than their own per-process maximum: keep
        # the soft limit, and the cap follows it.
        return soft
    return target


def connection_limit(configured: int, files: int) -> int:
    if files == resource.RLIM_INFINITY:
        return max(1, configured)
    return max(1, min(configured, files - RESERVED_FDS))


def _plain_response(status: str, text: str, extra: str = "") -> bytes:
    body = text.encode()
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {len(body)}\r\n"
        f"{extra}Connection: close\r\n\r\n"
    )
    return head.encode() + body


def refusal(open_now: int, limit: int) -> bytes:
    return _plain_response(
        "503 Service Unavailable",
        f"too many open connections ({open_now}); the collector serves at most {limit} at once "
        "(--max-connections, COLLECTOR_MAX_CONNECTIONS). Retry in a moment.\n",
        "Retry-After: 1\r\n",
    )


def head_timeout(seconds: float) -> bytes:
    return _plain_response("408 Request Timeout", f"request head not complete within {seconds:g} s; closing.\n")


class ConnectionGuard:
    """The protocol factory the listening socket uses: counts open
    connections, refuses those over `limit`, and wraps aiohttp's protocol
    for the others in a deadline for each request head."""

    def __init__(self, server: web.Server, limit: int, header_timeout: float = HEADER_TIMEOUT):
        self._server = server
        self.limit = limit
        self.header_timeout = header_timeout
        self.open = 0
        self.lingering = 0
        self.refused = 0
        self.timed_out = 0

    def __call__(self) -> asyncio.Protocol:
        # Counted here, not in connection_made: one loop tick can accept a
        # whole backlog before any of its connections is made.
        if self.open >= self.limit:
            self.refused += 1
            log.warning("refusing connections: %d open, the limit is %d (--max-connections)", self.open, self.limit)
            return _Refusal(self)
        self.open += 1
        return _HeadDeadline(self, self._server())


class _HeadDeadline(asyncio.Protocol):
    """aiohttp's protocol for one connection, with a deadline on each
    request head; every event is passed on to it unchanged."""

    def __init__(self, guard: ConnectionGuard, handler):
        self._guard = guard
        self._handler = handler
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport) -> None:
        self._transport = transport
        self._handler.connection_made(transport)
        # A connection that never sends a byte gets no more time than a slow one.
        self._arm()

    def data_received(self, data: bytes) -> None:
        self._handler.data_received(data)
        if not self._waiting():
            self._disarm()  # a head is complete: the request is the handler's now
        elif self._timer is None:
            self._arm()  # the first bytes of the next request's head

    def eof_received(self):
        return self._handler.eof_received()

    def pause_writing(self) -> None:
        self._handler.pause_writing()

    def resume_writing(self) -> None:
        self._handler.resume_writing()

    def connection_lost(self, exc) -> None:
        self._disarm()
        self._guard.open -= 1
        self._handler.connection_lost(exc)

    def _waiting(self) -> bool:
        # Pinned to aiohttp 3.x internals (web_protocol.RequestHandler.start):
        # `_waiter` is a pending future exactly while the connection waits for
        # a complete request head; aiohttp's own keep-alive check reads it the
        # same way. tests/test_connections.py fails loudly if that changes.
        waiter = self._handler._waiter
        return waiter is not None and not waiter.done()

    def _arm(self) -> None:
        self._timer = asyncio.get_running_loop().call_later(self._guard.header_timeout, self._expire)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self) -> None:
        self._timer = None
        if not self._waiting() or self._transport is None:
            return
        self._guard.timed_out += 1
        self._transport.write(head_timeout(self._guard.header_timeout))
        self._handler.force_close()  # closes the transport once the 408 is written


class _Refusal(asyncio.Protocol):
    """A connection over the cap: answered 503 at once, then closed."""

    def __init__(self, guard: ConnectionGuard):
        self._guard = guard
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport) -> None:
        transport.write(refusal(self._guard.open, self._guard.limit))
        if self._guard.lingering >= MAX_LINGERING or not transport.can_write_eof():
            transport.close()
            return
        transport.write_eof()
        self._guard.lingering += 1
        self._timer = asyncio.get_running_loop().call_later(REFUSAL_LINGER, transport.close)

    def data_received(self, data: bytes) -> None:
        pass  # read only so that closing sends no reset; the answer is sent

    def eof_received(self) -> bool:
        return False  # the transport closes

    def connection_lost(self, exc) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._guard.lingering -= 1


class GuardedSite(web.BaseSite):
    """A TCP site whose connections go through a ConnectionGuard."""

    __slots__ = ("_guard", "_host", "_port")

    def __init__(self, runner: web.AppRunner, guard: ConnectionGuard, host: str, port: int):
        super().__init__(runner, backlog=BACKLOG)
        self._guard = guard
        self._host = host
        self._port = port

    @property
    def guard(self) -> ConnectionGuard:
        return self._guard

    @property
    def port(self) -> int:
        return self._server.sockets[0].getsockname()[1] if self._server else self._port

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self.port}"

    async def start(self) -> None:
        await super().start()
        # BaseSite.stop() closes `_server`, the listening server, as for TCPSite.
        self._server = await asyncio.get_running_loop().create_server(
            self._guard, self._host, self._port, backlog=self._backlog
        )


# --- one line per burst of a repeated error ------------------------------------


@dataclass
class _Run:
    since: float
    name: str
    level: int
    text: str
    suppressed: int = 0


def repeat_key(record: logging.LogRecord) -> tuple:
    """What makes two records "the same": logger, level, the first line of the
    message template (asyncio puts the socket on later lines) and errno."""
    exc = record.exc_info[1] if record.exc_info else None
    return record.name, record.levelno, str(record.msg).partition("\n")[0], getattr(exc, "errno", None)


class RepeatFilter(logging.Filter):
    """Lets the first of a run of identical records through, drops the
    repeats, and at most once a window turns one into a summary: "...
    (repeated N times in the last S s)", N counting it and those dropped."""

    MAX_KEYS = 1024

    def __init__(self, window: float = REPEAT_WINDOW, clock=time.monotonic):
        super().__init__()
        self.window = window
        self._clock = clock
        self._runs: dict[tuple, _Run] = {}
        # Handler.handle filters before taking the handler's lock.
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "repeat_summary", False):
            return True
        key = repeat_key(record)
        with self._lock:
            now = self._clock()
            run = self._runs.get(key)
            if run is not None and now - run.since < self.window:
                run.suppressed += 1
                return False
            text = record.getMessage().partition("\n")[0]
            if run is not None and run.suppressed:
                _summarize(record, text, run.suppressed + 1, now - run.since)
            if run is None and len(self._runs) >= self.MAX_KEYS:
                self._prune(now)
            self._runs[key] = _Run(now, record.name, record.levelno, text)
        return True

    def flush(self) -> None:
        """Logs the repeats still counted, e.g. when the process stops."""
        records = []
        with self._lock:
            now = self._clock()
            for run in self._runs.values():
                if run.suppressed:
                    record = logging.LogRecord(run.name, run.level, "", 0, run.text, None, None)
                    _summarize(record, run.text, run.suppressed, now - run.since)
                    records.append(record)
                    run.since, run.suppressed = now, 0
        for record in records:
            logging.getLogger(record.name).handle(record)

    def _prune(self, now: float) -> None:
        for key in [k for k, run in self._runs.items() if not run.suppressed and now - run.since >= self.window]:
            del self._runs[key]


def _summarize(record: logging.LogRecord, text: str, count: int, seconds: float) -> None:
    record.msg = f"{text} (repeated {count} times in the last {max(seconds, 1):.0f} s)"
    record.args = None
    record.exc_info = record.exc_text = record.stack_info = None
    record.repeat_summary = True


def install_repeat_filter(window: float = REPEAT_WINDOW) -> RepeatFilter:
    """On every handler of the root logger, so that it sees every logger's
    records (asyncio's accept loop among them) once."""
    repeat = RepeatFilter(window)
    for handler in logging.getLogger().handlers:
        handler.addFilter(repeat)
    atexit.register(repeat.flush)
    return repeat

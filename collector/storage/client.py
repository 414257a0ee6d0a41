"""The writer, as the server sees it: hand over a `Batch`, await the answer.

A separate process owns the write connection and group-commits
(process.py). `Writer.write` turns a batch into a packet (plain tuples, plus
its trace summaries) and sends it to the writer process at once. The process
takes every packet waiting in its socket as one group, writes the group in
one transaction (a bad batch is retried alone, so it fails alone), commits,
and answers for the whole group; the futures are settled in the order the
packets were sent. So an envelope is answered 200 only after its rows are on
disk, and ingest never waits on a SQLite lock. (Why the writer is a process
of its own, and started as a fresh interpreter: see process.py.)

With `serve --workers N`, the other servers connect to the primary's writer
process instead of starting one (shared.py).
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import socket
import subprocess
from dataclasses import dataclass, field

import orjson

from . import lockfile, shared, span_packs, summaries, wire
from . import process as writer_process
from .replaced import file_identity, replaced_reason

log = logging.getLogger(__name__)

# Bytes of batches waiting to be written (Batch.size): the queue's real
# memory cost, since one batch may be a 100-byte session or a 20 MB attachment.
MAX_QUEUED_BYTES = 256 * 1024 * 1024
# How long the writer process may take to open the database.
START_TIMEOUT = 30.0
# How long a request waits for a writer process that is restarting before it
# is answered 503; restarts take a fraction of a second unless the database
# cannot be opened, and then they are retried with this backoff (seconds).
RESTART_WAIT = 2.0
RESTART_BACKOFF = (0.25, 5.0)
# How often the server checks that the database file is still the one it opened.
WATCH_INTERVAL = 1.0

# Why a write fails once the collector has begun to stop.
STOPPING = "the collector is stopping; retry the request"


class QueueFull(Exception):
    """The write queue is full: answer 429 and let the SDK back off."""


class WriteFailed(Exception):
    """The rows of a batch could not be stored (answer 500 with the reason)."""


class WriterUnavailable(Exception):
    """No writer process can store anything right now (answer 503 with the
    reason and Retry-After): it is restarting, cannot open the database, or
    the database file was deleted or replaced under the collector."""


class StartFailed(Exception):
    """The writer process could not open the database; the reason says why."""


@dataclass
class Batch:
    """What one request stores: an optional envelope row and rows by table
    (each a dict of column values; `schema.TABLES` names the columns)."""

    envelope: dict | None = None
    rows: dict[str, list[dict]] = field(default_factory=dict)
    rejection: dict | None = None
    # What the batch costs in memory while it waits (ingest's estimate: the
    # decoded body plus its rows): what it weighs in the queue.
    size: int = 0
    # Instead of rows: what the writer process's `prepare` function makes
    # them from (wire.Raw), a NamedTuple whose received_at and endpoint
    # `stamp` fills in (ingest's RawEnvelope).
    raw: tuple | None = None

    def stamp(self, received_at: float, endpoint: str) -> None:
        """When and where the envelope was received, for its own row."""
        if self.raw is not None:
            self.raw = self.raw._replace(received_at=received_at, endpoint=endpoint)
        else:
            self.envelope.update(received_at=received_at, endpoint=endpoint)

    def packet(self) -> wire.Packet | wire.Raw:
        """The batch as the writer process takes it: plain tuples, cheap to send."""
        if self.raw is not None:
            return wire.Raw(self.raw)
        if self.rejection is not None:
            return wire.Packet(None, {"rejections": [wire.values("rejections", self.rejection)]}, {})
        envelope = wire.values("envelopes", self.envelope) if self.envelope is not None else None
        rows = {
            table: [wire.values(table, row) for row in table_rows]
            for table, table_rows in self.rows.items()
            if table != "spans"
        }
        if self.rows.get("spans"):
            try:
                rows["span_packs"] = span_packs.from_dicts(self.rows["spans"])
            except orjson.JSONEncodeError as e:
                # As the writer fails a batch it cannot store: this request alone, with why.
                raise WriteFailed(f"could not store the envelope's spans: {e}") from None
        return wire.Packet(envelope, rows, summaries.summarize(self.rows))


@dataclass
class _Link:
    """One running writer process and the stream to it."""

    # None when this server connected to a writer another server started.
    process: subprocess.Popen | None
    stream: asyncio.StreamWriter
    answers: asyncio.Task | None = None
    # Frames made during this turn of the event loop, sent together at its
    # end: one send() per turn instead of one per request (a send of each
    # ~30 KB packet was a tenth of the server's CPU under load).
    pending: list[bytes] = field(default_factory=list)

    def send(self, data: bytes) -> None:
        if not self.pending:
            asyncio.get_running_loop().call_soon(self.flush)
        self.pending.append(data)

    def flush(self) -> None:
        if self.pending and not self.stream.is_closing():
            self.stream.write(b"".join(self.pending))
        self.pending.clear()


class Writer:
    """The server's side of the writer: each packet is sent to the writer
    process as soon as it is made, and answered once committed. The process
    takes every packet waiting in the socket as one group, so the group
    grows with the load and the process never waits on this event loop.

    `start()` opens the database (holding its lock file) and starts the
    process; if the process dies, a new one is started off the event loop,
    with backoff, while requests are answered 503 with the reason. Nothing
    starts before `start()`."""

    def __init__(
        self,
        path: str,
        max_queue: int = 10_000,
        max_bytes: int = MAX_QUEUED_BYTES,
        durability: str = "normal",
        owner: str = "",
        share: bool = False,
        address: str | None = None,
        prepare: str | None = None,
    ):
        self.path = path
        # The function the writer process makes wire.Raw batches into packets with.
        self._prepare = prepare
        self.durability = durability
        self._owner = owner
        self._max_batches = max_queue
        self._max_bytes = max_bytes
        self._queued_bytes = 0
        # (size, future) of packets sent and not answered yet, in send order.
        self._unanswered: collections.deque[tuple] = collections.deque()
        self._link: _Link | None = None
        self._up = asyncio.Event()
        # Why no process is running (set after a failed restart), and why
        # none ever will again (the file was replaced).
        self._down: str | None = None
        self.gone: str | None = None
        self._starting: subprocess.Popen | None = None
        self._tasks: set[asyncio.Task] = set()
        # Set once a group is committed: the live feed waits on it, then reads what is new.
        self.committed = asyncio.Event()
        self._closing = False
        self._lock: lockfile.LockFile | None = None
        self._identity = None
        self._share = share
        self._listener: shared.Listener | None = None
        # Where the writer process of another server listens, for a worker.
        self._address = address

    async def start(self) -> None:
        """Raises DatabaseInUse when another collector serves this file, and
        StartFailed when the database cannot be opened."""
        if self._address is None:
            self._lock = lockfile.acquire(self.path, self._owner)
            if self._share:
                self._listener = shared.Listener()
        try:
            await self._launch()
        except StartFailed:
            self._release()
            raise
        self._identity = file_identity(self.path)
        self._spawn(self._watch_file())

    async def write(self, batch: Batch) -> None:
        if self._closing:
            raise WriteFailed(STOPPING)
        await self._wait_until_up()
        size = batch.size
        # One batch is always let in, however large, so a big envelope is
        # not refused forever on an idle collector.
        if len(self._unanswered) >= self._max_batches or (
            self._queued_bytes and self._queued_bytes + size > self._max_bytes
        ):
            raise QueueFull()
        future = asyncio.get_running_loop().create_future()
        self._link.send(wire.frame(batch.packet()))
        self._unanswered.append((size, future))
        self._queued_bytes += size
        await future

    async def chore(self, name: str, *args):
        """Have the writer process run a chore (storage/chores.py) in order
        with the packets sent before it; its result, or WriteFailed."""
        if self._closing:
            raise WriteFailed(STOPPING)
        await self._wait_until_up()
        future = asyncio.get_running_loop().create_future()
        self._link.send(wire.frame(wire.Chore(name, args)))
        self._unanswered.append((0, future))
        return await future

    async def close(self) -> None:
        """Write everything already sent, then stop the writer process."""
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._starting is not None:
            # A start still waiting on a database locked by another program.
            self._starting.kill()
        link, self._link = self._link, None
        if link is not None:
            if link.process is not None:
                link.send(wire.frame(None))
            link.flush()
            await link.stream.drain()
            if link.process is None:
                # A worker's: the writer serves the other servers on, not
                # told to stop; what this one sent is answered first.
                await asyncio.gather(*(future for _, future in self._unanswered), return_exceptions=True)
                link.answers.cancel()
            else:
                # The process answers every packet sent before the stop,
                # then ends; the answers reader returns once it sees that end.
                await link.answers
                await asyncio.to_thread(link.process.wait)
            link.stream.close()
        self._release()

    def _release(self) -> None:
        if self._listener is not None:
            self._listener.close()
        if self._lock is not None:
            self._lock.release()

    @property
    def address(self) -> str | None:
        """Where other server processes connect to the writer process, when shared."""
        return self._listener.address if self._listener is not None else None

    @property
    def process(self) -> subprocess.Popen | None:
        """The writer process running now, if one is."""
        return self._link.process if self._link is not None else None

    @property
    def queued(self) -> dict:
        return {"batches": len(self._unanswered), "bytes": self._queued_bytes}

    async def _wait_until_up(self) -> None:
        if self.gone:
            raise WriterUnavailable(self.gone)
        if self._up.is_set():
            return
        if self._down is not None:
            raise WriterUnavailable(self._down)
        # A restart usually takes a fraction of a second: wait for it rather
        # than refuse the request.
        try:
            async with asyncio.timeout(RESTART_WAIT):
                await self._up.wait()
        except TimeoutError:
            raise WriterUnavailable("the writer process is restarting") from None

    def _spawn(self, coroutine) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _launch(self) -> None:
        # Starting the process and waiting for it to open the database
        # blocks (for seconds when another program holds a write lock):
        # never on the event loop.
        if self._address is not None:
            ours, process = await asyncio.to_thread(self._connect), None
        else:
            ours, theirs = socket.socketpair()
            process = await asyncio.to_thread(self._start_process, ours, theirs)
        reader, stream = await asyncio.open_connection(sock=ours)
        self._link = link = _Link(process, stream)
        link.answers = asyncio.ensure_future(self._read_answers(link, reader))
        self._up.set()

    def _connect(self) -> socket.socket:
        try:
            return shared.connect(self._address, START_TIMEOUT)
        except (OSError, EOFError) as e:
            raise StartFailed(f"cannot reach the writer process: {e}") from None

    def _start_process(self, ours: socket.socket, theirs: socket.socket) -> subprocess.Popen:
        """The writer process, once it has opened the database; StartFailed
        with its reason when it could not."""
        try:
            listener = self._listener.sock.fileno() if self._listener is not None else None
            with theirs:
                process = subprocess.Popen(
                    writer_process.command(theirs.fileno(), self.path, self.durability, listener, self._prepare),
                    pass_fds=[theirs.fileno()] if listener is None else [theirs.fileno(), listener],
                    stdin=subprocess.DEVNULL,
                    env=writer_process.environment(),
                )
        except OSError as e:
            ours.close()
            raise StartFailed(f"cannot start the writer process: {e}") from None
        self._starting = process
        try:
            if self._closing:
                process.kill()
            ours.settimeout(START_TIMEOUT)
            try:
                ready = wire.receive(ours)
            except (OSError, EOFError) as e:
                process.kill()
                process.wait()
                ours.close()
                raise StartFailed(f"the writer process did not open {self.path}: {e}") from None
            if ready is not None:
                process.wait()
                ours.close()
                raise StartFailed(ready)
        finally:
            self._starting = None
        ours.setblocking(False)
        return process

    async def _read_answers(self, link: _Link, reader: asyncio.StreamReader) -> None:
        """Settles futures as the process answers: each answer has one error
        (or None) per packet of a group, in the order they were sent, and
        the reason the database is gone, if it is."""
        try:
            while True:
                answer: wire.Answer = await wire.read(reader)
                if answer.gone:
                    self._mark_gone(answer.gone)
                for error, result in itertools.zip_longest(answer.errors, answer.results):
                    self._settle(*self._unanswered.popleft(), error, result)
                self.committed.set()
        except (asyncio.IncompleteReadError, OSError) as e:
            if self._closing:
                # The process ended because it was told to stop; packets
                # sent after that were never written.
                self._fail_unanswered(STOPPING)
                return
            # Killed from outside, or out of memory: what it had not
            # committed is lost, so these requests fail (500) and the next
            # ones go to a new process.
            log.error("the writer process died (%s); starting a new one", e)
            self._up.clear()
            self._link = None
            self._fail_unanswered(f"the writer process died ({e}); retry the request")
            link.stream.close()
            self._spawn(self._restart(link.process))

    async def _restart(self, dead: subprocess.Popen | None) -> None:
        if dead is not None:
            await asyncio.to_thread(dead.wait)
        delay = RESTART_BACKOFF[0]
        while not self._closing:
            try:
                await self._launch()
            except StartFailed as e:
                if self._down != str(e):
                    log.error("cannot restart the writer process: %s; trying again every few seconds", e)
                self._down = str(e)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RESTART_BACKOFF[1])
                continue
            if self._down is not None:
                log.warning("the writer process is running again")
            self._down = None
            return

    async def _watch_file(self) -> None:
        # The writer checks before every commit; this notices a replaced
        # file even when nothing is being sent, so pages can say so too.
        while self.gone is None:
            await asyncio.sleep(WATCH_INTERVAL)
            if file_identity(self.path) != self._identity:
                self._mark_gone(replaced_reason(self.path))

    def _mark_gone(self, reason: str) -> None:
        if self.gone is None:
            log.error("%s", reason)
        self.gone = reason

    def _fail_unanswered(self, reason: str) -> None:
        while self._unanswered:
            self._settle(*self._unanswered.popleft(), reason)

    def _settle(self, size: int, future: asyncio.Future, error: str | None, result=None) -> None:
        self._queued_bytes -= size
        if future.cancelled():
            return
        if error is None:
            future.set_result(result)
        elif self.gone:
            future.set_exception(WriterUnavailable(self.gone))
        else:
            future.set_exception(WriteFailed(error))

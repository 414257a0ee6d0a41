"""The single writer: a process of its own owns the write connection and
group-commits.

Request handlers hand over a `Batch` and await its future. `write` turns the
batch into plain tuples (rows in column order, plus its trace summaries) and
sends them to the writer process at once. The process takes every packet
waiting in its socket as one group, writes the group in one transaction (a
bad batch is retried alone, so it fails alone), commits, and answers for the
whole group; the futures are settled in the order the packets were sent. So
an envelope is answered 200 only after its rows are on disk, and ingest
never waits on a SQLite lock.

Why a process and not a thread: parsing requests and writing SQLite then run
on two cores instead of taking turns on one interpreter lock (`make bench`).
"""

from __future__ import annotations

import asyncio
import collections
import gc
import logging
import multiprocessing
import os
import pickle
import signal
import socket
import sqlite3
import struct
import threading
import time
from dataclasses import dataclass, field

from ..protocol import grouping
from ..protocol import jsonshape
from . import lockfile
from . import schema
from . import summaries
from ..ingest.normalize import Records

log = logging.getLogger(__name__)

# How many batches one transaction may take; bounds the latency of the
# first batch in a burst.
MAX_GROUP = 512
# Bytes of batches waiting to be written (Batch.size): the queue's real
# memory cost, since one batch may be a 100-byte session or a 20 MB attachment.
MAX_QUEUED_BYTES = 256 * 1024 * 1024
# How large the write-ahead log may grow before the writer resets it. Each
# reset stalls the writer 20-45 ms (the last checkpoint pass must finish);
# under full load the log grows ~80 MB/s (index pages rewritten by every
# commit), so 256 MB means one stall every few seconds, not every second,
# and the p99 latency no longer sits on them.
WAL_LIMIT = 256 * 1024 * 1024
# How long the writer process may take to open the database.
START_TIMEOUT = 30.0
# How long a request waits for a writer process that is restarting before it
# is answered 503; restarts take a fraction of a second unless the database
# cannot be opened, and then they are retried with this backoff (seconds).
RESTART_WAIT = 2.0
RESTART_BACKOFF = (0.25, 5.0)
# How often the server checks that the database file is still the one it opened.
WATCH_INTERVAL = 1.0

# The writer process is forked from a small server process started once, not
# from this one: forking a process that runs threads is unsafe, and a fresh
# interpreter per writer would re-import everything.
_processes = multiprocessing.get_context("forkserver")
_processes.set_forkserver_preload([__name__])


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
    """What one request stores: an optional envelope row and its records."""

    envelope: dict | None = None
    records: Records = field(default_factory=Records)
    rejection: dict | None = None
    # What the batch costs in memory while it waits (ingest's estimate: the
    # decoded body plus its rows): what it weighs in the queue.
    size: int = 0


# Rows travel to the writer process as tuples in these column orders. The
# process adds what only it knows: an envelope's id, first in `envelopes`
# and last (`envelope_id`) in every table holding rows of an envelope.
def _row_columns(table: str) -> list[str]:
    return [c for c in schema.columns(table) if c != "envelope_id" and not (table == "envelopes" and c == "id")]


ROW_COLUMNS = {table: _row_columns(table) for table in schema.TABLES}
# Tables keyed by the event's id: a resent event keeps its first row. Their
# event_id comes first.
KEYED_BY_EVENT_ID = ("events", "transactions")
assert all(ROW_COLUMNS[table][0] == "event_id" for table in KEYED_BY_EVENT_ID)
# Where an envelope row (id first) holds its content encoding.
ENCODING = 1 + ROW_COLUMNS["envelopes"].index("content_encoding")


def _values(table: str, row: dict) -> tuple:
    return tuple(map(row.get, ROW_COLUMNS[table]))


def _packet(batch: Batch) -> tuple:
    """A batch as the writer process takes it: plain tuples, cheap to send."""
    if batch.rejection is not None:
        return (None, {"rejections": [_values("rejections", batch.rejection)]}, {})
    envelope = _values("envelopes", batch.envelope) if batch.envelope is not None else None
    rows = {table: [_values(table, row) for row in table_rows] for table, table_rows in batch.records.rows.items()}
    return (envelope, rows, summaries.summarise(batch.records.rows))


def file_identity(path: str) -> tuple[int, int] | None:
    """Which file a path names now (device, inode), or None when it is gone:
    a database deleted or replaced while the collector runs has a new one."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino)


def replaced_reason(path: str) -> str:
    return (
        f"the database file {path} was deleted or replaced while the collector was running, so nothing more is "
        "stored: restart the collector to open the file now at that path"
    )


@dataclass
class _Link:
    """One running writer process and the stream to it."""

    process: multiprocessing.process.BaseProcess
    stream: asyncio.StreamWriter
    answers: asyncio.Task | None = None


class Writer:
    """The server's side of the writer: each packet is sent to the writer
    process as soon as it is made, and answered once committed. The process
    takes every packet waiting in the socket as one group, so the group
    grows with the load and the process never waits on this event loop.

    `start()` opens the database (holding its lock file) and starts the
    process; if the process dies, a new one is started off the event loop,
    with backoff, while requests are answered 503 with the reason."""

    def __init__(
        self,
        path: str,
        max_queue: int = 10_000,
        max_bytes: int = MAX_QUEUED_BYTES,
        durability: str = "normal",
        owner: str = "",
    ):
        self.path = path
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
        self._starting: multiprocessing.process.BaseProcess | None = None
        self._tasks: set[asyncio.Task] = set()
        self._closing = False
        self._lock: lockfile.LockFile | None = None
        self._identity = None

    async def start(self) -> None:
        """Raises DatabaseInUse when another collector serves this file, and
        StartFailed when the database cannot be opened."""
        self._lock = lockfile.acquire(self.path, self._owner)
        try:
            await self._launch()
        except StartFailed:
            self._lock.release()
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
        if len(self._unanswered) >= self._max_batches or (self._queued_bytes and self._queued_bytes + size > self._max_bytes):
            raise QueueFull()
        future = asyncio.get_running_loop().create_future()
        self._link.stream.write(_frame(_packet(batch)))
        self._unanswered.append((size, future))
        self._queued_bytes += size
        await future

    async def close(self) -> None:
        """Write everything already sent, then stop the writer process."""
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._starting is not None and self._starting.pid is not None:
            # A start still waiting on a database locked by another program.
            self._starting.kill()
        link, self._link = self._link, None
        if link is not None:
            link.stream.write(_frame(None))
            await link.stream.drain()
            # The process answers every packet sent before the stop, then
            # ends; the answers reader returns once it sees that end.
            await link.answers
            await asyncio.to_thread(link.process.join)
            link.stream.close()
        if self._lock is not None:
            self._lock.release()

    @property
    def process(self) -> multiprocessing.process.BaseProcess | None:
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
        ours, theirs = socket.socketpair()
        process = _processes.Process(
            target=_serve, args=(self.path, theirs, self.durability), name="collector-writer", daemon=True
        )
        self._starting = process
        try:
            # Starting the process and waiting for it to open the database
            # blocks (for seconds when another program holds a write lock):
            # never on the event loop.
            await asyncio.to_thread(self._start_process, process, ours, theirs)
        finally:
            self._starting = None
        reader, stream = await asyncio.open_connection(sock=ours)
        self._link = link = _Link(process, stream)
        link.answers = asyncio.ensure_future(self._read_answers(link, reader))
        self._up.set()

    def _start_process(self, process, ours: socket.socket, theirs: socket.socket) -> None:
        process.start()
        theirs.close()
        if self._closing:
            process.kill()
        ours.settimeout(START_TIMEOUT)
        try:
            ready = _receive(ours)
        except (OSError, EOFError) as e:
            process.kill()
            process.join()
            ours.close()
            raise StartFailed(f"the writer process did not open {self.path}: {e}") from None
        if ready is not None:
            process.join()
            ours.close()
            raise StartFailed(ready)
        ours.setblocking(False)

    async def _read_answers(self, link: _Link, reader: asyncio.StreamReader) -> None:
        """Settles futures as the process answers: each answer is one error
        (or None) per packet of a group, in the order they were sent, and
        the reason the database is gone, if it is."""
        try:
            while True:
                (length,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
                errors, gone = pickle.loads(await reader.readexactly(length))
                if gone:
                    self._mark_gone(gone)
                for error in errors:
                    self._settle(*self._unanswered.popleft(), error)
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

    async def _restart(self, dead) -> None:
        await asyncio.to_thread(dead.join)
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

    def _settle(self, size: int, future: asyncio.Future, error: str | None) -> None:
        self._queued_bytes -= size
        if future.cancelled():
            return
        if error is None:
            future.set_result(None)
        elif self.gone:
            future.set_exception(WriterUnavailable(self.gone))
        else:
            future.set_exception(WriteFailed(error))


# --- messages between the two processes: a 4-byte length, then a pickle ------

_LENGTH = struct.Struct("!I")


def _frame(message) -> bytes:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(data)) + data


def _send(sock: socket.socket, message) -> None:
    sock.sendall(_frame(message))


def _receive(sock: socket.socket):
    (length,) = _LENGTH.unpack(_read_exactly(sock, _LENGTH.size))
    return pickle.loads(_read_exactly(sock, length))


def _read_exactly(sock: socket.socket, n: int) -> bytearray:
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        read = sock.recv_into(view[got:])
        if not read:
            raise EOFError("the other process closed the connection")
        got += read
    return buf


class _Frames:
    """Messages from a socket, as many at a time as have arrived: one read
    takes everything waiting, however many packets that is."""

    def __init__(self, sock: socket.socket):
        self._sock = sock
        self._buffer = bytearray()

    def waiting(self, limit: int) -> list:
        """At least one message (blocking until one is complete), at most `limit`."""
        while True:
            messages = self._complete(limit)
            if messages:
                return messages
            chunk = self._sock.recv(1 << 20)
            if not chunk:
                raise EOFError("the server closed the connection")
            self._buffer += chunk

    def _complete(self, limit: int) -> list:
        buffer, at, messages = self._buffer, 0, []
        with memoryview(buffer) as view:
            while len(messages) < limit and len(buffer) - at >= _LENGTH.size:
                (length,) = _LENGTH.unpack_from(view, at)
                end = at + _LENGTH.size + length
                if end > len(buffer):
                    break
                messages.append(pickle.loads(view[at + _LENGTH.size : end]))
                at = end
        # Deleting from the front also gives back the memory of a large
        # upload: bytearray shrinks once less than half of it is in use.
        del buffer[:at]
        return messages


# --- the writer process ------------------------------------------------------


def tune_gc() -> None:
    """Garbage collection for the server and writer processes: what exists
    at startup (modules, the app) is never collected, so it is frozen out of
    every later pass; and collections wait for 50,000 new objects, not 700.
    A request or a 10,000-span trace page allocates tens of thousands of
    dicts that reference counting frees anyway; collecting every 700 took a
    third of that page's time."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 10)



def _serve(path: str, sock: socket.socket, durability: str = "normal") -> None:
    """The writer process: commit each group it is sent, answer with one
    error (or None) per batch. Ends when told to, or when the server process
    is gone (its socket closes)."""
    # Ctrl-C reaches the whole process group; the server stops this process
    # itself once it has drained the queue.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tune_gc()
    try:
        store = Store(path, durability)
    except (sqlite3.Error, OSError) as e:
        _send(sock, _open_failure(path, e))
        return
    _send(sock, None)
    try:
        frames = _Frames(sock)
        stopping = False
        while not stopping:
            try:
                # Every packet already waiting joins the group.
                group = frames.waiting(MAX_GROUP)
                if None in group:
                    stopping = True
                    group = [packet for packet in group if packet is not None]
                if group:
                    _send(sock, store.commit(group))
            except (EOFError, OSError):
                # The server is gone: what was committed stays committed.
                break
    finally:
        store.close()


def _open_failure(path: str, error: Exception) -> str:
    if isinstance(error, sqlite3.OperationalError) and "locked" in str(error):
        return (
            f"another program holds a write lock on {path} ({error}): close the sqlite3 shell or database tool "
            "with an open write transaction on it, and the collector starts writing again"
        )
    return f"cannot open the database {path}: {error}"


# What storing a value of the wrong type or range can raise: the batch that
# holds it fails alone. (An integer past 64 bits is an OverflowError, not a
# sqlite3.Error.)
STORE_ERRORS = (sqlite3.Error, OverflowError, ValueError, TypeError)


class Store:
    """The write connection, in the writer process."""

    def __init__(self, path: str, durability: str = "normal"):
        self._path = path
        self._conn = schema.connect(path, durability=durability)
        # The file this connection writes; if the path later names another
        # file (deleted, replaced), commits stop rather than go to a file
        # nobody will read.
        self._identity = file_identity(path)
        schema.create(self._conn)
        self._group_old_errors()
        # Checkpoints run on their own thread (below), not inside COMMIT,
        # where they stalled every request waiting on that commit.
        self._conn.execute("PRAGMA wal_autocheckpoint=0")
        # After a reset the WAL file is cut back to this size.
        self._conn.execute(f"PRAGMA journal_size_limit={WAL_LIMIT}")
        self._wal = path + "-wal"
        self._recount()
        # Tables whose rows name the envelope they came from.
        self._by_envelope = {table for table, spec in schema.TABLES.items() if "envelope_id" in spec["columns"]}
        self._sql = {table: self._insert_sql(table) for table in schema.TABLES}
        self._checkpointer = Checkpointer(path, durability)

    def _insert_sql(self, table: str) -> str:
        names = ROW_COLUMNS[table]
        if table == "envelopes":
            names = ["id", *names]
        elif table in self._by_envelope:
            names = [*names, "envelope_id"]
        # No acknowledged row is ever overwritten: a resent event keeps its
        # first row (as Sentry keeps the first of duplicate event ids), and
        # every other table only appends.
        verb = "INSERT OR IGNORE" if table in KEYED_BY_EVENT_ID else "INSERT"
        return f"{verb} INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"

    def close(self) -> None:
        self._checkpointer.close()
        try:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as e:
            # A full disk, say: nothing is lost, the next start reads the WAL.
            log.error("could not fold the write-ahead log into %s on stop (%s); it is kept and read on the next start", self._path, e)
        self._conn.close()

    def commit(self, group: list) -> tuple[list[str | None], str | None]:
        """Write a group in one transaction, rows of a table in one
        executemany; if that fails, write the batches one by one so a bad
        one fails alone. Answers one error (or None) per batch, and why the
        database is gone if it is."""
        if file_identity(self._path) != self._identity:
            reason = replaced_reason(self._path)
            return [reason] * len(group), reason
        try:
            self._write(group)
            errors = [None] * len(group)
        except STORE_ERRORS as e:
            self._rollback()
            if getattr(e, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                # Another program held the write lock past the busy timeout:
                # batch by batch, each would wait that long again.
                log.error("database locked by another program: %s", e)
                reason = (
                    f"the database {self._path} is locked by another program ({e}): close the sqlite3 shell or tool "
                    "holding a write transaction on it"
                )
                errors = [reason] * len(group)
            else:
                log.warning("group of %d batches failed (%r); retrying them one by one", len(group), e)
                errors = [self._write_alone(packet) for packet in group]
        self._bound_wal()
        return errors, None

    def _write_alone(self, packet: tuple) -> str | None:
        try:
            self._write([packet])
        except STORE_ERRORS as e:
            log.warning("could not store a batch: %r", e)
            self._rollback()
            if getattr(e, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
                return f"the disk holding {self._path} is full ({e}): free some space; nothing of this request was stored"
            return f"could not store the envelope: {e}"
        return None

    def _bound_wal(self) -> None:
        """Past WAL_LIMIT, finish the checkpoint from the writer itself: with
        no commit running, it completes, and the next commit starts the WAL
        over from the beginning instead of growing it."""
        try:
            size = os.path.getsize(self._wal)
        except FileNotFoundError:
            return
        if size > WAL_LIMIT:
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()

    def _rollback(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def _group_old_errors(self) -> None:
        """Errors stored by a version that did not group them have no
        fingerprint or title: without one they all fall into one issue
        titled "None". Filled in once, from their stored JSON."""
        conn = self._conn
        last = 0
        while True:
            rows = conn.execute(
                "SELECT rowid, data FROM events WHERE fingerprint IS NULL AND rowid > ? ORDER BY rowid LIMIT 1000", (last,)
            ).fetchall()
            if not rows:
                return
            if last == 0:
                log.warning("grouping errors stored by an older version of the collector (once)")
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "UPDATE events SET fingerprint = ?, title = ? WHERE rowid = ?",
                [(*grouping.group_of(jsonshape.loads_dict(data) or {}), rowid) for rowid, data in rows],
            )
            conn.execute("COMMIT")
            last = rows[-1][0]

    def _recount(self) -> None:
        """Counters from the rows themselves, at every start: other programs
        may have added or deleted rows while the collector was stopped."""
        conn = self._conn
        counts = {f"rows:{table}": conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in schema.TABLES if table != "counters"}
        for encoding, n in conn.execute("SELECT content_encoding, count(*) FROM envelopes GROUP BY content_encoding"):
            counts[f"encoding:{encoding or 'identity'}"] = n
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("DELETE FROM counters")
        conn.executemany("INSERT INTO counters (name, value) VALUES (?, ?)", counts.items())
        conn.execute("COMMIT")

    def _write(self, group: list) -> None:
        conn = self._conn
        # IMMEDIATE takes the write lock first, waiting out (busy_timeout) a
        # program that holds it briefly; a deferred BEGIN that read first
        # was refused the lock at once. Envelope ids are numbered under that
        # lock, from what the file holds, never from a number remembered
        # across transactions that another program may have used since.
        conn.execute("BEGIN IMMEDIATE")
        next_id = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM envelopes").fetchone()[0]
        # An SDK that retries resends an event with the same id: it must
        # count neither as a second error of its trace nor as another row,
        # so the ids stored before this group are looked up first.
        event_ids = {table: {row[0] for _, rows, _ in group for row in rows.get(table, ())} for table in KEYED_BY_EVENT_ID}
        stored = {
            table: {r[0] for r in self._select_in(f"SELECT event_id FROM {table} WHERE event_id IN", ids)}
            for table, ids in event_ids.items()
        }
        rows, traces = self._group_rows(group, next_id, set().union(*stored.values()))
        stored_traces = {
            r[0]: r[1:] for r in self._select_in(f"SELECT trace_id, {summaries.STORED_COLUMNS} FROM traces WHERE trace_id IN", traces)
        }
        for table, values in rows.items():
            conn.executemany(self._sql[table], values)
        added = {f"rows:{table}": len(values) for table, values in rows.items()}
        for table in KEYED_BY_EVENT_ID:
            added[f"rows:{table}"] = len({row[0] for row in rows.get(table, ())} - stored[table])
        added["rows:traces"] = len(traces) - len(stored_traces)
        for envelope in rows.get("envelopes", ()):
            key = f"encoding:{envelope[ENCODING] or 'identity'}"
            added[key] = added.get(key, 0) + 1
        conn.executemany(
            "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
            added.items(),
        )
        now = time.time()
        conn.executemany(
            f"INSERT OR REPLACE INTO traces ({summaries.ROW_COLUMNS}) VALUES ({', '.join('?' * 14)})",
            [
                summaries.to_row(trace_id, t, len(t["event_ids"] - stored["events"]), stored_traces.get(trace_id), now)
                for trace_id, t in traces.items()
            ],
        )
        conn.execute("COMMIT")

    def _group_rows(self, group: list, next_id: int, stored_ids: set) -> tuple[dict, dict]:
        """The rows of a group by table, envelope ids filled in, and its
        trace summaries merged. A batch whose events were all stored before
        (an SDK's retry of an envelope that did arrive) adds its envelope
        row only: its spans and attachments are already there."""
        rows: dict[str, list[tuple]] = {}
        traces: dict[str, dict] = {}
        seen = set(stored_ids)
        for envelope, batch_rows, batch_traces in group:
            envelope_id = None
            if envelope is not None:
                envelope_id, next_id = next_id, next_id + 1
                rows.setdefault("envelopes", []).append((envelope_id, *envelope))
            ids = {row[0] for table in KEYED_BY_EVENT_ID for row in batch_rows.get(table, ())}
            if ids and ids <= seen:
                continue
            seen |= ids
            for table, values in batch_rows.items():
                if table in self._by_envelope:
                    values = [(*v, envelope_id) for v in values]
                rows.setdefault(table, []).extend(values)
            summaries.merge(traces, batch_traces)
        return rows, traces

    def _select_in(self, sql: str, ids) -> list[tuple]:
        """Rows of `sql` ending in `IN`, for every id (in chunks under
        SQLite's limit on parameters)."""
        ids = list(ids)
        rows = []
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            rows += self._conn.execute(f"{sql} ({','.join('?' * len(chunk))})", chunk).fetchall()
        return rows


class Checkpointer:
    """Copies the WAL back into the database beside the writer.

    PASSIVE checkpoints never wait for the writer, so commits stay short.
    They cannot reset the WAL while commits keep coming, though: that is
    the writer's job (`Store._bound_wal`), cheap by then because this
    thread has already copied nearly every page.
    """

    INTERVAL = 0.25

    def __init__(self, path: str, durability: str = "normal"):
        self._conn = schema.connect(path, durability=durability)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.INTERVAL):
            try:
                self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            except sqlite3.OperationalError as e:
                # Busy past the timeout: the next round tries again.
                log.warning("checkpoint skipped: %s", e)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._conn.close()

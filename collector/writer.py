"""The single writer: one thread owns the write connection and group-commits.

Request handlers hand over a `Batch` and await its future; the thread takes
every batch waiting in the queue, writes them in one transaction (each inside
its own savepoint, so one bad batch never takes the others down), commits,
and only then resolves the futures. So an envelope is answered 200 only after
its rows are on disk, and ingest never waits on a SQLite lock.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import sqlite3
import threading
import time
from dataclasses import dataclass, field

import orjson

from . import schema
from .normalize import Records

log = logging.getLogger(__name__)

# How many batches one transaction may take; bounds the latency of the
# first batch in a burst.
MAX_GROUP = 512
# Bytes of request bodies waiting to be written: the queue's real memory
# cost, since one batch may be a 100-byte session or a 20 MB attachment.
MAX_QUEUED_BYTES = 256 * 1024 * 1024
# How large the write-ahead log may grow before the writer resets it.
WAL_LIMIT = 64 * 1024 * 1024
_STOP = object()


class QueueFull(Exception):
    """The write queue is full: answer 429 and let the SDK back off."""


@dataclass
class Batch:
    """What one request stores: an optional envelope row and its records."""

    envelope: dict | None = None
    records: Records = field(default_factory=Records)
    rejection: dict | None = None

    @property
    def size(self) -> int:
        return len(self.envelope["body"]) if self.envelope and self.envelope.get("body") else 0


class Writer:
    def __init__(self, path: str, max_queue: int = 10_000, max_bytes: int = MAX_QUEUED_BYTES):
        self.path = path
        self._queue: queue.Queue = queue.Queue(maxsize=max_queue)
        self._max_bytes = max_bytes
        self._queued_bytes = 0
        self._bytes_lock = threading.Lock()
        self._conn = schema.connect(path)
        schema.create(self._conn)
        # Checkpoints run on their own thread (below), not inside COMMIT,
        # where they stalled every request waiting on that commit.
        self._conn.execute("PRAGMA wal_autocheckpoint=0")
        # After a reset the WAL file is cut back to this size.
        self._conn.execute(f"PRAGMA journal_size_limit={WAL_LIMIT}")
        self._wal = path + "-wal"
        self._next_envelope_id = self._max_envelope_id() + 1
        self._sql = {
            name: f"INSERT OR REPLACE INTO {name} ({', '.join(schema.columns(name))}) "
            f"VALUES ({', '.join('?' * len(schema.columns(name)))})"
            for name in schema.TABLES
        }
        self._thread = threading.Thread(target=self._run, name="sqlite-writer", daemon=True)
        self._thread.start()
        self._checkpointer = Checkpointer(path)

    # --- called from the event loop ------------------------------------------

    async def write(self, batch: Batch) -> None:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        size = batch.size
        with self._bytes_lock:
            # One batch is always let in, however large, so a big envelope
            # is not refused forever on an idle collector.
            if self._queued_bytes and self._queued_bytes + size > self._max_bytes:
                raise QueueFull()
            self._queued_bytes += size
        try:
            self._queue.put_nowait((batch, future, loop))
        except queue.Full:
            self._release(size)
            raise QueueFull() from None
        await future

    def _release(self, size: int) -> None:
        with self._bytes_lock:
            self._queued_bytes -= size

    def close(self) -> None:
        """Write everything already queued, then stop the thread."""
        self._queue.put(_STOP)
        self._thread.join()
        self._checkpointer.close()
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._conn.close()

    @property
    def queued(self) -> dict:
        return {"batches": self._queue.qsize(), "bytes": self._queued_bytes}

    # --- the writer thread ---------------------------------------------------

    def _run(self) -> None:
        stopping = False
        while not stopping:
            group = [self._queue.get()]
            while len(group) < MAX_GROUP:
                try:
                    group.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if _STOP in group:
                stopping = True
                group = [g for g in group if g is not _STOP]
            if group:
                try:
                    self._commit(group)
                    self._bound_wal()
                except Exception as e:
                    # A bug must not kill the only writer: fail these
                    # requests (500) and keep serving the next ones.
                    log.exception("writer failed on a group of %d batches", len(group))
                    self._rollback()
                    _settle_all([(future, loop, e) for _, future, loop in group])
                finally:
                    self._release(sum(batch.size for batch, _, _ in group))

    def _commit(self, group: list) -> None:
        """Write a group in one transaction, rows of a table in one
        executemany; if that fails, write the batches one by one so a bad
        one fails alone."""
        try:
            self._write(group)
            results = [(future, loop, None) for _, future, loop in group]
        except sqlite3.Error:
            log.exception("group of %d batches failed; retrying them one by one", len(group))
            self._rollback()
            results = []
            for batch, future, loop in group:
                try:
                    self._write([(batch, future, loop)])
                    results.append((future, loop, None))
                except sqlite3.Error as e:
                    log.exception("could not store a batch")
                    self._rollback()
                    results.append((future, loop, e))
        _settle_all(results)

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
        # Ids handed out in the failed transaction were never used.
        self._next_envelope_id = self._max_envelope_id() + 1

    def _max_envelope_id(self) -> int:
        return self._conn.execute("SELECT coalesce(max(id), 0) FROM envelopes").fetchone()[0]

    def _stored_event_ids(self, group: list) -> set[str]:
        ids = [e["event_id"] for batch, _, _ in group for e in batch.records.rows.get("events", ())]
        if not ids:
            return set()
        marks = ",".join("?" * len(ids))
        return {r[0] for r in self._conn.execute(f"SELECT event_id FROM events WHERE event_id IN ({marks})", ids)}

    def _write(self, group: list) -> None:
        rows: dict[str, list[tuple]] = {}
        traces: dict[str, dict] = {}
        # An SDK that retries resends an event with the same id: it replaces
        # the row, and must not count as a second error of its trace.
        counted_events = self._stored_event_ids(group)
        for batch, _, _ in group:
            if batch.rejection is not None:
                rows.setdefault("rejections", []).append(_values("rejections", batch.rejection))
                continue
            # The writer is the only one inserting envelopes, so it can number
            # them itself and every row of the group goes in by executemany.
            envelope_id = None
            if batch.envelope is not None:
                envelope_id = batch.envelope["id"] = self._next_envelope_id
                self._next_envelope_id += 1
                rows.setdefault("envelopes", []).append(_values("envelopes", batch.envelope))
            for table, table_rows in batch.records.rows.items():
                out = rows.setdefault(table, [])
                for row in table_rows:
                    row["envelope_id"] = envelope_id
                    out.append(_values(table, row))
            _collect_trace_summaries(batch.records, traces, counted_events)
        conn = self._conn
        conn.execute("BEGIN")
        for table, values in rows.items():
            conn.executemany(self._sql[table], values)
        _update_traces(conn, traces)
        conn.execute("COMMIT")


class Checkpointer:
    """Copies the WAL back into the database beside the writer.

    PASSIVE checkpoints never wait for the writer, so commits stay short.
    They cannot reset the WAL while commits keep coming, though: that is
    the writer's job (`Writer._bound_wal`), cheap by then because this
    thread has already copied nearly every page.
    """

    INTERVAL = 0.25

    def __init__(self, path: str):
        self._conn = schema.connect(path)
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


def _values(table: str, row: dict) -> tuple:
    return tuple(row.get(c) for c in schema.TABLES[table]["columns"])


def _settle_all(results: list) -> None:
    """Resolve a group's futures with one wake-up of each event loop, not
    one per request: each wake-up is a write to the loop's self-pipe."""
    by_loop: dict = {}
    for future, loop, error in results:
        if future is not None:
            by_loop.setdefault(loop, []).append((future, error))
    for loop, settled in by_loop.items():
        loop.call_soon_threadsafe(_settle, settled)


def _settle(settled: list) -> None:
    for future, error in settled:
        if future.cancelled():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)


# --- the traces summary table ------------------------------------------------


def _user_label(row: dict) -> dict | None:
    user = {k: row.get(f"user_{k}") for k in ("id", "email", "username")}
    user = {k: v for k, v in user.items() if v}
    return user or None


def _collect_trace_summaries(records: Records, traces: dict, counted_events: set[str]) -> None:
    for span in records.rows.get("spans", ()):
        trace_id = span.get("trace_id")
        if not trace_id:
            continue
        t = traces.setdefault(trace_id, _empty_summary())
        t["span_count"] += 1
        _widen(t, span.get("start_timestamp"), span.get("timestamp"))
        if span.get("is_segment") or not span.get("parent_span_id"):
            root = (span.get("description"), span.get("op"), not span.get("parent_span_id"), span.get("start_timestamp"))
            _offer_root(t, root)
        _add_labels(t, span)
    for event in records.rows.get("events", ()):
        trace_id = event.get("trace_id")
        if not trace_id or event["event_id"] in counted_events:
            continue
        counted_events.add(event["event_id"])
        t = traces.setdefault(trace_id, _empty_summary())
        t["error_count"] += 1
        _widen(t, event.get("timestamp"), event.get("timestamp"))
        _add_labels(t, event)


def _empty_summary() -> dict:
    return {
        "start_timestamp": None,
        "end_timestamp": None,
        "root": None,
        "span_count": 0,
        "error_count": 0,
        "sdks": set(),
        "users": [],
        "environments": set(),
        "releases": set(),
    }


def _widen(t: dict, start, end) -> None:
    if start is not None and (t["start_timestamp"] is None or start < t["start_timestamp"]):
        t["start_timestamp"] = start
    if end is not None and (t["end_timestamp"] is None or end > t["end_timestamp"]):
        t["end_timestamp"] = end


def _root_rank(root: tuple) -> tuple:
    # root = (name, op, parentless, start). A span without a parent beats a
    # segment whose parent lives elsewhere; then the earliest wins.
    _, _, parentless, start = root
    return (0 if parentless else 1, start if start is not None else float("inf"))


def _offer_root(t: dict, root: tuple) -> None:
    if t["root"] is None or _root_rank(root) < _root_rank(t["root"]):
        t["root"] = root


def _add_labels(t: dict, row: dict) -> None:
    if row.get("sdk_name"):
        t["sdks"].add(row["sdk_name"])
    if row.get("environment"):
        t["environments"].add(row["environment"])
    if row.get("release"):
        t["releases"].add(row["release"])
    user = _user_label(row)
    if user and user not in t["users"]:
        t["users"].append(user)


MAX_USERS_PER_TRACE = 20


def _update_traces(conn: sqlite3.Connection, traces: dict) -> None:
    now = time.time()
    for trace_id, t in traces.items():
        old = conn.execute(
            "SELECT start_timestamp, end_timestamp, root_name, root_op, root_is_parentless, span_count,"
            " error_count, sdks, users, environments, root_start_timestamp, releases FROM traces WHERE trace_id = ?",
            (trace_id,),
        ).fetchone()
        if old:
            _widen(t, old[0], old[1])
            t["span_count"] += old[5]
            t["error_count"] += old[6]
            t["sdks"].update(orjson.loads(old[7] or "[]"))
            t["environments"].update(orjson.loads(old[9] or "[]"))
            t["releases"].update(orjson.loads(old[11] or "[]"))
            users = orjson.loads(old[8] or "[]")
            t["users"] = users + [u for u in t["users"] if u not in users]
            if old[10] is not None or old[2] is not None:
                _offer_root(t, (old[2], old[3], bool(old[4]), old[10]))
        root = t["root"] or (None, None, False, None)
        conn.execute(
            "INSERT OR REPLACE INTO traces (trace_id, start_timestamp, end_timestamp, root_name, root_op,"
            " root_is_parentless, root_start_timestamp, span_count, error_count, sdks, users, environments,"
            " releases, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                trace_id,
                t["start_timestamp"],
                t["end_timestamp"],
                root[0],
                root[1],
                int(bool(root[2])),
                root[3],
                t["span_count"],
                t["error_count"],
                orjson.dumps(sorted(t["sdks"])).decode(),
                orjson.dumps(t["users"][:MAX_USERS_PER_TRACE]).decode(),
                orjson.dumps(sorted(t["environments"])).decode(),
                orjson.dumps(sorted(t["releases"])).decode(),
                now,
            ),
        )

"""The store: the write connection, in the writer process.

`Store.commit` writes a group of packets in one transaction and answers for
each; a `Checkpointer` thread copies the write-ahead log back into the
database beside it. On open, the store recounts the counters and groups the
errors an older version stored without a group.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time

from ..protocol import grouping, jsonshape
from . import chores, migrate_spans, schema, span_packs, summaries
from .replaced import file_identity, replaced_reason
from .wire import ROW_COLUMNS, Answer, Chore, Packet

log = logging.getLogger(__name__)

# How large the write-ahead log may grow before the writer resets it. Each
# reset stalls the writer ~8-17 ms (its own checkpoint must copy and sync
# what the checkpoint thread has not, _bound_wal); under load the log grows
# up to ~80 MB/s (index pages rewritten by every commit), so 256 MB means a
# stall every few seconds, not every second.
WAL_LIMIT = 256 * 1024 * 1024
# Passes of the checkpoint thread, back to back, before the writer resets
# the WAL: each copies what came in during the one before, so the second
# leaves the writer a few milliseconds of commits to copy.
HURRIED_PASSES = 2

# Tables keyed by the event's id: a resent event keeps its first row. Their
# event_id comes first.
KEYED_BY_EVENT_ID = ("events", "transactions")
assert all(ROW_COLUMNS[table][0] == "event_id" for table in KEYED_BY_EVENT_ID)
# Where an envelope row (id first) holds its content encoding.
ENCODING = 1 + ROW_COLUMNS["envelopes"].index("content_encoding")
# Tables whose rows name the envelope they came from.
BY_ENVELOPE = {table for table, spec in schema.TABLES.items() if "envelope_id" in spec["columns"]}

# What storing a value of the wrong type or range can raise: the batch that
# holds it fails alone. (An integer past 64 bits is an OverflowError, not a
# sqlite3.Error.)
STORE_ERRORS = (sqlite3.Error, OverflowError, ValueError, TypeError)


def _insert_sql(table: str) -> str:
    names = ROW_COLUMNS[table]
    if table == "envelopes":
        names = ["id", *names]
    elif table in BY_ENVELOPE:
        names = [*names, "envelope_id"]
    # No acknowledged row is ever overwritten: a resent event keeps its
    # first row (as Sentry keeps the first of duplicate event ids), and
    # every other table only appends.
    verb = "INSERT OR IGNORE" if table in KEYED_BY_EVENT_ID else "INSERT"
    return f"{verb} INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"


# Spans are written as packs (span_packs.py), not through their view.
INSERT = {table: _insert_sql(table) for table, spec in schema.TABLES.items() if not spec.get("view")}
# A trace's row is replaced whole: to_row has merged the stored one into it.
REPLACE_TRACE = (
    f"INSERT OR REPLACE INTO traces ({', '.join(summaries.COLUMNS)}) VALUES ({', '.join('?' * len(summaries.COLUMNS))})"
)
SELECT_TRACES = f"SELECT trace_id, {', '.join(summaries.STORED_COLUMNS)} FROM traces WHERE trace_id IN"


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
        group_old_errors(self._conn)
        migrate_spans.run(self._conn)
        # Checkpoints run on their own thread (below), not inside COMMIT,
        # where they stalled every request waiting on that commit.
        self._conn.execute("PRAGMA wal_autocheckpoint=0")
        # After a reset the WAL file is cut back to this size.
        self._conn.execute(f"PRAGMA journal_size_limit={WAL_LIMIT}")
        self._wal = path + "-wal"
        self._recount()
        self._checkpointer = Checkpointer(path, durability)
        # Which of the checkpoint thread's passes the WAL's next reset waits
        # for (_bound_wal); None while the WAL is under its limit.
        self._reset_after: int | None = None

    def close(self) -> None:
        self._checkpointer.close()
        try:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as e:
            # A full disk, say: nothing is lost, the next start reads the WAL.
            log.error(
                "could not fold the write-ahead log into %s on stop (%s); it is kept and read on the next start",
                self._path,
                e,
            )
        self._conn.close()

    def commit(self, group: list[Packet]) -> Answer:
        """Write a group in one transaction, rows of a table in one
        executemany; if that fails, write the packets one by one so a bad
        one fails alone."""
        if file_identity(self._path) != self._identity:
            reason = replaced_reason(self._path)
            return Answer([reason] * len(group), reason)
        try:
            self._write(group)
            errors = [None] * len(group)
        except STORE_ERRORS as e:
            self._rollback()
            if getattr(e, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                # Another program held the write lock past the busy timeout:
                # packet by packet, each would wait that long again.
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
        return Answer(errors, None)

    def chore(self, chore: Chore) -> Answer:
        """Run one chore in its own transaction: its error (or None) and its result."""
        if file_identity(self._path) != self._identity:
            reason = replaced_reason(self._path)
            return Answer([reason], reason)
        try:
            result = chores.run(self._conn, chore.name, chore.args)
        except KeyError:
            return Answer([f"no chore named {chore.name!r}"], None)
        except STORE_ERRORS as e:
            log.warning("chore %s failed: %r", chore.name, e)
            return Answer([f"{chore.name} failed: {e}"], None)
        return Answer([None], None, (result,))

    def _write_alone(self, packet: Packet) -> str | None:
        try:
            self._write([packet])
        except STORE_ERRORS as e:
            log.warning("could not store a batch: %r", e)
            self._rollback()
            if getattr(e, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
                return (
                    f"the disk holding {self._path} is full ({e}): free some space; nothing of this request was stored"
                )
            return f"could not store the envelope: {e}"
        return None

    def _bound_wal(self) -> None:
        """Past WAL_LIMIT, finish the checkpoint from the writer itself: with
        no commit running, it completes, and the next commit starts the WAL
        over from the beginning instead of growing it.

        The writer waits on that checkpoint, and it waits on the disk: every
        page not yet copied and synced. So first the checkpoint thread is
        asked for passes at once, and the writer checkpoints after the
        second that started since, when little is left to copy or sync
        (in-process at 1,200 transactions/s this took the stall from
        70-106 ms to 8-17 ms). Commits go on meanwhile; the WAL grows a little
        past the limit."""
        try:
            size = os.path.getsize(self._wal)
        except FileNotFoundError:
            return
        if size <= WAL_LIMIT:
            return
        checkpointer = self._checkpointer
        if self._reset_after is None:
            self._reset_after = checkpointer.started + HURRIED_PASSES
            checkpointer.hurry(self._reset_after)
        elif checkpointer.finished >= self._reset_after or not checkpointer.running():
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            self._reset_after = None

    def _rollback(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def _recount(self) -> None:
        """Counters from the rows themselves, at every start: other programs
        may have added or deleted rows while the collector was stopped."""
        conn = self._conn
        counts = {
            f"rows:{table}": conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table, spec in schema.TABLES.items()
            if table != "counters" and not spec.get("view")
        }
        for table in schema.SPAN_TABLES:
            counts[f"rows:{table}"] = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        # Unpacking every span to count them would take seconds.
        counts["rows:spans"] = conn.execute("SELECT coalesce(sum(span_count), 0) FROM span_packs").fetchone()[0]
        for encoding, n in conn.execute("SELECT content_encoding, count(*) FROM envelopes GROUP BY content_encoding"):
            counts[f"encoding:{encoding or 'identity'}"] = n
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("DELETE FROM counters")
        conn.executemany("INSERT INTO counters (name, value) VALUES (?, ?)", counts.items())
        conn.execute("COMMIT")

    def _write(self, group: list[Packet]) -> None:
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
        event_ids = {
            table: {row[0] for packet in group for row in packet.rows.get(table, ())} for table in KEYED_BY_EVENT_ID
        }
        stored = {
            table: {r[0] for r in self._select_in(f"SELECT event_id FROM {table} WHERE event_id IN", ids)}
            for table, ids in event_ids.items()
        }
        rows, traces = _group_rows(group, next_id, set().union(*stored.values()))
        stored_traces = {
            r[0]: dict(zip(summaries.STORED_COLUMNS, r[1:], strict=True))
            for r in self._select_in(SELECT_TRACES, traces)
        }
        for table, values in rows.items():
            if table == "span_packs":
                span_packs.insert(conn, values)
            else:
                conn.executemany(INSERT[table], values)
        self._count(rows, stored, len(traces) - len(stored_traces))
        now = time.time()
        conn.executemany(
            REPLACE_TRACE,
            [
                summaries.to_row(trace_id, t, len(t.event_ids - stored["events"]), stored_traces.get(trace_id), now)
                for trace_id, t in traces.items()
            ],
        )
        conn.execute("COMMIT")

    def _count(self, rows: dict[str, list[tuple]], stored: dict[str, set], new_traces: int) -> None:
        """Adds a group's rows to the counters, in its transaction: resent
        events and transactions that were stored before count nothing."""
        added = {f"rows:{table}": len(values) for table, values in rows.items()}
        for table in KEYED_BY_EVENT_ID:
            added[f"rows:{table}"] = len({row[0] for row in rows.get(table, ())} - stored[table])
        added["rows:traces"] = new_traces
        packs = rows.get("span_packs", ())
        added["rows:span_ids"] = len(packs)
        added["rows:spans"] = sum(p[span_packs.COUNT] for p in packs)
        for envelope in rows.get("envelopes", ()):
            key = f"encoding:{envelope[ENCODING] or 'identity'}"
            added[key] = added.get(key, 0) + 1
        self._conn.executemany(
            "INSERT INTO counters (name, value) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
            added.items(),
        )

    def _select_in(self, sql: str, ids) -> list[tuple]:
        """Rows of `sql` ending in `IN`, for every id (in chunks under
        SQLite's limit on parameters)."""
        ids = list(ids)
        rows = []
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            rows += self._conn.execute(f"{sql} ({','.join('?' * len(chunk))})", chunk).fetchall()
        return rows


def _group_rows(group: list[Packet], next_id: int, stored_ids: set) -> tuple[dict, dict]:
    """The rows of a group by table, envelope ids filled in, and its trace
    summaries merged. A packet whose events were all stored before (an
    SDK's retry of an envelope that did arrive) adds its envelope row only:
    its spans and attachments are already there."""
    rows: dict[str, list[tuple]] = {}
    traces: dict[str, summaries.TraceSummary] = {}
    seen = set(stored_ids)
    for packet in group:
        envelope_id = None
        if packet.envelope is not None:
            envelope_id, next_id = next_id, next_id + 1
            rows.setdefault("envelopes", []).append((envelope_id, *packet.envelope))
        ids = {row[0] for table in KEYED_BY_EVENT_ID for row in packet.rows.get(table, ())}
        if ids and ids <= seen:
            continue
        seen |= ids
        for table, values in packet.rows.items():
            if table == "span_packs":
                values = [span_packs.with_envelope(v, envelope_id) for v in values]
            elif table in BY_ENVELOPE:
                values = [(*v, envelope_id) for v in values]
            rows.setdefault(table, []).extend(values)
        summaries.merge(traces, packet.traces)
    return rows, traces


def group_old_errors(conn) -> None:
    """Errors stored by a version that did not group them have no
    fingerprint or title: without one they all fall into one issue titled
    "None". Filled in once, from their stored JSON."""
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


class Checkpointer:
    """Copies the WAL back into the database beside the writer.

    PASSIVE checkpoints never wait for the writer, so commits stay short.
    They cannot reset the WAL while commits keep coming, though: that is
    the writer's job (`Store._bound_wal`), cheap by then because this
    thread has already copied nearly every page and synced the file.
    """

    INTERVAL = 0.25

    def __init__(self, path: str, durability: str = "normal"):
        self._conn = schema.connect(path, durability=durability)
        # SQLite syncs the database file only when a checkpoint copies the
        # whole WAL, which a pass beside a busy writer never does; the one
        # that does is the writer's own, which then waited 70-106 ms for the
        # disk to take every page this thread had copied. Syncing after each
        # pass here keeps that wait off the writer.
        self._file = os.open(path, os.O_RDONLY)
        self._stop = threading.Event()
        self._wake = threading.Event()
        # Passes begun and passes done (and synced), and the pass the writer
        # waits for: until it is done, passes run back to back.
        self.started = self.finished = self._wanted = 0
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def hurry(self, until: int) -> None:
        """Run passes back to back until pass number `until` is done."""
        self._wanted = max(self._wanted, until)
        self._wake.set()

    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while True:
            if self.finished >= self._wanted:
                self._wake.wait(self.INTERVAL)
            if self._stop.is_set():
                return
            self._wake.clear()
            self.started += 1
            try:
                self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                os.fsync(self._file)
            except (sqlite3.OperationalError, OSError) as e:
                # Busy past the timeout, say: the next round tries again.
                log.warning("checkpoint skipped: %s", e)
            self.finished += 1

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join()
        self._conn.close()
        os.close(self._file)

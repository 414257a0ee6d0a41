"""The file and the writer under attack or accident: a writer that cannot
restart, two collectors on one file, the file deleted under the collector,
values SQLite refuses, rows that must never be overwritten."""

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from collector.storage import schema
from collector.storage.client import Batch, StartFailed, WriteFailed, WriterUnavailable
from collector.storage.lockfile import DatabaseInUse
from collector.storage.store import Store
from helpers import Collector, batch, started

ENVELOPE = b'{}\n{"type":"session"}\n{"sid":"s"}\n'


def _hold_write_lock(path) -> sqlite3.Connection:
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    return other


async def _ticks_while(coroutine, interval=0.05) -> tuple[object, float]:
    """Runs `coroutine`, and returns its result (or exception) and the
    longest the event loop went without running a 50 ms timer meanwhile."""
    longest, stop = 0.0, asyncio.Event()

    async def tick():
        nonlocal longest
        last = time.monotonic()
        while not stop.is_set():
            await asyncio.sleep(interval)
            now = time.monotonic()
            longest, last = max(longest, now - last), now

    ticker = asyncio.ensure_future(tick())
    try:
        result = await coroutine
    except Exception as e:  # handed back to the test to assert on
        result = e
    stop.set()
    await ticker
    return result, longest


# --- a writer that cannot restart ---------------------------------------------------


async def test_writer_killed_under_a_foreign_lock_answers_503_then_recovers(tmp_path):
    path = str(tmp_path / "w.db")
    writer = await started(path)
    other = None
    try:
        await writer.write(batch("a" * 32, "before"))
        other = _hold_write_lock(path)
        dead = writer.process
        os.kill(dead.pid, signal.SIGKILL)

        # While no process can open the file, requests are answered within
        # seconds, with the reason, and the event loop never stalls.
        async def until_refused_for_the_lock():
            while True:
                try:
                    await asyncio.wait_for(writer.write(batch("b" * 32, "refused")), 4)
                except WriterUnavailable as e:
                    if "write lock" in str(e):
                        return e
                except WriteFailed:
                    pass  # the group that was in the dead process

        refused, stall = await _ticks_while(asyncio.wait_for(until_refused_for_the_lock(), 20))
        assert isinstance(refused, WriterUnavailable), refused
        assert "close the sqlite3 shell" in str(refused)
        assert stall < 1.0, f"the event loop stalled {stall:.1f} s"

        other.execute("ROLLBACK")
        deadline = time.monotonic() + 15
        while True:
            try:
                await writer.write(batch("c" * 32, "after"))
                break
            except WriterUnavailable:
                assert time.monotonic() < deadline, "the writer did not come back after the lock was released"
                await asyncio.sleep(0.2)
        assert writer.process.pid != dead.pid
    finally:
        if other is not None:
            other.close()
        await asyncio.wait_for(writer.close(), 10)
    with sqlite3.connect(path) as db:
        assert sorted(r[0] for r in db.execute("SELECT message FROM events")) == ["after", "before"]


async def test_close_while_the_writer_cannot_restart_returns_and_frees_the_file(tmp_path):
    path = str(tmp_path / "w.db")
    writer = await started(path)
    other = _hold_write_lock(path)
    try:
        os.kill(writer.process.pid, signal.SIGKILL)
        await asyncio.sleep(0.5)  # the restart is now waiting on the lock
        await asyncio.wait_for(writer.close(), 10)
    finally:
        other.close()
    # The lock file is free again: another writer may start.
    again = await started(path)
    await again.close()


async def test_start_under_a_foreign_lock_fails_with_a_sentence(tmp_path):
    path = str(tmp_path / "w.db")
    await (await started(path)).close()
    other = _hold_write_lock(path)
    try:
        writer = await started_or_error(path)
    finally:
        other.close()
    assert isinstance(writer, StartFailed)
    assert "another program holds a write lock" in str(writer) and path in str(writer)


async def started_or_error(path):
    try:
        return await started(path)
    except (StartFailed, DatabaseInUse) as e:
        return e


# --- two collectors on one file --------------------------------------------------


async def test_a_second_writer_on_the_same_file_is_refused_naming_the_first(tmp_path):
    path = str(tmp_path / "w.db")
    first = await started(path, owner="serving http://127.0.0.1:1234/")
    try:
        second = await started_or_error(path)
        assert isinstance(second, DatabaseInUse)
        assert f"pid {os.getpid()}" in str(second) and "http://127.0.0.1:1234/" in str(second) and "--db" in str(second)
    finally:
        await first.close()
    # Once the first has stopped, the file is free.
    await (await started(path)).close()


def test_a_second_collector_refuses_to_start_and_says_who_holds_the_file(tmp_path):
    first = Collector(tmp_path / "c.db").start()
    try:
        out = subprocess.run(
            [sys.executable, "-m", "collector", "serve", "--port", "0", "--db", str(first.db)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert out.returncode != 0
        assert f"pid {first.proc.pid}" in out.stderr and f"http://127.0.0.1:{first.port}/" in out.stderr
        assert "Traceback" not in out.stderr
        # The first one is untouched and keeps serving.
        assert first.request("/api/1/envelope/?sentry_key=k", ENVELOPE)[0] == 200
    finally:
        first.stop()


async def test_envelope_ids_come_from_the_file_not_from_memory(tmp_path):
    # Another program adding envelopes between two commits must not have its
    # rows overwritten or its ids reused.
    path = str(tmp_path / "w.db")
    writer = await started(path)
    try:
        await writer.write(batch("a" * 32, "ours"))
        with sqlite3.connect(path) as db:
            db.execute("INSERT INTO envelopes (id, endpoint) VALUES (2, 'another program')")
        await writer.write(batch("b" * 32, "ours again"))
    finally:
        await writer.close()
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT id, endpoint FROM envelopes ORDER BY id").fetchall()
        assert rows == [(1, None), (2, "another program"), (3, None)]
        assert db.execute("SELECT envelope_id FROM events WHERE event_id = ?", ("b" * 32,)).fetchone() == (3,)


async def test_a_resent_transaction_adds_no_second_copy_of_its_spans(tmp_path):
    def transaction(name):
        rows = {
            "transactions": [{"event_id": "e" * 32, "trace_id": "t" * 32, "name": name}],
            "spans": [
                {"trace_id": "t" * 32, "span_id": "1" * 16, "is_segment": 1, "description": name},
                {"trace_id": "t" * 32, "span_id": "2" * 16, "parent_span_id": "1" * 16},
            ],
        }
        return Batch(envelope={"item_count": 1}, rows=rows)

    path = str(tmp_path / "w.db")
    writer = await started(path)
    try:
        await writer.write(transaction("first"))
        await asyncio.gather(writer.write(transaction("retry")), writer.write(transaction("retry")))
    finally:
        await writer.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM spans").fetchone() == (2,)
        assert db.execute("SELECT name FROM transactions").fetchall() == [("first",)]
        assert db.execute("SELECT span_count FROM traces").fetchone() == (2,)
        # Every request was received, and says so.
        assert db.execute("SELECT count(*) FROM envelopes").fetchone() == (3,)


# --- values SQLite refuses -----------------------------------------------------------


@pytest.mark.parametrize("value", [2**63, 2**64 - 1, -(2**63) - 1, 10**30, {"a": 1}, [1, 2], object()])
async def test_a_value_sqlite_refuses_fails_its_batch_alone(tmp_path, value):
    path = str(tmp_path / "w.db")
    writer = await started(path)
    try:
        log = {"trace_id": "t" * 32, "severity_number": value, "body": "poisoned"}
        results = await asyncio.gather(
            writer.write(batch("a" * 32, "fine")),
            writer.write(Batch(envelope={"item_count": 1}, rows={"logs": [log]})),
            writer.write(batch("c" * 32, "also fine")),
            return_exceptions=True,
        )
    finally:
        await writer.close()
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], WriteFailed)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM events").fetchone() == (2,)


# --- the file deleted or replaced ---------------------------------------------------


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_a_database_deleted_or_replaced_under_the_collector_stops_accepting(tmp_path, how):
    c = Collector(tmp_path / "c.db").start()
    try:
        assert c.request("/api/1/envelope/?sentry_key=k", ENVELOPE)[0] == 200
        os.unlink(c.db)
        if how == "replaced":
            sqlite3.connect(c.db).close()
        status, headers, body = c.request("/api/1/envelope/?sentry_key=k", ENVELOPE)
        assert status == 503 and b"deleted or replaced" in body and b"restart the collector" in body
        assert headers["Retry-After"]
        # Pages and the API say so as well, once the server has noticed.
        deadline = time.monotonic() + 5
        while c.request("/traces")[0] != 503:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert b"deleted or replaced" in c.request("/api/traces")[2]
    finally:
        out = c.stop()
    assert c.proc.returncode == 0, out
    assert "Traceback" not in out


def test_sigterm_stops_the_server_while_the_writer_cannot_restart(tmp_path):
    c = Collector(tmp_path / "c.db").start()
    other = None
    try:
        other = _hold_write_lock(c.db)
        os.kill(_writer_pid(c), signal.SIGKILL)
        status, headers, body = _post_until_not(c, 500)
        assert status == 503 and headers["Retry-After"], body
        start = time.monotonic()
        c.proc.send_signal(signal.SIGTERM)
        c.proc.wait(15)
        assert time.monotonic() - start < 10
    finally:
        if other is not None:
            other.close()
        out = c.stop()
    assert "Traceback" not in out, out


def _writer_pid(c: Collector) -> int:
    """The writer process: the server's child running collector.storage.process."""
    out = subprocess.run(["ps", "-eo", "pid=,ppid=,args="], capture_output=True, text=True).stdout
    candidates = []
    for line in out.splitlines():
        pid, ppid, args = line.split(maxsplit=2)
        if int(ppid) == c.proc.pid and "collector.storage.process" in args:
            candidates.append(int(pid))
    assert len(candidates) == 1, candidates
    return candidates[0]


def _post_until_not(c: Collector, status_to_skip: int, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while True:
        status, headers, body = c.request("/api/1/envelope/?sentry_key=k", ENVELOPE)
        if status not in (status_to_skip, 200) or time.monotonic() > deadline:
            return status, headers, body
        time.sleep(0.2)


def test_start_under_a_foreign_lock_prints_a_sentence_not_a_traceback(tmp_path):
    path = tmp_path / "c.db"
    Collector(path).start().stop()
    other = _hold_write_lock(path)
    try:
        out = subprocess.run(
            [sys.executable, "-m", "collector", "serve", "--port", "0", "--db", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        other.close()
    assert out.returncode != 0
    assert "another program holds a write lock" in out.stderr and "Traceback" not in out.stderr


def test_full_durability_syncs_every_commit(tmp_path):
    store = Store(str(tmp_path / "w.db"), "full")
    try:
        assert store._conn.execute("PRAGMA synchronous").fetchone() == (2,)
    finally:
        store.close()
    assert set(schema.DURABILITY) == {"normal", "full"}


# --- a full disk ---------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MB file system of its own, to fill up (needs root, as CI has)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


def test_a_full_disk_is_a_500_with_the_reason_and_a_clean_stop(small_disk):
    c = Collector(small_disk / "c.db").start()
    attachment = b'{"event_id":"' + b"a" * 32 + b'"}\n{"type":"attachment","length":200000}\n' + b"x" * 200_000 + b"\n"
    acknowledged = 0
    try:
        for _ in range(60):
            status, _, body = c.request("/api/1/envelope/?sentry_key=k", attachment)
            if status != 200:
                break
            acknowledged += 1
        assert status == 500 and b"is full" in body and b"free some space" in body, (status, body)
        assert acknowledged > 0
        # Small writes may still fit; either way the server keeps answering.
        assert c.request("/api/stats")[0] == 200
    finally:
        out = c.stop()
    assert "Traceback" not in out, out
    with sqlite3.connect(f"file:{small_disk / 'c.db'}?mode=ro", uri=True) as db:
        assert db.execute("SELECT count(*) FROM attachments").fetchone()[0] == acknowledged


# --- a database from an earlier version -----------------------------------------------


async def test_errors_stored_without_a_group_are_grouped_on_start(tmp_path):
    path = str(tmp_path / "w.db")
    await (await started(path)).close()
    old_events = [
        ("1" * 32, {"exception": {"values": [{"type": "KeyError", "value": "'a'"}]}}),
        ("2" * 32, {"exception": [{"type": "KeyError", "value": "'a'"}]}),
        ("3" * 32, {"message": "disk almost full"}),
        ("4" * 32, {"logentry": {"formatted": "user 7 logged in"}}),
        ("5" * 32, {"exception": {"values": "not a list"}, "fingerprint": ["checkout", 3]}),
        ("6" * 32, None),
    ]
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO events (event_id, data) VALUES (?, ?)",
            [(event_id, None if data is None else json.dumps(data)) for event_id, data in old_events],
        )
    await (await started(path)).close()
    with sqlite3.connect(path) as db:
        groups = dict(db.execute("SELECT event_id, title FROM events"))
        keys = dict(db.execute("SELECT event_id, fingerprint FROM events"))
    assert groups["1" * 32] == "KeyError: 'a'" and keys["1" * 32] == keys["2" * 32]
    assert groups["3" * 32] == "disk almost full" and groups["4" * 32] == "user 7 logged in"
    assert len({keys["1" * 32], keys["3" * 32], keys["4" * 32], keys["5" * 32], keys["6" * 32]}) == 5
    assert None not in keys.values() and "None" not in groups.values()

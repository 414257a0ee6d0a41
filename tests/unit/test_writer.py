"""The single writer: a bad batch fails alone, the rest of its group commits."""

import ast
import asyncio
import os
import signal
import sqlite3

import pytest

from collector.storage import schema, store, summaries
from collector.storage.client import Batch, WriteFailed
from helpers import ROOT, batch, started


async def test_a_failing_batch_does_not_take_its_group_down(tmp_path):
    writer = await started(str(tmp_path / "w.db"))
    try:
        # Queued together, so they land in one group; a dict is no SQLite value.
        results = await asyncio.gather(
            writer.write(batch("a" * 32, "fine")),
            writer.write(batch("b" * 32, {"not": "a column value"})),
            writer.write(batch("c" * 32, "also fine")),
            return_exceptions=True,
        )
    finally:
        await writer.close()
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], WriteFailed) and "could not store" in str(results[1])
    with sqlite3.connect(tmp_path / "w.db") as db:
        assert sorted(r[0] for r in db.execute("SELECT event_id FROM events")) == ["a" * 32, "c" * 32]
        # Envelope ids stay dense and match their rows after the retry.
        assert db.execute("SELECT count(*) FROM envelopes").fetchone() == (2,)
        joined = "SELECT count(*) FROM events JOIN envelopes ON envelopes.id = events.envelope_id"
        assert db.execute(joined).fetchone() == (2,)
        traces = db.execute("SELECT error_count FROM traces").fetchall()
    assert traces == [(2,)]


async def test_close_writes_what_was_queued(tmp_path):
    writer = await started(str(tmp_path / "w.db"))
    pending = [asyncio.ensure_future(writer.write(batch(f"{i:032x}", "m"))) for i in range(50)]
    await asyncio.sleep(0)
    await writer.close()
    await asyncio.gather(*pending)
    with sqlite3.connect(tmp_path / "w.db") as db:
        assert db.execute("SELECT count(*) FROM events").fetchone() == (50,)


async def test_a_resent_event_counts_once(tmp_path):
    writer = await started(str(tmp_path / "w.db"))
    try:
        await writer.write(batch("a" * 32, "first try"))
        # The SDK's retry, and a duplicate inside one group.
        await asyncio.gather(writer.write(batch("a" * 32, "retry")), writer.write(batch("a" * 32, "retry")))
    finally:
        await writer.close()
    with sqlite3.connect(tmp_path / "w.db") as db:
        # The first row stays: no acknowledged row is ever overwritten.
        assert db.execute("SELECT count(*), max(message) FROM events").fetchone() == (1, "first try")
        assert db.execute("SELECT error_count FROM traces").fetchone() == (1,)


async def test_a_killed_writer_process_fails_its_group_and_is_replaced(tmp_path):
    writer = await started(str(tmp_path / "w.db"))
    try:
        await writer.write(batch("a" * 32, "before"))
        old = writer.process
        os.kill(old.pid, signal.SIGKILL)
        old.wait()
        # The group sent to the dead process fails with a reason; the next
        # request goes to a new process, and nothing committed is lost.
        with pytest.raises(WriteFailed, match="writer process died"):
            await writer.write(batch("b" * 32, "lost"))
        await writer.write(batch("c" * 32, "after"))
        assert writer.process.pid != old.pid
    finally:
        await writer.close()
    with sqlite3.connect(tmp_path / "w.db") as db:
        assert sorted(r[0] for r in db.execute("SELECT message FROM events")) == ["after", "before"]


def test_summaries_merge_leaves_its_input_as_it_was():
    # A group that fails is written again batch by batch from the same summaries.
    one = summaries.summarize({"events": [{"event_id": "e1", "trace_id": "t", "timestamp": 2.0, "user_email": "a@x"}]})
    span = {"trace_id": "t", "span_id": "s", "is_segment": 1, "start_timestamp": 1.0, "timestamp": 3.0}
    two = summaries.summarize({"spans": [span]})
    before = repr(one), repr(two)
    merged: dict = {}
    summaries.merge(merged, one)
    summaries.merge(merged, two)
    assert (repr(one), repr(two)) == before
    t = merged["t"]
    assert (t.start_timestamp, t.end_timestamp, t.span_count) == (1.0, 3.0, 1)
    assert (t.event_ids, t.users) == ({"e1"}, [{"email": "a@x"}])


def _traces_db() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    schema.create(conn)
    return conn


def test_a_trace_row_puts_each_value_in_its_column():
    # to_row and the INSERT both take their column order from the schema.
    summary = summaries.summarize(
        {
            "spans": [
                {
                    "trace_id": "t",
                    "span_id": "s",
                    "description": "GET /",
                    "op": "http.server",
                    "start_timestamp": 1.0,
                    "timestamp": 3.0,
                    "sdk_name": "sentry.python",
                    "environment": "prod",
                }
            ],
            "events": [{"event_id": "e1", "trace_id": "t", "timestamp": 2.0, "release": "1.0", "user_id": "42"}],
        }
    )["t"]
    conn = _traces_db()
    conn.execute(store.REPLACE_TRACE, summaries.to_row("t", summary, 1, None, 99.0))
    cursor = conn.execute("SELECT * FROM traces")
    row = dict(zip([d[0] for d in cursor.description], cursor.fetchone(), strict=True))
    assert row == {
        "trace_id": "t",
        "start_timestamp": 1.0,
        "end_timestamp": 3.0,
        "root_name": "GET /",
        "root_op": "http.server",
        "root_is_parentless": 1,
        "root_start_timestamp": 1.0,
        "span_count": 1,
        "error_count": 1,
        "sdks": '["sentry.python"]',
        "users": '[{"id":"42"}]',
        "environments": '["prod"]',
        "releases": '["1.0"]',
        "last_seen": 99.0,
    }


def test_a_stored_trace_row_merges_with_what_comes_later():
    conn = _traces_db()
    first = summaries.summarize(
        {
            "spans": [
                {
                    "trace_id": "t",
                    "span_id": "a",
                    "parent_span_id": "elsewhere",
                    "is_segment": 1,
                    "description": "worker",
                    "start_timestamp": 5.0,
                    "timestamp": 6.0,
                    "user_id": "1",
                }
            ]
        }
    )["t"]
    conn.execute(store.REPLACE_TRACE, summaries.to_row("t", first, 0, None, 1.0))
    (stored,) = conn.execute(f"{store.SELECT_TRACES} (?)", ("t",)).fetchall()
    later = summaries.summarize(
        {
            "spans": [
                {
                    "trace_id": "t",
                    "span_id": "b",
                    "description": "GET /",
                    "start_timestamp": 7.0,
                    "timestamp": 8.0,
                    "user_id": "2",
                }
            ]
        }
    )["t"]
    row = summaries.to_row("t", later, 0, dict(zip(summaries.STORED_COLUMNS, stored[1:], strict=True)), 2.0)
    merged = dict(zip(summaries.COLUMNS, row, strict=True))
    # A span without a parent names the trace, though it started later.
    assert (merged["root_name"], merged["root_is_parentless"], merged["root_start_timestamp"]) == ("GET /", 1, 7.0)
    assert (merged["start_timestamp"], merged["end_timestamp"], merged["span_count"]) == (5.0, 8.0, 2)
    assert merged["users"] == '[{"id":"1"},{"id":"2"}]'


def test_storage_imports_nothing_from_later_stages():
    later = ("collector.ingest", "collector.read", "collector.web", "collector.app", "collector.cli")
    for path in (ROOT / "collector" / "storage").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = {0: "", 1: "collector.storage.", 2: "collector."}[node.level]
                names = [base + (node.module or "")]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            assert not [n for n in names if n.startswith(later)], (path.name, names)


async def test_rows_without_an_envelope_are_stored_unattached(tmp_path):
    writer = await started(str(tmp_path / "w.db"))
    try:
        event = {"event_id": "d" * 32, "message": "no envelope", "trace_id": "t" * 32}
        await writer.write(Batch(rows={"events": [event]}))
    finally:
        await writer.close()
    with sqlite3.connect(tmp_path / "w.db") as db:
        assert db.execute("SELECT message, envelope_id FROM events").fetchall() == [("no envelope", None)]


async def test_a_brief_lock_by_another_program_is_waited_out(tmp_path):
    writer = await started(str(tmp_path / "w.db"))
    other = sqlite3.connect(tmp_path / "w.db", isolation_level=None, check_same_thread=False)
    try:
        other.execute("BEGIN IMMEDIATE")
        asyncio.get_running_loop().call_later(0.5, other.execute, "ROLLBACK")
        await writer.write(batch("f" * 32, "waited"))
    finally:
        other.close()
        await writer.close()
    with sqlite3.connect(tmp_path / "w.db") as db:
        assert db.execute("SELECT message FROM events").fetchall() == [("waited",)]


def _counts_agree(path) -> None:
    with sqlite3.connect(path) as db:
        counters = dict(db.execute("SELECT name, value FROM counters"))
        for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'counters'"):
            assert counters.get(f"rows:{table}", 0) == db.execute(f"SELECT count(*) FROM {table}").fetchone()[0], table
        by_encoding = "SELECT coalesce(content_encoding, 'identity'), count(*) FROM envelopes GROUP BY 1"
        encodings = dict(db.execute(by_encoding))
        assert {k.partition(":")[2]: v for k, v in counters.items() if k.startswith("encoding:")} == encodings


async def test_counters_match_the_rows_through_resends_failures_and_restarts(tmp_path):
    path = tmp_path / "w.db"
    writer = await started(str(path))
    try:
        gzip_batch = batch("a" * 32, "first")
        gzip_batch.envelope["content_encoding"] = "gzip"
        transaction = {
            "transactions": [{"event_id": "t" * 32, "trace_id": "t" * 32}],
            "spans": [{"trace_id": "t" * 32, "span_id": "s" * 16, "is_segment": 1}],
        }
        await writer.write(gzip_batch)
        # Resends (alone and twice in one group), a transaction sent twice,
        # a batch that fails, and a rejection.
        await asyncio.gather(
            writer.write(batch("a" * 32, "resent")),
            writer.write(batch("b" * 32, "new")),
            writer.write(batch("b" * 32, "new again")),
            writer.write(Batch(envelope={"item_count": 1}, rows=transaction)),
            writer.write(Batch(envelope={"item_count": 1}, rows=transaction)),
            writer.write(batch("c" * 32, {"not": "a column value"})),
            writer.write(Batch(rejection={"status": 400, "reason": "bad"})),
            return_exceptions=True,
        )
    finally:
        await writer.close()
    _counts_agree(path)
    with sqlite3.connect(path) as db:
        assert dict(db.execute("SELECT name, value FROM counters"))["rows:events"] == 2
        db.execute("DELETE FROM events WHERE event_id = ?", ("b" * 32,))  # another program, while stopped
    writer = await started(str(path))
    await writer.close()
    _counts_agree(path)


async def test_close_ends_the_process_without_taking_it_for_a_crash(tmp_path, caplog):
    writer = await started(str(tmp_path / "w.db"))
    await writer.write(batch("a" * 32, "one"))
    process = writer.process
    await writer.close()
    await asyncio.sleep(0.2)  # time for a wrongly restarted process to show
    assert writer.process is None and process.poll() is not None
    assert "died" not in caplog.text


async def test_a_write_after_close_fails_instead_of_hanging(tmp_path):
    writer = await started(str(tmp_path / "w.db"))
    await writer.close()
    with pytest.raises(WriteFailed, match="stopping"):
        await asyncio.wait_for(writer.write(batch("a" * 32, "late")), 5)

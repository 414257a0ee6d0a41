"""The writer process with several server processes connected: one turn's
packets from every connection committed as one group, chores in their
place, each connection answered with its own errors in its own order, and
the others told that something was committed. Then the same through real
Writers: a shared one (the primary's) and one connected to it (a worker's)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3

import pytest

from collector.storage import wire
from collector.storage.client import WriteFailed, WriterUnavailable
from collector.storage.peers import Peers
from collector.storage.process import _turn
from helpers import batch, started


class RecordingStore:
    """Stands in for Store: records what it was asked, fails packets named "bad"."""

    def __init__(self):
        self.calls = []

    def commit(self, group):
        self.calls.append(("commit", list(group)))
        return wire.Answer(["no" if p == "bad" else None for p in group], None)

    def chore(self, chore):
        self.calls.append(("chore", chore.name))
        return wire.Answer([None], None, (chore.name,))


def test_one_group_for_every_connection_up_to_its_first_chore():
    store = RecordingStore()
    chore = wire.Chore("retain")
    answers = _turn(store, {"primary": ["p1", chore, "p2"], "worker": ["w1", "bad", "w3"]})
    assert store.calls == [
        ("commit", ["p1", "w1", "bad", "w3"]),
        ("chore", "retain"),
        ("commit", ["p2"]),
    ]
    assert [a.errors for a in answers["primary"]] == [[None], [None], [None]]
    assert answers["primary"][1].results == ("retain",)
    assert [a.errors for a in answers["worker"]] == [[None, "no", None]]


def test_raw_batches_are_prepared_and_one_that_cannot_be_is_answered_in_its_place():
    store = RecordingStore()

    def prepare(args):
        # A Packet, or (a str) why there is none.
        return "cannot" if args == ("broken",) else ("packet", args[0])

    inbox = {"primary": [wire.Raw(("a",)), "p2", wire.Raw(("broken",)), wire.Raw(("c",))]}
    answers = _turn(store, inbox, prepare)
    assert store.calls == [("commit", [("packet", "a"), "p2", ("packet", "c")])]
    assert [a.errors for a in answers["primary"]] == [[None, None, "cannot", None]]
    # All of a group unprepared: nothing to commit, each answered.
    store.calls.clear()
    answers = _turn(store, {"primary": [wire.Raw(("broken",))]}, prepare)
    assert store.calls == [] and [a.errors for a in answers["primary"]] == [["cannot"]]


def test_a_connection_without_answers_hears_of_the_commit():
    primary, primary_end = socket.socketpair()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(f"\0collector-test-peers-{os.getpid()}")
    listener.listen()
    peers = Peers(primary, listener)
    try:
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect(listener.getsockname())
        primary_end.sendall(wire.frame("p1"))
        inbox = peers.receive()
        assert list(inbox.values()) == [["p1"]]
        assert wire.receive(client) is None  # the hello, once accepted
        peers.answer({peers.primary: [wire.Answer([None], None)]})
        assert wire.receive(primary_end) == wire.Answer([None], None)
        assert wire.receive(client) == wire.Answer([], None)
        # A worker that goes is dropped; the primary is served on.
        client.close()
        primary_end.sendall(wire.frame("p2"))
        assert list(peers.receive().values()) == [["p2"]]
    finally:
        peers.close()
        for s in (primary, primary_end, listener):
            s.close()


async def _sqlite_messages(path) -> list[str]:
    with sqlite3.connect(path) as db:
        return sorted(row[0] for row in db.execute("SELECT message FROM events"))


async def test_a_worker_writes_through_the_shared_writer_and_sees_its_commits(tmp_path):
    path = str(tmp_path / "w.db")
    primary = await started(path, share=True)
    worker = await started(path, address=primary.address)
    try:
        await asyncio.gather(
            worker.write(batch("a" * 32, "from worker")), primary.write(batch("b" * 32, "from primary"))
        )
        worker.committed.clear()
        await primary.write(batch("c" * 32, "primary again"))
        await asyncio.wait_for(worker.committed.wait(), 5)
    finally:
        await worker.close()
        assert primary.process.poll() is None  # a worker's close leaves the writer running
        await primary.write(batch("d" * 32, "after the worker"))
        await primary.close()
    assert not os.path.exists(primary.address or "") and await _sqlite_messages(path) == [
        "after the worker",
        "from primary",
        "from worker",
        "primary again",
    ]


async def test_a_worker_reconnects_when_the_writer_process_is_replaced(tmp_path):
    path = str(tmp_path / "w.db")
    primary = await started(path, share=True)
    worker = await started(path, address=primary.address)
    try:
        await worker.write(batch("a" * 32, "before"))
        dead = primary.process
        os.kill(dead.pid, signal.SIGKILL)
        dead.wait()
        with pytest.raises(WriteFailed, match="died"):
            await worker.write(batch("b" * 32, "lost"))
        for _ in range(50):
            try:
                await worker.write(batch("c" * 32, "after"))
                break
            except (WriteFailed, WriterUnavailable):
                await asyncio.sleep(0.1)
    finally:
        await worker.close()
        await primary.close()
    assert await _sqlite_messages(path) == ["after", "before"]

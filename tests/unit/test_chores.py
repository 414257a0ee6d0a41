"""Chores: work on stored rows that travels to the writer like a packet, runs
in its own transaction, and is answered in order with the packets."""

from __future__ import annotations

import pytest

from collector.storage import chores, wire
from collector.storage.process import _answers
from collector.storage.store import Store


@pytest.fixture
def counting_chores(monkeypatch):
    def forget_rejections(conn, reason):
        return conn.execute("DELETE FROM rejections WHERE reason = ?", (reason,)).rowcount

    def half_done(conn):
        conn.execute("DELETE FROM rejections")
        raise ValueError("stopped half way")

    monkeypatch.setitem(chores.CHORES, "forget", forget_rejections)
    monkeypatch.setitem(chores.CHORES, "half_done", half_done)


def rejection(reason: str) -> wire.Packet:
    row = wire.values("rejections", {"received_at": 1.0, "endpoint": "store", "status": 400, "reason": reason})
    return wire.Packet(None, {"rejections": [row]}, {})


def test_a_chore_runs_between_the_packets_sent_around_it(tmp_path, counting_chores):
    store = Store(str(tmp_path / "c.db"))
    try:
        group = [rejection("a"), rejection("b"), wire.Chore("forget", ("a",)), rejection("a")]
        answers = list(_answers(store, group))
        # The two packets before the chore are one commit, the chore its own, then the last packet.
        assert [a.errors for a in answers] == [[None, None], [None], [None]]
        assert answers[1].results == (1,)
        left = store._conn.execute("SELECT reason FROM rejections ORDER BY rowid").fetchall()
        assert left == [("b",), ("a",)]
    finally:
        store.close()


def test_a_failing_chore_changes_nothing_and_says_why(tmp_path, counting_chores):
    store = Store(str(tmp_path / "c.db"))
    try:
        list(_answers(store, [rejection("kept")]))
        [answer] = list(_answers(store, [wire.Chore("half_done")]))
        assert answer.errors == ["half_done failed: stopped half way"]
        [unknown] = list(_answers(store, [wire.Chore("no_such_chore")]))
        assert unknown.errors == ["no chore named 'no_such_chore'"]
        assert store._conn.execute("SELECT count(*) FROM rejections").fetchone()[0] == 1
    finally:
        store.close()

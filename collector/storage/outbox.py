"""The outbox's chores: forwarded envelopes leave it, and what stays
undeliverable too long, or past the size bound, is dropped oldest first.

Rows come in with ingest's packets (the `outbox` table, one row per envelope
and destination, in the envelope's own transaction); the forwarder on the
server reads them and asks for these chores. Each is bounded: at most
`BATCH` rows a call, asked for again while there is more.
"""

from __future__ import annotations

import sqlite3

from .chores import chore

# Rows one chore deletes at most: a few milliseconds of the writer's time.
BATCH = 500


@chore("outbox.settle")
def settle(conn: sqlite3.Connection, ids: list[int]) -> int:
    """Delete the rows a destination took (or refused for good); how many
    were still there."""
    deleted = 0
    for i in range(0, len(ids), BATCH):
        chunk = ids[i : i + BATCH]
        deleted += conn.execute(f"DELETE FROM outbox WHERE id IN ({','.join('?' * len(chunk))})", chunk).rowcount
    _uncount(conn, deleted)
    return deleted


@chore("outbox.expire")
def expire(conn: sqlite3.Connection, older_than: float, max_bytes: int) -> dict[str, dict[str, int]]:
    """Drop up to BATCH of the oldest rows received before `older_than`,
    then, while the bodies waiting weigh more than `max_bytes`, up to BATCH
    of the oldest others: {destination: {"expired": n, "over_size": n}}."""
    dropped: dict[str, dict[str, int]] = {}
    old = conn.execute(
        "SELECT id, destination FROM outbox WHERE received_at < ? ORDER BY id LIMIT ?", (older_than, BATCH)
    ).fetchall()
    _drop(conn, old, "expired", dropped)
    if len(old) < BATCH:
        excess = conn.execute("SELECT coalesce(sum(size), 0) FROM outbox").fetchone()[0] - max_bytes
        if excess > 0:
            _drop(conn, _oldest_weighing(conn, excess), "over_size", dropped)
    return dropped


def _oldest_weighing(conn: sqlite3.Connection, excess: int) -> list[tuple[int, str]]:
    """The oldest rows (at most BATCH) whose sizes add up to `excess`."""
    rows, total = [], 0
    for row_id, destination, size in conn.execute(
        "SELECT id, destination, size FROM outbox ORDER BY id LIMIT ?", (BATCH,)
    ):
        rows.append((row_id, destination))
        total += size or 0
        if total >= excess:
            break
    return rows


def _drop(conn: sqlite3.Connection, rows: list[tuple[int, str]], reason: str, dropped: dict) -> None:
    if not rows:
        return
    ids = [row_id for row_id, _ in rows]
    conn.execute(f"DELETE FROM outbox WHERE id IN ({','.join('?' * len(ids))})", ids)
    for _, destination in rows:
        counts = dropped.setdefault(destination, {})
        counts[reason] = counts.get(reason, 0) + 1
    _uncount(conn, len(ids))


def _uncount(conn: sqlite3.Connection, n: int) -> None:
    # The writer counts rows as it inserts them (counters table); deletes
    # take theirs back so /api/stats stays right without a count(*).
    if n:
        conn.execute("UPDATE counters SET value = max(value - ?, 0) WHERE name = 'rows:outbox'", (n,))

"""What the outbox holds, read on a read-only connection (the reader's or
`collector doctor`'s)."""

from __future__ import annotations

import sqlite3


def pending_rows(conn: sqlite3.Connection, destination: str, limited: list[str], skip: list[int], limit: int):
    """The oldest rows for a destination, leaving out those with an item in
    a limited category and the ids in `skip`: [(id, categories, body, body_encoding)]."""
    where = ["destination = ?"]
    args: list = [destination]
    for category in limited:
        where.append("categories NOT LIKE ?")
        args.append(f"%,{category},%")
    if skip:
        where.append(f"id NOT IN ({','.join('?' * len(skip))})")
        args += skip
    sql = f"SELECT id, categories, body, body_encoding FROM outbox WHERE {' AND '.join(where)} ORDER BY id LIMIT ?"
    return [tuple(row) for row in conn.execute(sql, [*args, limit])]


def pending_counts(conn: sqlite3.Connection) -> dict[str, dict]:
    """{destination: {"pending", "pending_bytes", "oldest"}} of every destination with rows waiting."""
    try:
        rows = conn.execute(
            "SELECT destination, count(*), coalesce(sum(size), 0), min(received_at) FROM outbox GROUP BY destination"
        ).fetchall()
    except sqlite3.OperationalError:
        # A file made before the outbox existed, read by `collector doctor`.
        return {}
    return {d: {"pending": n, "pending_bytes": size, "oldest": oldest} for d, n, size, oldest in rows}

"""Chores: work the writer process does on what is stored, between groups of
new rows (see `wire.Chore`).

Each chore is a function of the write connection and its arguments, run in
its own transaction, returning a small result for the server. It must do a
bounded amount of work (a few milliseconds): ingest waits behind it. Work
that is larger (deleting a million old rows) is asked for again and again,
one small batch a chore, by the server.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

# name → function(conn, *args) -> result; modules add theirs with `chore`.
CHORES: dict[str, Callable] = {}


def chore(name: str):
    def register(fn: Callable) -> Callable:
        CHORES[name] = fn
        return fn

    return register


def run(conn: sqlite3.Connection, name: str, args: tuple):
    """The chore's result; raises KeyError for a name no module registered."""
    fn = CHORES[name]
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn(conn, *args)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return result


from . import outbox  # noqa: E402,F401
from . import retention as retention  # noqa: E402

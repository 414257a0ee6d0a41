"""A file of the older layout (one `spans` row per span) packed into
`span_packs`, once, when the writer opens it.

schema.create renamed the old table `spans_old_layout`. Each batch packs
the next rows (by rowid, the order they were written in) and deletes them
in the same transaction, so a collector stopped halfway goes on where it
stopped. Progress goes to stderr: a large file takes a while (README).
"""

from __future__ import annotations

import logging
import sqlite3
import time

from . import span_packs

log = logging.getLogger(__name__)

OLD = "spans_old_layout"
# Rows per transaction: a batch takes a fraction of a second.
BATCH = 20_000


def run(conn: sqlite3.Connection) -> int:
    """Pack every span of the older layout; how many there were."""
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (OLD,)).fetchone():
        return 0
    total = conn.execute(f"SELECT count(*) FROM {OLD}").fetchone()[0]
    log.warning("packing %d spans stored by an older version of the collector (once)", total)
    select = f"SELECT rowid, {', '.join(span_packs.COLUMNS)} FROM {OLD} WHERE rowid > ? ORDER BY rowid LIMIT ?"
    done, last, started = 0, 0, time.monotonic()
    while True:
        conn.execute("BEGIN IMMEDIATE")
        rows = conn.execute(select, (last, BATCH)).fetchall()
        if not rows:
            conn.execute(f"DROP TABLE {OLD}")
            conn.execute("COMMIT")
            break
        span_packs.insert(conn, span_packs.from_rows([_json_safe(r[1:]) for r in rows]))
        last = rows[-1][0]
        conn.execute(f"DELETE FROM {OLD} WHERE rowid <= ?", (last,))
        conn.execute("COMMIT")
        done += len(rows)
        log.warning("packed %d of %d spans (%.0f s)", done, total, time.monotonic() - started)
    return done


def _json_safe(row: tuple) -> tuple:
    # Another program may have stored bytes, which JSON cannot hold: their
    # hex, as the view's trigger keeps them.
    return tuple(v.hex().upper() if isinstance(v, bytes) else v for v in row)

"""The server's side of retention: asks the writer for one small batch at a
time (retention.py's chores) while something is older than `--retain` or
the file holds more than `--max-db-size`, then gives the free pages back.

Each batch is a chore: ingest waits behind it for its few milliseconds, and
the pause between batches lets ingest's groups through. `purge` is the same
loop for `collector purge`, run through the writer or on the file itself.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from . import retention, schema
from .client import WriteFailed, WriterUnavailable

log = logging.getLogger(__name__)

# How often the task deletes what is older than `--retain` and gives free
# pages back.
CHECK_EVERY = 0.5
# How often it looks at the file's size: three PRAGMAs, so often, because
# under full ingest the file grows by megabytes a second (measured: 3.7 MB/s
# from one client sending 21-span traces), and a check every CHECK_EVERY let
# it pass the bound between two checks.
SIZE_CHECK_EVERY = 0.05
# Between two batches: the writer commits ingest's waiting groups.
PAUSE = 0.005
# Deleting starts once the file uses this share of the bound, not at the
# bound itself: under full ingest, batches wait behind the writer's groups,
# and the headroom is what keeps the file under the bound meanwhile.
HIGH_WATER = 0.8
# Then it deletes down to this share, so that one pass makes room for a
# while instead of a batch at every check.
LOW_WATER = 0.65
# Pages given back per chore (4 KiB each): a few ms of work.
RECLAIM_PAGES = 512

# A chore runner: the writer's (`Writer.chore`) or a connection's own.
RunChore = Callable[..., Awaitable]

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
SIZES = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "kib": 1024, "mib": 1024**2, "gib": 1024**3}


def parse_duration(text: str) -> float:
    """Seconds of "7d", "12h", "30m", "90s", "2w"; ValueError otherwise."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text.lower())
    if not match:
        raise ValueError(f"{text!r} is not a duration: write a number and a unit, e.g. 7d, 12h, 30m")
    return float(match[1]) * UNITS[match[2]]


def parse_size(text: str) -> int:
    """Bytes of "1GB", "500MB", "2GiB", "1000000"; ValueError otherwise."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?\s*", text.lower())
    if not match:
        raise ValueError(f"{text!r} is not a size: write a number and a unit, e.g. 1GB, 500MB")
    return int(float(match[1]) * SIZES[match[2] or ""])


@dataclass
class Report:
    """What a pass or a purge deleted, and the bytes it gave back."""

    traces: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    bytes_before: int = 0
    bytes_after: int = 0

    def add(self, result: dict) -> None:
        self.traces += result["traces"]
        for table, n in result["rows"].items():
            self.rows[table] = self.rows.get(table, 0) + n


def file_bytes(conn: sqlite3.Connection) -> tuple[int, int]:
    """Bytes in use and bytes free, committed state."""
    return retention.used_bytes(conn)


async def reclaim(run: RunChore, conn: sqlite3.Connection, keep_free: int) -> None:
    """Give free pages back, a few at a time, until at most `keep_free` bytes are free."""
    while (await asyncio.to_thread(file_bytes, conn))[1] > keep_free:
        before = (await asyncio.to_thread(file_bytes, conn))[1]
        await run("retention.reclaim", RECLAIM_PAGES)
        if (await asyncio.to_thread(file_bytes, conn))[1] >= before:
            return  # a file without auto_vacuum: its free pages are reused instead
        await asyncio.sleep(PAUSE)


async def delete_before(run: RunChore, cutoff: float | None, report: Report) -> None:
    """Batches until nothing started before `cutoff` is left (None: everything)."""
    while True:
        result = await run("retention.batch", cutoff)
        report.add(result)
        if not result["more"] and not result["rows"]:
            return
        await asyncio.sleep(PAUSE)


async def shrink_to(run: RunChore, conn: sqlite3.Connection, max_bytes: int, report: Report) -> None:
    """Batches of the oldest traces while the file uses more than `max_bytes`."""
    while (await asyncio.to_thread(file_bytes, conn))[0] > max_bytes:
        result = await run("retention.batch", None)
        report.add(result)
        if not result["rows"]:
            return  # nothing left that retention may delete
        await asyncio.sleep(PAUSE)


async def purge(run: RunChore, db_path: str, *, before=None, trace_id=None, everything=False) -> Report:
    """`collector purge`: one trace, everything started before a time, or
    all (but the newest envelope's row, see retention.py), then the space back."""
    conn = schema.connect(db_path, readonly=True)
    try:
        report = Report(bytes_before=sum(await asyncio.to_thread(file_bytes, conn)))
        if trace_id is not None:
            report.add(await run("retention.trace", trace_id))
        elif everything or before is not None:
            # "All" is all that started before the purge did: under ingest,
            # deleting what keeps arriving would never end.
            await delete_before(run, time.time() if everything else before, report)
        await reclaim(run, conn, 0)
        report.bytes_after = sum(await asyncio.to_thread(file_bytes, conn))
    finally:
        conn.close()
    return report


@dataclass
class Policy:
    """`--retain` in seconds and `--max-db-size` in bytes (None: no bound)."""

    retain: float | None = None
    max_bytes: int | None = None

    @property
    def active(self) -> bool:
        return self.retain is not None or self.max_bytes is not None


async def keep_bounded(run: RunChore, db_path: str, policy: Policy) -> None:
    """Runs until cancelled: a size check every SIZE_CHECK_EVERY seconds
    (with a bound), a whole pass every CHECK_EVERY."""
    conn = schema.connect(db_path, readonly=True)
    pause = SIZE_CHECK_EVERY if policy.max_bytes is not None else CHECK_EVERY
    last_whole = -CHECK_EVERY
    try:
        while True:
            whole = time.monotonic() - last_whole >= CHECK_EVERY
            if whole:
                last_whole = time.monotonic()
            try:
                report = await one_pass(run, conn, policy, whole=whole)
            except (WriteFailed, WriterUnavailable) as e:
                # The writer restarting, or the file gone: the next pass tries again.
                log.warning("retention pass stopped: %s", e)
            else:
                if report.rows:
                    log.info("retention deleted %d traces, %s", report.traces, report.rows)
            await asyncio.sleep(pause)
    finally:
        conn.close()


async def one_pass(run: RunChore, conn: sqlite3.Connection, policy: Policy, *, whole: bool = True) -> Report:
    """The size check, and with `whole` the age check and the reclaim too."""
    report = Report()
    if whole and policy.retain is not None:
        await delete_before(run, time.time() - policy.retain, report)
    if policy.max_bytes is not None and (await asyncio.to_thread(file_bytes, conn))[0] > policy.max_bytes * HIGH_WATER:
        await shrink_to(run, conn, int(policy.max_bytes * LOW_WATER), report)
    if whole or report.rows:
        # Free pages beyond a little room for the next inserts go back to the disk.
        room = min(8 * 1024 * 1024, (policy.max_bytes or 1 << 62) // 20)
        await reclaim(run, conn, room)
    return report


def context(run: RunChore, db_path: str, policy: Policy):
    """An aiohttp cleanup context running `keep_bounded` while the app runs
    (after the writer started: contexts start in order)."""

    async def running(app):
        task = asyncio.create_task(keep_bounded(run, db_path, policy)) if policy.active else None
        yield
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    return running

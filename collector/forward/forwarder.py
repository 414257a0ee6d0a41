"""The forwarder: one lane per destination sends the outbox's rows, oldest
first, a few at a time, and has the writer delete each one the destination
took (or refused for good); a sweeper drops what waited too long.

Relay's rules: network errors and 5xx back the whole destination off,
exponentially up to a minute (longer if its Retry-After says so); a 429
holds back only the rate-limited categories (`X-Sentry-Rate-Limits`), or
everything when it names none; any other 4xx is the upstream refusing that
envelope: dropped and counted with the reason. A row is deleted only after
its destination answered, so a crash between the two sends it again: at
least once, and in practice once (a stop waits for the round in flight).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from dataclasses import dataclass, field

import aiohttp

from ..storage import bodies
from ..storage import outbox as outbox_chores
from ..storage.client import WriteFailed, Writer, WriterUnavailable
from ..storage.reader import Reader
from . import pending, rules
from .destinations import Destination
from .ratelimits import ALL, RateLimits, parse_retry_after

log = logging.getLogger(__name__)

# Requests in flight per destination, and rows read per round.
CONCURRENCY = 4
PAGE = 32
# Backoff after network errors and 5xx: 1 s doubling up to this.
MAX_BACKOFF = 60.0
# How often an idle lane looks for new rows, and how fresh pending counts are.
IDLE_POLL = 0.25
COUNT_EVERY = 2.0
# Undeliverable past either bound: dropped, oldest first.
MAX_AGE = 24 * 3600.0
MAX_PENDING_BYTES = 500 * 1024 * 1024
SWEEP_EVERY = 10.0
# A stop waits this long for the round in flight, so that what was sent is settled.
STOP_WAIT = 15.0
TIMEOUT = aiohttp.ClientTimeout(total=12, connect=5)


@dataclass
class LaneStatus:
    """What /api/stats and the pages say about one destination."""

    destination: Destination
    forwarded: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    pending: int = 0
    pending_bytes: int = 0
    # Rows that failed at least once and wait for the next try.
    retrying: set[int] = field(default_factory=set)
    last_error: str | None = None
    last_error_at: float | None = None
    limits: RateLimits = field(default_factory=RateLimits)
    backoff_until: float = 0.0
    failures: int = 0

    def as_json(self, now: float) -> dict:
        return {
            "destination": self.destination.name,
            "kind": self.destination.kind,
            "forwarded": self.forwarded,
            "pending": self.pending,
            "pending_bytes": self.pending_bytes,
            "retrying": len(self.retrying),
            "dropped": sum(self.dropped.values()),
            "dropped_by_reason": dict(self.dropped),
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
            "backoff_until": self.backoff_until if self.backoff_until > now else None,
            "rate_limited_until": self.limits.active(now),
        }

    def count_dropped(self, reason: str, n: int = 1) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + n

    def fail(self, reason: str, now: float, at_least: float = 0.0) -> None:
        self.failures += 1
        self.last_error, self.last_error_at = reason, now
        delay = max(min(2.0 ** (self.failures - 1), MAX_BACKOFF), at_least)
        self.backoff_until = max(self.backoff_until, now + delay)


@dataclass
class Outcome:
    """A send's result: the row leaves the outbox when `settle` is set."""

    settle: bool
    dropped_reason: str | None = None


class Forwarder:
    def __init__(
        self,
        destinations: list[Destination],
        writer: Writer,
        reader: Reader,
        max_age: float = MAX_AGE,
        max_pending_bytes: int = MAX_PENDING_BYTES,
    ):
        self.lanes = [LaneStatus(d) for d in destinations]
        self._writer, self._reader = writer, reader
        self._max_age, self._max_bytes = max_age, max_pending_bytes
        self._session: aiohttp.ClientSession | None = None
        self._tasks: list[asyncio.Task] = []
        self._stopping = asyncio.Event()
        self._counted_at = 0.0

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=TIMEOUT, auto_decompress=True)
        self._tasks = [asyncio.create_task(self._lane(lane)) for lane in self.lanes]
        self._tasks.append(asyncio.create_task(self._sweep()))

    async def close(self) -> None:
        self._stopping.set()
        _, running = await asyncio.wait(self._tasks, timeout=STOP_WAIT)
        for task in running:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    def stats(self) -> list[dict]:
        now = time.time()
        return [lane.as_json(now) for lane in self.lanes]

    def status_line(self) -> str:
        """One line for every page: where data goes and how it is going."""
        parts = []
        for lane in self.lanes:
            text = f"{lane.destination.host}: {lane.pending} pending"
            limited = lane.limits.active(time.time())
            if limited:
                text += f", rate limited ({', '.join(sorted(limited))})"
            if lane.last_error and lane.retrying:
                text += f", last error: {lane.last_error}"
            parts.append(text)
        return "forwarding to " + "; ".join(parts)

    # --- a destination's lane ----------------------------------------------

    async def _lane(self, lane: LaneStatus) -> None:
        unsettled: list[int] = []
        while not self._stopping.is_set():
            now = time.time()
            await self._refresh_counts(now)
            limited = lane.limits.active(now)
            wait = max(lane.backoff_until - now, limited.get(ALL, now) - now)
            if unsettled:
                unsettled = await self._settle(lane, unsettled)
            if wait > 0:
                await self._pause(min(wait, 1.0))
                continue
            try:
                rows = await self._reader.run(
                    pending.pending_rows, lane.destination.name, sorted(limited), unsettled, PAGE
                )
            except sqlite3.Error as e:
                # A read error must not end forwarding: logged, and the next round tries again.
                log.warning("forwarding: could not read the outbox: %r", e)
                rows = []
            if not rows:
                await self._pause(IDLE_POLL)
                continue
            unsettled += await self._round(lane, rows)
            unsettled = await self._settle(lane, unsettled)

    async def _round(self, lane: LaneStatus, rows: list[tuple]) -> list[int]:
        """Send rows, CONCURRENCY at a time: the ids to delete."""
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(row):
            async with gate:
                if lane.backoff_until > time.time():
                    return None  # the destination failed meanwhile: wait with the rest
                return row[0], await self._send(lane, row)

        done = []
        for result in await asyncio.gather(*map(one, rows)):
            if result is None:
                continue
            row_id, outcome = result
            if outcome.settle:
                done.append(row_id)
                lane.retrying.discard(row_id)
                if outcome.dropped_reason is None:
                    lane.forwarded += 1
                    lane.failures = 0
                else:
                    lane.count_dropped(outcome.dropped_reason)
            else:
                lane.retrying.add(row_id)
        return done

    async def _send(self, lane: LaneStatus, row: tuple) -> Outcome:
        _, categories, body, encoding = row
        destination = lane.destination
        data = bodies.unpack(body, encoding)
        if destination.kind == "otlp":
            url, headers = f"{destination.url}/v1/{categories}", {"Content-Type": "application/x-protobuf"}
        else:
            url = destination.url
            headers = {"Content-Type": "application/x-sentry-envelope", "X-Sentry-Auth": destination.auth_header()}
            data = rules.for_upstream(data, destination)
        try:
            async with self._session.post(url, data=data, headers=headers) as response:
                answer = (await response.read())[:300]
                return self._judge(lane, categories, response.status, response.headers, answer)
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            lane.fail(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__, time.time())
            return Outcome(settle=False)

    def _judge(self, lane: LaneStatus, categories: str, status: int, headers, answer: bytes) -> Outcome:
        now = time.time()
        lane.limits.update(status, headers, now)
        if 200 <= status < 300:
            return Outcome(settle=True)
        reason = f"{status} {headers.get('X-Sentry-Error') or answer.decode('utf-8', 'replace').strip()}".strip()
        if status == 429:
            limited = lane.limits.active(now)
            if ALL not in limited and not rules.held(limited)(categories):
                # Limited, but not in a category we can tell: back off instead of asking again at once.
                lane.fail(reason, now)
            else:
                lane.last_error, lane.last_error_at = reason, now
            return Outcome(settle=False)
        if status >= 500 or status == 408:
            retry_after = parse_retry_after(headers.get("Retry-After"), now) if "Retry-After" in headers else 0.0
            lane.fail(reason, now, at_least=retry_after)
            return Outcome(settle=False)
        # Any other 4xx: the upstream will never take this envelope.
        lane.last_error, lane.last_error_at = reason, now
        log.warning("forwarding to %s: dropped an envelope the upstream refused: %s", lane.destination.name, reason)
        return Outcome(settle=True, dropped_reason=f"refused: {reason}"[:200])

    async def _settle(self, lane: LaneStatus, ids: list[int]) -> list[int]:
        """Delete delivered rows; the ids still to delete if the writer could not."""
        if not ids:
            return []
        try:
            await self._writer.chore("outbox.settle", ids)
        except (WriteFailed, WriterUnavailable) as e:
            log.warning("forwarding: could not mark %d envelopes delivered (%s); trying again", len(ids), e)
            await self._pause(1.0)
            return ids
        lane.pending = max(lane.pending - len(ids), 0)
        return []

    # --- shared chores ------------------------------------------------------

    async def _refresh_counts(self, now: float) -> None:
        if now - self._counted_at < COUNT_EVERY:
            return
        self._counted_at = now
        try:
            counts = await self._reader.run(pending.pending_counts)
        except sqlite3.Error as e:
            log.warning("forwarding: could not count the outbox: %r", e)
            return
        for lane in self.lanes:
            found = counts.get(lane.destination.name, {})
            lane.pending, lane.pending_bytes = found.get("pending", 0), found.get("pending_bytes", 0)

    async def _sweep(self) -> None:
        """Drop what stayed undeliverable past MAX_AGE, and the oldest past
        the size bound, a batch per chore until none is left."""
        lanes = {lane.destination.name: lane for lane in self.lanes}
        while not self._stopping.is_set():
            try:
                dropped = await self._writer.chore("outbox.expire", time.time() - self._max_age, self._max_bytes)
            except (WriteFailed, WriterUnavailable) as e:
                log.warning("forwarding: could not drop expired envelopes: %s", e)
                dropped = {}
            total = 0
            for name, reasons in dropped.items():
                for reason, n in reasons.items():
                    total += n
                    if name in lanes:
                        lanes[name].count_dropped(reason, n)
            if total:
                log.warning("forwarding: dropped %d undeliverable envelopes (%s)", total, dropped)
            if total < outbox_chores.BATCH:
                await self._pause(SWEEP_EVERY)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

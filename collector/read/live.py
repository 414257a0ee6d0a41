"""The live feed's reads: what was stored after a given point, filtered.

A point in the feed is `<envelope id>.<entry index>`: envelope ids are
numbered by the writer in commit order, so "everything after 1234.2" is one
indexed range read of `envelopes`, the same before and after a restart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from .noise import Noise

KINDS = ("segment", "spans", "error", "log", "replay", "session", "finding", "more")
# Envelopes read per query while catching up: a client far behind gets its
# backlog in pages rather than one answer of a million rows.
PAGE = 500


@dataclass(frozen=True, order=True)
class Position:
    """After which entry of which envelope a client is (or an entry is at)."""

    envelope: int = 0
    entry: int = -1

    @classmethod
    def parse(cls, value: str | None) -> Position | None:
        """`1234.2` or `1234` (all of envelope 1234); None when unreadable."""
        if not value:
            return None
        envelope, _, entry = value.strip().partition(".")
        try:
            return cls(int(envelope), int(entry) if entry else 1 << 30)
        except ValueError:
            return None


@dataclass(frozen=True)
class Filters:
    kinds: frozenset = frozenset(KINDS)
    trace_id: str | None = None
    sdk: str | None = None
    user: str | None = None
    level: str | None = None
    noise: Noise | None = field(default_factory=Noise)

    def keeps(self, entry: dict) -> bool:
        if entry.get("kind") not in self.kinds:
            return False
        if self.trace_id and entry.get("trace_id") != self.trace_id:
            return False
        if self.sdk and self.sdk not in str(entry.get("sdk") or ""):
            return False
        if self.user and self.user != entry.get("user"):
            return False
        if self.level and entry.get("kind") in ("error", "log") and entry.get("level") != self.level:
            return False
        return not (self.noise and entry.get("kind") == "segment" and self.noise.hides(entry.get("name")))


@dataclass(frozen=True)
class Entry:
    id: str
    kind: str
    data: dict
    position: Position


def latest_position(conn) -> Position:
    envelope = conn.execute("SELECT max(id) FROM envelopes").fetchone()[0]
    return Position(envelope or 0, 1 << 30)


def read_after(conn, after: Position, limit: int = PAGE) -> tuple[list[Entry], Position, bool]:
    """Every entry of the envelopes from `after`'s on (at most `limit` of
    them; `select` drops those at or before `after`); the position reached
    (the last envelope read, even when it had no entry: the next read starts
    after it); and whether more envelopes may be waiting."""
    rows = conn.execute(
        "SELECT id, received_at, news FROM envelopes WHERE id >= ? AND news IS NOT NULL ORDER BY id LIMIT ?",
        (after.envelope, limit),
    ).fetchall()
    out = [
        Entry(
            f"{envelope_id}.{index}", entry["kind"], {**entry, "received_at": received_at}, Position(envelope_id, index)
        )
        for envelope_id, received_at, news in rows
        for index, entry in _entries(news)
    ]
    reached = Position(rows[-1][0], 1 << 30) if rows else after
    return out, reached, len(rows) == limit


def select(entries: list[Entry], after: Position, filters: Filters) -> list[Entry]:
    """The entries after `after` that pass `filters`."""
    return [e for e in entries if e.position > after and filters.keeps(e.data)]


def entries_after(conn, after: Position, filters: Filters, limit: int = PAGE) -> tuple[list[Entry], Position, bool]:
    """`read_after`, filtered: what one client reads on its own."""
    entries, reached, more = read_after(conn, after, limit)
    return select(entries, after, filters), reached, more


def _entries(news: str) -> list[tuple[int, dict]]:
    """(index, entry) of each entry in an envelope's `news`. The entries are
    ingest's own (news.py), but the column is the file's and may hold any
    JSON: what is not an object with a kind is left out, its index kept."""
    try:
        value = orjson.loads(news)
    except orjson.JSONDecodeError:
        return []
    if not isinstance(value, list):
        return []
    return [(i, e) for i, e in enumerate(value) if isinstance(e, dict) and isinstance(e.get("kind"), str)]

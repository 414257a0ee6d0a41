"""The live feed's reads: what was stored after a given point, filtered.

A point in the feed is `<envelope id>.<entry index>`: envelope ids are
numbered by the writer in commit order, so "everything after 1234.2" is one
indexed range read of `envelopes`, the same before and after a restart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from ..protocol.jsonshape import as_dict
from .noise import Noise

KINDS = ("segment", "spans", "error", "log", "replay", "session", "finding", "more")
# Envelopes read per query while catching up: a client far behind gets its
# backlog in pages rather than one answer of a million rows.
PAGE = 500


@dataclass(frozen=True)
class Position:
    """After which entry of which envelope a client is."""

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


def latest_position(conn) -> Position:
    envelope = conn.execute("SELECT max(id) FROM envelopes").fetchone()[0]
    return Position(envelope or 0, 1 << 30)


def entries_after(conn, after: Position, filters: Filters, limit: int = PAGE) -> tuple[list[Entry], Position, bool]:
    """The entries after `after` that pass `filters`, from at most `limit`
    envelopes; the position reached (the last envelope read, even when none
    of its entries passed: the next read starts after it); and whether more
    envelopes may be waiting."""
    rows = conn.execute(
        "SELECT id, received_at, news FROM envelopes WHERE id >= ? AND news IS NOT NULL ORDER BY id LIMIT ?",
        (after.envelope, limit),
    ).fetchall()
    out: list[Entry] = []
    for envelope_id, received_at, news in rows:
        for index, entry in enumerate(_entries(news)):
            if envelope_id == after.envelope and index <= after.entry:
                continue
            if filters.keeps(entry):
                out.append(Entry(f"{envelope_id}.{index}", entry["kind"], {**entry, "received_at": received_at}))
    reached = Position(rows[-1][0], 1 << 30) if rows else after
    return out, reached, len(rows) == limit


def _entries(news: str) -> list[dict]:
    try:
        value = orjson.loads(news)
    except orjson.JSONDecodeError:
        return []
    return [as_dict(e) for e in value] if isinstance(value, list) else []

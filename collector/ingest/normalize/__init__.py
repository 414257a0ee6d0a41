"""From parsed envelope items to rows, one dict per row, keyed by table.

Pure: an `Envelope` in, a `Records` out. Each item type has a handler (in
`events`, `spans` and `items`, found through `HANDLERS`); an item of a type
without one is kept raw. An item that cannot be understood becomes an
`item_failures` row with the reason, the start of its raw bytes and their
size, and never stops its siblings. Column names match `storage.schema`.

Every value comes from a typed helper (`as_str`, `as_id`, `json_int`,
`timestamp`, `json_or_none`) that yields only what its column can hold, so
no JSON an SDK sends can make SQLite raise; tests/unit/test_normalize.py
holds every handler to that with any JSON value in any field. Checking each
row again against its column types (`fit`, used for the envelope's own row)
would cost 40% more per transaction, one check per span column.
"""

from __future__ import annotations

import time

from ...protocol.envelope import Envelope, Item, ItemType
from ...protocol.limits import KIB, MIB, OVER_SENTRY_LIMIT, SENTRY_LIMITS
from . import events, items, spans
from .records import MAX_ROWS, Context, Records
from .values import FUTURE_SLACK, INT64_MAX, INT64_MIN, ItemError, fit

__all__ = ["FUTURE_SLACK", "INT64_MAX", "INT64_MIN", "MAX_ROWS", "Records", "fit", "normalize"]

# The collector's own limits: an item over them is dropped and counted as
# failed, the envelope still accepted. Larger than Sentry's for events,
# transactions and spans, so that a developer sees the trace Sentry would
# lose, and why (an `item_failures` row with OVER_SENTRY_LIMIT), rather than
# a trace that is not there; MAX_ROWS still bounds what one item may hold.
ITEM_LIMITS = {
    **SENTRY_LIMITS,
    ItemType.EVENT: 10 * MIB,
    ItemType.TRANSACTION: 10 * MIB,
    ItemType.SPAN: 10 * MIB,
}
MAX_ATTACHMENTS = 30
# A failed item keeps this much of its payload (enough to see what the SDK
# sent wrong) and its full size; a 100 MB attachment over its limit is not
# stored whole.
FAILURE_PREFIX = 64 * KIB
# All failed items of one envelope together keep at most this many bytes,
# and at most this many failure rows (then one row counting the rest).
MAX_FAILURE_BYTES = 1 * MIB
MAX_FAILURES = 100

# The handler of each item type; any other type goes to `items.keep_raw`.
HANDLERS = {
    ItemType.EVENT: events.event,
    ItemType.TRANSACTION: events.transaction,
    ItemType.SPAN: spans.span,
    ItemType.LOG: items.log,
    ItemType.SESSION: items.session,
    ItemType.SESSIONS: items.sessions,
    ItemType.REPLAY_EVENT: items.replay_event,
    ItemType.REPLAY_RECORDING: items.replay_recording,
    ItemType.REPLAY_VIDEO: items.replay_recording,
    ItemType.USER_REPORT: items.user_report,
    ItemType.FEEDBACK: items.feedback,
    ItemType.ATTACHMENT: items.attachment,
    ItemType.CLIENT_REPORT: items.client_report,
}


class _Failures:
    """The failed items of one envelope, bounded (MAX_FAILURES and the byte
    limits beside it): each keeps a prefix of its payload and its size."""

    def __init__(self):
        self.rows: list[dict] = []
        self.kept_bytes = 0
        self.dropped = 0

    def add(self, index: int, item: Item, reason: str) -> None:
        if len(self.rows) >= MAX_FAILURES:
            self.dropped += 1
            return
        kept = item.payload[: min(FAILURE_PREFIX, MAX_FAILURE_BYTES - self.kept_bytes)]
        self.kept_bytes += len(kept)
        size = len(item.payload)
        self.rows.append(
            {"item_index": index, "item_type": item.type, "reason": reason, "payload": kept or None, "size": size}
        )

    def into(self, out: Records) -> None:
        if self.dropped:
            reason = f"{self.dropped} more failed items of this envelope not kept (at most {MAX_FAILURES} are)"
            self.rows.append({"item_index": None, "item_type": None, "reason": reason, "payload": None, "size": None})
        if self.rows:
            out.rows["item_failures"] = self.rows


def _admit(item: Item, out: Records, room: int) -> None:
    """Refuse an item before reading it: over its size limit, or past what
    one envelope may hold."""
    limit = ITEM_LIMITS.get(item.type)
    if limit is not None and len(item.payload) > limit:
        raise ItemError(f"{item.type} item of {len(item.payload)} bytes exceeds the {limit}-byte limit")
    if item.type == ItemType.ATTACHMENT and out.count("attachments") >= MAX_ATTACHMENTS:
        raise ItemError(f"more than {MAX_ATTACHMENTS} attachments in one envelope")
    if room <= 0:
        raise ItemError(f"more than {MAX_ROWS} rows from one envelope")


def _note_sentry_limit(index: int, item: Item, failures: _Failures) -> None:
    """A stored item Sentry would drop for its size: noted as a failure that
    says so, with the start of its payload (where its trace id is)."""
    limit = SENTRY_LIMITS.get(item.type)
    if limit is not None and len(item.payload) > limit:
        failures.add(
            index,
            item,
            f"{OVER_SENTRY_LIMIT}: {item.type} item of {len(item.payload)} bytes exceeds Sentry's {limit}-byte limit",
        )


def normalize(
    envelope: Envelope, project_id: str, client_ip: str | None = None, received_at: float | None = None
) -> Records:
    """The rows of an envelope received at `received_at` (default: now)."""
    latest = (time.time() if received_at is None else received_at) + FUTURE_SLACK
    ctx = Context(project_id, envelope, client_ip, latest)
    out, failures, room = Records(), _Failures(), MAX_ROWS
    for index, item in enumerate(envelope.items):
        # Each item lands whole or not at all: its rows join the envelope's
        # only once its handler has finished.
        item_rows = Records(room=room)
        try:
            _admit(item, out, room)
            HANDLERS.get(item.type, items.keep_raw)(item, ctx, item_rows)
        except (ItemError, TypeError, ValueError, AttributeError, RecursionError) as e:
            # A payload of a shape no SDK sends (or nested past what repr()
            # can walk): the item fails, alone.
            failures.add(index, item, str(e))
            continue
        out.extend(item_rows)
        room = item_rows.room
        _note_sentry_limit(index, item, failures)
    failures.into(out)
    return out

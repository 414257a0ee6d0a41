"""Sentry's size limit for each item type, as Relay enforces them: Sentry
drops an item over its limit (the envelope itself is still accepted).

The collector keeps such items anyway (ingest's own limits are larger) and
says why where users look: an `item_failures` row whose reason starts with
OVER_SENTRY_LIMIT, which the doctor reads back.
"""

from __future__ import annotations

from .envelope import ItemType

KIB, MIB = 1024, 1024 * 1024
SENTRY_LIMITS = {
    ItemType.EVENT: 1 * MIB,
    ItemType.TRANSACTION: 1 * MIB,
    ItemType.SPAN: 1 * MIB,
    ItemType.LOG: 2 * MIB,
    ItemType.OTEL_LOG: 2 * MIB,
    ItemType.ATTACHMENT: 100 * MIB,
    ItemType.CHECK_IN: 100 * KIB,
    ItemType.PROFILE: 50 * MIB,
    ItemType.PROFILE_CHUNK: 50 * MIB,
    ItemType.REPLAY_EVENT: 1 * MIB,
    ItemType.REPLAY_RECORDING: 100 * MIB,
    ItemType.REPLAY_VIDEO: 100 * MIB,
}

# The reason of an item stored although Sentry would have dropped it.
OVER_SENTRY_LIMIT = "over Sentry's limit (stored anyway)"

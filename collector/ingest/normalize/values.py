"""Column values from JSON values: each helper yields only what its column
can hold (times, ids, integers, JSON text), whatever an SDK sent.

Text, objects and lists come from `protocol.jsonshape` (`as_str`,
`as_dict`, `as_list`); the helpers here are the ones whose rule is
ingest's: what counts as a time, an id or an integer worth storing.
"""

from __future__ import annotations

import time
from datetime import datetime

import orjson

from ...protocol.jsonshape import as_dict, as_str, text
from ...storage import schema

# Rule: a time is seconds since the epoch, from the epoch itself to a day
# past the time the envelope was received (a client clock a few hours
# ahead, or a naive timestamp read in the wrong zone, still fits). Anything
# else (milliseconds, a date past year 9999, a negative number) is stored
# as NULL rather than clamped: a clamped end beside an unclamped start
# invents a duration, and the raw value stays in the row's `data`. Relay
# instead moves an event's future timestamp to its receive time.
EARLIEST = 0.0
FUTURE_SLACK = 86_400.0
# SQLite integers are signed 64-bit; Python's are not, and JSON's up to
# 2**64 - 1 parse as ints.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class ItemError(ValueError):
    """One item cannot be understood; it is recorded as failed."""


def timestamp(value, latest: float) -> float | None:
    """Seconds since the epoch from a number or an RFC 3339 string, if it
    is a time (the rule above) no later than `latest`."""
    # The common case first: every span of every transaction comes here.
    if value.__class__ is float:
        return value if EARLIEST <= value <= latest else None
    if value.__class__ is int:
        return float(value) if EARLIEST <= value <= latest else None
    if value.__class__ is str:
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except (ValueError, OverflowError):
            return None
        return value if EARLIEST <= value <= latest else None
    return None


def as_id(value) -> str | None:
    """A trace, span, event or replay id as Relay stores it: lower case,
    without the dashes of a UUID, so lookups by the usual form find it."""
    if value.__class__ is str:
        return value.replace("-", "").lower() or None
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value).replace("-", "").lower()


def json_int(value) -> int | None:
    """A JSON integer SQLite can hold; not a bool, float or string (unlike
    jsonshape's `as_int`, which reads what older versions stored)."""
    return value if value.__class__ is int and INT64_MIN <= value <= INT64_MAX else None


def dumps(value) -> str:
    """JSON text of a value the SDK sent, for a `data` column."""
    # orjson writes at most 254 levels of nesting but reads 1,023.
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError as e:
        raise ItemError(f"cannot store as JSON: {e}") from None


def json_or_none(value) -> str | None:
    """JSON text, or None for nothing worth storing (None, {}, [])."""
    if value in (None, {}, []):
        return None
    return dumps(value)


def attribute_values(attributes) -> dict:
    """Typed attributes (spans v2, logs) as plain values."""
    # {"sentry.op": {"type": "string", "value": "http.server"}} -> {"sentry.op": "http.server"}
    flat = {}
    for key, value in as_dict(attributes).items():
        flat[key] = value.get("value") if isinstance(value, dict) and "value" in value else value
    return flat


# How `fit` coerces a value to each column type of schema.TABLES.
_COERCE = {
    str: lambda value, latest: text(as_str(value)),
    int: lambda value, latest: json_int(value),
    float: timestamp,
    bytes: lambda value, latest: value if isinstance(value, bytes) else None,
}


def fit(table: str, row: dict) -> dict:
    """`row` with each value coerced to its column's type, for rows built
    from HTTP headers, paths and envelope headers (one per request) rather
    than by the typed helpers above. Every float column is a time."""
    kinds = schema.TABLES[table]["columns"]
    latest = time.time() + FUTURE_SLACK
    return {name: _COERCE[kinds[name]](value, latest) for name, value in row.items()}

"""Values of a known shape from values of any shape.

Stored event JSON may hold any JSON type in any field, and a database from an
older version holds what that version stored (seconds or milliseconds, text
or blobs, objects or lists). Readers take every value they rely on through
these helpers, so no page depends on what an SDK (or an attacker) sent.
"""

from __future__ import annotations

import math

import orjson

# datetime cannot show a time past the end of year 9999; an SDK's clock is
# not before 1970. A millisecond timestamp (1.7e12) is outside this range.
MAX_TIMESTAMP = 253402300799.0


def as_dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def as_list(value) -> list:
    return value if isinstance(value, list) else []


def dicts(value) -> list[dict]:
    """The objects of a list, or of an object's `values` list (the protocol
    allows both for exceptions and breadcrumbs)."""
    if isinstance(value, dict):
        value = value.get("values")
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def as_str(value) -> str | None:
    """Text of a scalar; None for None and for objects and lists."""
    if value.__class__ is str or value is None:
        return value
    if isinstance(value, (bytes, bytearray)):
        # A TEXT column of an older database may hold a blob.
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, (dict, list, tuple)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)


def as_number(value) -> float | None:
    """A finite number (not a bool), else None."""
    if value.__class__ is float:
        return value if math.isfinite(value) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def as_int(value) -> int | None:
    """An integer that fits SQLite's and JSON encoders' 64 bits, else None."""
    if value.__class__ is not int:
        number = as_number(value)
        value = int(number) if number is not None else None
    return value if value is not None and -(2**63) <= value < 2**63 else None


def as_timestamp(value) -> float | None:
    """Seconds since the epoch that a date can be made of, else None."""
    if value.__class__ is float:  # the common case; NaN and infinities fail the test
        return value if 0.0 <= value <= MAX_TIMESTAMP else None
    number = as_number(value)
    return number if number is not None and 0 <= number <= MAX_TIMESTAMP else None


def loads(text):
    """Stored JSON text (or a blob of it) parsed; None when it is not JSON."""
    if text is None:
        return None
    if text.__class__ is not str and not isinstance(text, (bytes, bytearray, memoryview)):
        return text
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def loads_dict(text) -> dict | None:
    value = loads(text)
    return value if isinstance(value, dict) else None


def pairs_dict(value) -> dict:
    """An object, or a list of [key, value] pairs (the protocol allows both
    for tags and request headers), as a dict with text keys."""
    if isinstance(value, dict):
        return value
    out = {}
    for pair in as_list(value):
        if isinstance(pair, list) and len(pair) == 2 and as_str(pair[0]) is not None:
            out[as_str(pair[0])] = pair[1]
    return out


def typed(row: dict, types: dict) -> dict:
    """A row with each column named in `types` coerced to that type (str,
    float or int; None when it cannot be), so templates and the API can rely
    on them whatever an older version stored."""
    return {k: _COERCE[types[k]](v) if k in types else v for k, v in row.items()}


_COERCE = {str: as_str, float: as_number, int: as_int}


def text(value: str | None) -> str | None:
    """A string SQLite and orjson can write: aiohttp hands over header bytes
    that are not UTF-8 as lone surrogates, which both refuse."""
    if value is None or value.isascii():
        return value
    return value.encode("utf-8", "replace").decode("utf-8")

"""Query parameters, parsed once for both renderings of a resource.

Pure functions of the query string. A value that cannot be used raises
`BadParameter`, which names the parameter, what it must look like and what
was sent: the API answers it as a JSON 400, a page as an HTML 400 that
shows the form again with the user's input.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from ..read import doctor

# SQLite's OFFSET is a 64-bit integer; no list is this long.
MAX_OFFSET = 10**9
# Past this the offset would overflow; no one pages that far.
MAX_PAGE = 1_000_000
TRUE_FLAGS = ("1", "on", "true", "yes")


class BadParameter(ValueError):
    """A query parameter that cannot be used; says which and how to fix it."""

    def __init__(self, name: str, value: str, expected: str):
        self.name = name
        self.value = value
        self.expected = expected
        # ascii(): the value goes into a header (X-Sentry-Error) too.
        super().__init__(f"{name} must {expected}, got {value[:40]!a}")


def integer(query: Mapping[str, str], name: str, default: int, minimum: int, maximum: int) -> int:
    """An integer, clamped to [minimum, maximum]: out of range is not an
    error (a link may ask for more than a page holds), a non-integer is."""
    raw = query.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(name, raw, "be an integer") from None
    return max(minimum, min(value, maximum))


def number(query: Mapping[str, str], name: str, unit: str) -> float | None:
    """A number, or None when absent or empty (an empty form field)."""
    raw = query.get(name, "").strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise BadParameter(name, raw, f"be a number of {unit}") from None


def is_true(raw: str) -> bool:
    # A checkbox sends "on" (or its value); anything else is unchecked.
    return raw.strip().lower() in TRUE_FLAGS


def flag(query: Mapping[str, str], name: str) -> bool:
    return is_true(query.get(name, ""))


def text(query: Mapping[str, str], name: str) -> str:
    return query.get(name, "").strip()


@dataclass(frozen=True)
class Window:
    """Which slice of a list to read: `limit` rows from `offset`."""

    limit: int
    offset: int


def window(query: Mapping[str, str], default_limit: int, max_limit: int, min_limit: int = 0) -> Window:
    """?limit=&offset=, or ?page= (from 1) for the pages' links: offset is
    then (page - 1) * limit. A page that is not a number is the first: old
    links and hand-edited URLs land on the list rather than an error."""
    limit = integer(query, "limit", default_limit, min_limit, max_limit)
    if "offset" in query or "page" not in query:
        return Window(limit, integer(query, "offset", 0, 0, MAX_OFFSET))
    try:
        page = min(MAX_PAGE, max(1, int(query["page"])))
    except ValueError:
        page = 1
    return Window(limit, (page - 1) * limit)


# The trace list's filters: the names are the query's, the form's and
# queries.search_traces()'s.
TRACE_FILTER_TEXTS = ("user", "environment", "release", "sdk")


def trace_filters(query: Mapping[str, str]) -> dict:
    return {
        **{name: text(query, name) for name in TRACE_FILTER_TEXTS},
        "has_errors": flag(query, "has_errors"),
        "min_duration_ms": number(query, "min_duration_ms", "milliseconds"),
    }


def since(query: Mapping[str, str], default: str, now: float | None = None) -> float | None:
    """The doctor's window: '30m', '1h', '2d' ago or epoch seconds; None for no window."""
    raw = query.get("since", default)
    try:
        return doctor.parse_since(raw, time.time() if now is None else now)
    except ValueError:
        raise BadParameter("since", raw, "look like 30m, 1h, 2d or epoch seconds") from None

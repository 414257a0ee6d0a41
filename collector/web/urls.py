"""Links between the pages, built in one place.

Stored ids may hold anything (CR, LF, `/`, `?`): each goes into a link as
one %-quoted path segment (filters.url_part), so it can neither split a
Location header nor point elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from .filters import url_part
from .params import Window


def trace_url(trace_id, span_id=None) -> str:
    return f"/traces/{url_part(trace_id)}" + (f"#span-{url_part(span_id)}" if span_id is not None else "")


def event_url(event_id) -> str:
    return f"/events/{url_part(event_id)}"


# The paging parameters a pager link replaces; the filters are kept.
PAGING = ("page", "offset", "limit")


def pager(query: Mapping[str, str], window: Window, has_next: bool) -> dict:
    """The list's page number and the links to the newer and older pages,
    with the user's filters (and limit, if they chose one) kept."""
    size = window.limit
    kept = {k: v for k, v in query.items() if k not in PAGING}
    filtered = bool(kept)
    if "limit" in query:
        kept["limit"] = str(size)
    page = window.offset // size + 1 if size else 1

    def link(number: int) -> str:
        return "?" + urlencode({**kept, "page": number})

    return {
        "page": page,
        "newer": link(page - 1) if size and page > 1 else None,
        "older": link(page + 1) if size and has_next else None,
        # An empty list then says "no trace matches" rather than how to send one.
        "filtered": filtered,
    }

"""A list page asked for past its last page (`/traces?page=99999`): which
page is the last, so the page says so instead of "no traces yet"."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from ..read import lists
from .keys import READER
from .params import Window
from .urls import PAGING


async def past_the_end(request: web.Request, filters: dict, window: Window) -> dict | None:
    """None unless the page asked for lies after the list's last one; then
    the page asked for, the last page and a link to it (filters kept)."""
    if not window.limit or not window.offset:
        return None
    total = await request.app[READER].run(lists.count_traces, filters)
    if not total or window.offset < total:
        return None
    last = -(-total // window.limit)
    kept = {k: v for k, v in request.query.items() if k not in PAGING}
    if "limit" in request.query:
        kept["limit"] = str(window.limit)
    return {"page": window.offset // window.limit + 1, "last": last, "url": "?" + urlencode({**kept, "page": last})}

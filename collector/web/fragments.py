"""`?fragment=list`: a list page's list alone, for the page's live script.

When the live feed says something was stored, the page fetches its own URL
with `?fragment=list` and merges the rows it gets by their `data-key`. The
rows are rendered by the very partial the whole page includes: the server
stays the only renderer (autoescaped, with its filters), and the script
never builds a row from event data.
"""

from __future__ import annotations

from aiohttp import web

from .params import text


def template_for(request: web.Request, page: str, list_partial: str) -> str:
    """The page's template, or its list's partial when only that was asked for."""
    return list_partial if text(request.query, "fragment") == "list" else page

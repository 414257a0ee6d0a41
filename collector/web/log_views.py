"""Logs: every log record, newest first, searched and filtered, each linked
to its trace and span."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from ..protocol.answers import json_response
from ..read import logs
from . import params
from .fragments import template_for
from .keys import READER
from .resources import Resource
from .urls import pager, trace_url

LIST_LIMIT = 100
MAX_LIST_LIMIT = 1000
# The list's filters: the names are the query's, the form's and logs.search_logs()'s.
FILTERS = ("q", "level", "sdk", "trace_id", "user")


def _linked(log: dict) -> dict:
    # A log without a trace links nowhere; one without a span, to its trace.
    url = trace_url(log["trace_id"], log["span_id"]) if log["trace_id"] else None
    return {**log, "trace_url": url}


async def load_logs(request: web.Request) -> dict:
    """Newest first, filtered; one more row is read to know if there is an older page."""
    filters = {name: params.text(request.query, name) for name in FILTERS}
    window = params.window(request.query, LIST_LIMIT, MAX_LIST_LIMIT)
    rows = await request.app[READER].run(logs.search_logs, filters, window.limit + 1, window.offset)
    return {
        "logs": [_linked(r) for r in rows[: window.limit]],
        "window": window,
        "has_next": len(rows) > window.limit,
    }


async def logs_page(request: web.Request, data: dict) -> web.Response:
    context = {
        "logs": data["logs"],
        "pager": pager(request.query, data["window"], data["has_next"]),
        "query": dict(request.query),
        "host": request.host,
        # New logs appear on the first page only.
        "live": data["window"].offset == 0,
    }
    return aiohttp_jinja2.render_template(template_for(request, "logs.html", "_logs_list.html"), request, context)


LOGS = Resource(
    load=load_logs,
    to_json=lambda data: json_response({"logs": data["logs"]}),
    to_html=logs_page,
    form="_logs_form.html",
)

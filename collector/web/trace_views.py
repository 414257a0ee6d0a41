"""Traces: the filtered list, one trace (its spans paged), and the id jump box."""

from __future__ import annotations

from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web
from markupsafe import Markup

from ..protocol.answers import json_response
from ..protocol.jsonshape import as_str
from ..read import queries, span_details, trace_build, traces
from . import params
from .fragments import template_for
from .keys import NOISE, READER
from .list_end import past_the_end
from .resources import Resource
from .responses import Missing
from .urls import PAGING, event_url, pager, trace_url

LIST_LIMIT = 50
MAX_LIST_LIMIT = 1000


async def load_traces(request: web.Request) -> dict:
    """Newest first, filtered; one more row is read to know if there is an older page."""
    noise = request.app[NOISE]
    shown = params.flag(request.query, "noise")
    # Health checks and preflights are hidden unless ?noise=1; never deleted.
    filters = {**params.trace_filters(request.query), "noise": None if shown else noise}
    window = params.window(request.query, LIST_LIMIT, MAX_LIST_LIMIT)
    rows, views, counted = await request.app[READER].run(_list_page, filters, noise, window)
    return {
        "traces": views,
        "window": window,
        "has_next": len(rows) > window.limit,
        "past_end": None if rows else await past_the_end(request, filters, window),
        "noise": {"shown": shown, "routes": list(noise.routes), **counted},
    }


def _list_page(conn, filters: dict, noise, window: params.Window) -> tuple[list, list, dict]:
    """The page's rows (and one more), their views, and the noise count, in
    one trip to a reader thread: under ingest load each trip back to the
    event loop waits behind the requests queued there."""
    rows = queries.search_traces(conn, filters, window.limit + 1, window.offset)
    views = [traces.summary_view(r) for r in rows[: window.limit]]
    return rows, views, queries.count_noise(conn, {**filters, "noise": noise})


def traces_json(data: dict) -> web.Response:
    noise = data["noise"]
    # `noise.hidden` counts what the rules match among the newest `window`
    # traces: hidden from this list unless `shown` (?noise=1).
    return json_response({"traces": data["traces"], "noise": noise})


def noise_toggle(query, shown: bool) -> str:
    """The list with health checks shown (or hidden again), other filters kept, from its first page."""
    kept = {k: v for k, v in query.items() if k not in ("noise", "fragment", *PAGING)}
    return "?" + urlencode(kept if shown else {**kept, "noise": "1"})


async def traces_page(request: web.Request, data: dict) -> web.Response:
    context = {
        "traces": data["traces"],
        "pager": pager(request.query, data["window"], data["has_next"]),
        "query": dict(request.query),
        "host": request.host,
        "past_end": data["past_end"],
        "noise": data["noise"],
        "noise_toggle": noise_toggle(request.query, data["noise"]["shown"]),
        # New rows appear on the first page only; the feed follows the noise toggle.
        "live": data["window"].offset == 0,
        "live_query": "noise=1" if data["noise"]["shown"] else "",
    }
    return aiohttp_jinja2.render_template(template_for(request, "traces.html", "_traces_list.html"), request, context)


TRACES = Resource(
    load=load_traces,
    to_json=traces_json,
    to_html=traces_page,
    form="_traces_form.html",
)


async def load_trace(request: web.Request) -> dict:
    """One page of a trace's spans (?limit=, at most 10,000; ?offset=), by
    start time, with `span_count` in all and the `next_offset` to ask for."""
    trace_id = request.match_info["trace_id"]
    most = queries.MAX_TRACE_PAGE_SPANS
    window = params.window(request.query, most, most, min_limit=1)
    found = await request.app[READER].run(trace_build.read_trace, trace_id, window.limit, window.offset)
    if found is None:
        # ascii(): the id came from the URL and goes into a header (X-Sentry-Error).
        raise Missing(
            f"trace {trace_id}", f"no trace {trace_id!a} stored; is the SDK's DSN pointing at this collector?"
        )
    return {**found, "window": window}


def trace_json(data: dict) -> web.Response:
    window = data["window"]
    return json_response(
        {
            **data["trace"],
            "offset": window.offset,
            "limit": window.limit,
            "next_offset": data["next_offset"],
            "replays": data["replays"],
            "feedback": data["feedback"],
        }
    )


async def trace_page(request: web.Request, data: dict) -> web.Response:
    # Built on a reader thread: 10,000 spans' worth of Python off the event loop.
    built = await request.app[READER].run(trace_build.build_page, data["trace"])
    context = {
        "t": built["view"],
        # Packed rows for the page's script; script_json escapes <, >, & and '.
        "trace_data": Markup(built["trace_data"]),
        "findings": built["findings"],
        "offset": data["window"].offset,
        "replays": data["replays"],
        "feedback": data["feedback"],
    }
    return aiohttp_jinja2.render_template("trace.html", request, context)


TRACE = Resource(load=load_trace, to_json=trace_json, to_html=trace_page)


async def load_details(request: web.Request) -> dict:
    """The details pane's fields (tags, attributes, segment, origin, sampling
    context) by span id: of ?span_id=, or of the page of spans ?limit= and
    ?offset= name, as the trace's page and /api/traces/{id} page them."""
    trace_id = request.match_info["trace_id"]
    most = queries.MAX_TRACE_PAGE_SPANS
    window = params.window(request.query, most, most, min_limit=1)
    span_id = params.text(request.query, "span_id") or None
    found = await request.app[READER].run(span_details.span_details, trace_id, span_id, window.limit, window.offset)
    if found is None:
        raise Missing(f"trace {trace_id}", f"no trace {trace_id!a} stored")
    return {"trace_id": trace_id, "details": found}


# JSON only: the trace page's script reads it.
TRACE_DETAILS = Resource(load=load_details, to_json=json_response)


async def load_search(request: web.Request) -> dict:
    """What a pasted trace, event or span id names, and the page that shows it."""
    q = params.text(request.query, "q")
    found = await request.app[READER].run(queries.find_id, q) if q else None
    if found is None:
        what = f"trace, event or span id {q!r}" if q else "an empty search"
        raise Missing(what, f"no {what} stored" if q else "q is empty: give a trace, event or span id")
    kind, target = found
    if kind == "event":
        return {"kind": kind, "event_id": as_str(target), "url": event_url(target)}
    if kind == "span":
        trace_id, span_id = target
        return {"kind": kind, "trace_id": as_str(trace_id), "span_id": as_str(span_id), "url": trace_url(*target)}
    return {"kind": kind, "trace_id": as_str(target), "url": trace_url(target)}


async def search_redirect(request: web.Request, data: dict) -> web.Response:
    # The url is built of %-quoted ids: a stored CR or LF cannot split the Location.
    raise web.HTTPFound(data["url"])


SEARCH = Resource(load=load_search, to_json=json_response, to_html=search_redirect)

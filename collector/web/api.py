"""The JSON read API: what the UI, the CLI and other tools build on."""

from __future__ import annotations

import re
import time

import orjson
from aiohttp import web

from ..read import doctor
from ..read import queries
from ..read import traces
from ..protocol.answers import error_response, json_response
from .keys import INGEST_STATS, READER, WRITER

HEX_ID = re.compile(r"^[0-9a-fA-F-]{16,36}$")
MAX_LIMIT = 1000
# SQLite's OFFSET is a 64-bit integer; no list is this long.
MAX_OFFSET = 10**9


def trace_filters(request: web.Request) -> dict:
    q = request.query
    try:
        min_ms = float(q["min_duration_ms"]) if q.get("min_duration_ms") else None
    except ValueError:
        raise web.HTTPBadRequest(text=f"min_duration_ms must be a number of milliseconds, got {q['min_duration_ms']!r}") from None
    return {
        "user": q.get("user", "").strip(),
        "environment": q.get("environment", "").strip(),
        "release": q.get("release", "").strip(),
        "sdk": q.get("sdk", "").strip(),
        "has_errors": q.get("has_errors") in ("1", "on", "true"),
        "min_duration_ms": min_ms,
    }


def _int_param(request: web.Request, name: str, default: int, maximum: int, minimum: int = 0) -> int:
    raw = request.query.get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise web.HTTPBadRequest(text=f"{name} must be an integer, got {raw[:40]!a}") from None
    return max(minimum, min(value, maximum))


async def list_traces(request: web.Request) -> web.Response:
    limit = _int_param(request, "limit", 50, MAX_LIMIT)
    offset = _int_param(request, "offset", 0, MAX_OFFSET)
    rows = await request.app[READER].run(queries.search_traces, trace_filters(request), limit, offset)
    return json_response({"traces": [traces.summary_view(r) for r in rows]})


async def get_trace(request: web.Request) -> web.Response:
    """One page of a trace's spans (?limit=, at most 10,000; ?offset=), by
    start time, with `span_count` in all and the `next_offset` to ask for."""
    trace_id = request.match_info["trace_id"]
    limit = _int_param(request, "limit", queries.MAX_TRACE_PAGE_SPANS, queries.MAX_TRACE_PAGE_SPANS, minimum=1)
    offset = _int_param(request, "offset", 0, MAX_OFFSET)
    rows = await request.app[READER].run(queries.trace_rows, trace_id, limit, offset)
    if rows is None:
        # ascii(): the id came from the URL and goes into a header (X-Sentry-Error).
        return error_response(404, f"no trace {ascii(trace_id)} stored; is the SDK's DSN pointing at this collector?")
    body = traces.assemble(rows["trace_id"], rows)
    return json_response({**body, "offset": offset, "limit": limit, "next_offset": rows["next_offset"]})


async def get_event(request: web.Request) -> web.Response:
    event_id = request.match_info["event_id"]
    if not HEX_ID.match(event_id):
        return error_response(404, f"{ascii(event_id)} is not an event id (32 hex digits)")
    data = await request.app[READER].run(queries.event_json, event_id)
    if data is None:
        return error_response(404, f"no event {event_id} stored")
    # As stored: text, or a blob in a database an older version wrote.
    body = data.encode() if isinstance(data, str) else bytes(data) if isinstance(data, bytes) else orjson.dumps(data)
    return web.Response(body=body, content_type="application/json")


async def get_stats(request: web.Request) -> web.Response:
    body = await request.app[READER].run(queries.stats)
    counters = request.app[INGEST_STATS]
    body["write_queue"] = {
        **request.app[WRITER].queued,
        # 429s, and 4xx answers not noted in `rejections` because the queue was full.
        "full_rejections": counters.get("queue_full", 0),
        "unrecorded_rejections": counters.get("unrecorded_rejections", 0),
    }
    body["database"] = request.app[READER].path
    return json_response(body)


async def get_doctor(request: web.Request) -> web.Response:
    try:
        body = await run_doctor(request)
    except ValueError as e:
        return error_response(400, str(e))
    return json_response(body)


async def run_doctor(request: web.Request) -> dict:
    """Findings for ?trace_id=… or for the window ?since=… (default 1h)."""
    trace_id = request.query.get("trace_id", "").strip() or None
    since = doctor.parse_since(request.query.get("since", "" if trace_id else "1h"), time.time())
    data = await request.app[READER].run(queries.doctor_rows, since, trace_id)
    return doctor.diagnose(data)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/traces", list_traces)
    app.router.add_get("/api/traces/{trace_id}", get_trace)
    app.router.add_get("/api/events/{event_id}", get_event)
    app.router.add_get("/api/stats", get_stats)
    app.router.add_get("/api/doctor", get_doctor)

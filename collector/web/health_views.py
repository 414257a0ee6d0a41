"""How the collector and the SDKs are doing: the doctor's findings and the
ingest counters."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from ..forward import service as forwarding
from ..protocol.answers import json_response
from ..read import doctor, queries
from ..read.doctor import queries as doctor_queries
from . import params
from .keys import INGEST_STATS, READER, WRITER
from .resources import Resource


async def load_doctor(request: web.Request) -> dict:
    """Findings for ?trace_id=… or for the window ?since=… (default 1h)."""
    trace_id = params.text(request.query, "trace_id") or None
    since = params.since(request.query, "" if trace_id else "1h")
    data = await request.app[READER].run(doctor_queries.doctor_rows, since, trace_id)
    return doctor.diagnose(data)


async def doctor_page(request: web.Request, report: dict) -> web.Response:
    context = {"report": report, "findings": report["findings"], "query": dict(request.query)}
    return aiohttp_jinja2.render_template("doctor.html", request, context)


DOCTOR = Resource(load=load_doctor, to_json=json_response, to_html=doctor_page, form="_doctor_form.html")


async def load_stats(request: web.Request) -> dict:
    body = await request.app[READER].run(queries.stats)
    counters = request.app[INGEST_STATS]
    body["write_queue"] = {
        **request.app[WRITER].queued,
        # 429s, and 4xx answers not noted in `rejections` because the queue was full.
        "full_rejections": counters.get("queue_full", 0),
        "unrecorded_rejections": counters.get("unrecorded_rejections", 0),
    }
    body["database"] = request.app[READER].path
    # Per destination of `serve --forward`/`--forward-otlp`; empty when nothing is forwarded.
    body["forwarding"] = forwarding.stats(request.app)
    return body


STATS = Resource(load=load_stats, to_json=json_response)

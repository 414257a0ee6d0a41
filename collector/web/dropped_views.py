"""Dropped data: the items the collector did not store (or stored although
Sentry would drop them) and the requests it refused, and the kept bytes of
a failed item to download."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from ..protocol.answers import json_response
from ..read import dropped
from .keys import READER
from .resources import Resource
from .responses import Missing
from .urls import trace_url


def _linked(item: dict) -> dict:
    return {
        **item,
        "raw_url": f"/api/dropped/items/{item['id']}/raw",
        "trace_url": trace_url(item["trace_id"]) if item["trace_id"] else None,
    }


async def load_dropped(request: web.Request) -> dict:
    data = await request.app[READER].run(dropped.dropped)
    items = [_linked(item) for item in data["failed_items"]]
    return {
        "failed_items": items,
        "rejections": data["rejections"],
        "failed_by_reason": dropped.by_reason(items),
        "rejections_by_reason": dropped.by_reason(data["rejections"]),
        "totals": data["totals"],
        "listed_at_most": dropped.MAX_LISTED,
    }


async def dropped_page(request: web.Request, data: dict) -> web.Response:
    return aiohttp_jinja2.render_template("dropped.html", request, {**data, "host": request.host})


def dropped_json(data: dict) -> web.Response:
    # The groups repeat the rows: the API lists each once, with the counts.
    return json_response({key: data[key] for key in ("failed_items", "rejections", "totals")})


DROPPED = Resource(load=load_dropped, to_json=dropped_json, to_html=dropped_page)


async def load_raw(request: web.Request) -> dict:
    raw = request.match_info["rowid"]
    found = await request.app[READER].run(dropped.raw_payload, int(raw)) if raw.isdigit() and len(raw) < 19 else None
    if found is None:
        raise Missing(f"failed item {raw!a}", f"no failed item {raw!a} stored; see /api/dropped for their ids")
    return {"id": int(raw), **found}


def raw_download(data: dict) -> web.Response:
    # The bytes are what an SDK sent: never rendered, only downloaded.
    name = f"failed-item-{data['id']}.bin"
    return web.Response(
        body=data["payload"],
        content_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "X-Content-Type-Options": "nosniff"},
    )


RAW = Resource(load=load_raw, to_json=raw_download)

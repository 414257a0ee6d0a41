"""A trace's envelopes to download (the trace page's button, and what
`collector export --url` fetches): the file read/export.py writes."""

from __future__ import annotations

from aiohttp import web

from ..read import export
from .keys import READER
from .resources import Resource
from .responses import Missing


async def load_export(request: web.Request) -> dict:
    trace_id = request.match_info["trace_id"]
    found = await request.app[READER].run(export.export_trace, trace_id)
    if found is None:
        # ascii(): the id came from the URL and goes into a header (X-Sentry-Error).
        raise Missing(f"trace {trace_id}", f"no trace {trace_id!a} stored; nothing to export")
    stored_id, body = found
    return {"trace_id": stored_id, "body": body}


def export_download(data: dict) -> web.Response:
    # Envelopes hold what SDKs sent: downloaded, never rendered.
    name = export.file_name("".join(c for c in data["trace_id"] if c.isascii() and c.isalnum())[:64])
    return web.Response(
        body=data["body"],
        content_type="application/x-sentry-envelope",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "X-Content-Type-Options": "nosniff"},
    )


EXPORT = Resource(load=load_export, to_json=export_download)

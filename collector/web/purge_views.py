"""POST /api/purge: `collector purge` on a file a running collector holds.

The collector's own writer deletes, batch by batch between ingest's groups,
so the file keeps one writer. The body says what to delete:
{"trace_id": ID} | {"before": epoch seconds} | {"all": true}. Browsers
cannot send it from another site (web/cors.py refuses a cross-site POST).
"""

from __future__ import annotations

import dataclasses

import orjson
from aiohttp import web

from ..protocol.answers import error_response
from ..protocol.jsonshape import as_dict, as_number
from ..storage import retention_task
from ..storage.client import WriteFailed, WriterUnavailable
from .keys import WRITER


def what_to_purge(body: bytes) -> dict | None:
    """The keyword arguments of `retention_task.purge`, or None for a body that names nothing."""
    try:
        asked = as_dict(orjson.loads(body))
    except orjson.JSONDecodeError:
        return None
    if asked.get("all") is True:
        return {"everything": True}
    trace_id = asked.get("trace_id")
    # Only text names a trace: a number would be turned into one.
    if isinstance(trace_id, str) and trace_id:
        return {"trace_id": trace_id.lower()}
    if as_number(asked.get("before")) is not None:
        return {"before": float(as_number(asked["before"]))}
    return None


async def purge(request: web.Request) -> web.Response:
    what = what_to_purge(await request.read())
    if what is None:
        return error_response(400, 'send {"trace_id": ID}, {"before": epoch seconds} or {"all": true}')
    writer = request.app[WRITER]
    try:
        report = await retention_task.purge(writer.chore, writer.path, **what)
    except (WriteFailed, WriterUnavailable) as e:
        return error_response(503, f"the purge stopped: {e}")
    return web.json_response(dataclasses.asdict(report))

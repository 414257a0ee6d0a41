"""The aiohttp application: wires ingest, the writer, readers and the API."""

from __future__ import annotations

import os

from aiohttp import web

from .forward import service as forwarding
from .forward.destinations import Destination
from .ingest.batches import PREPARE_IN_WRITER
from .ingest.endpoints import Ingest
from .read.noise import Noise
from .storage import retention_task
from .storage.client import Writer
from .storage.reader import Reader
from .web import api, mcp_http, pages, spotlight
from .web.cors import preflight
from .web.front_door import front_door
from .web.hosts import allowed_hosts
from .web.keys import INGEST_STATS, NOISE, READER, WRITER
from .web.live import live_context


async def process_id(request: web.Request, response: web.StreamResponse) -> None:
    # With serve --workers N: which server process answered, so a test or a
    # benchmark can see the load spread over them (streams too: before their
    # headers go out).
    response.headers["X-Collector-Process"] = str(os.getpid())


def create_app(
    db_path: str,
    max_queue: int = 10_000,
    bound_host: str = "127.0.0.1",
    allow_hosts: list[str] = (),
    keep_bodies: bool = False,
    durability: str = "normal",
    owner: str = "",
    hide_routes: list[str] = (),
    retain: float | None = None,
    max_db_size: int | None = None,
    forward: list[Destination] = (),
    forward_skip_environments: list[str] = (),
    role: str = "only",
    writer_address: str | None = None,
) -> web.Application:
    """The application; its writer process starts when the app starts (and
    `Writer.start` raises DatabaseInUse or StartFailed then), not here. With
    --workers N a "primary" starts it, a "worker" connects to `writer_address`."""
    # Multipart uploads (minidumps, attachments) are read by aiohttp itself;
    # envelopes are read by ingest with their own limits.
    app = web.Application(
        middlewares=[front_door(allowed_hosts(bound_host, list(allow_hosts)))],
        client_max_size=100 * 1024 * 1024,
    )
    outbox = forwarding.outbox(list(forward), list(forward_skip_environments))
    # The one server process hands envelopes to the writer process to
    # normalize (Ingest.build_in_writer says when and why).
    build_in_writer = role == "only" and outbox is None
    writer = Writer(
        db_path,
        max_queue=max_queue,
        durability=durability,
        owner=owner,
        share=role == "primary",
        address=writer_address,
        prepare=PREPARE_IN_WRITER if build_in_writer else None,
    )
    app[WRITER] = writer
    if role != "only":
        app.on_response_prepare.append(process_id)
    app[READER] = Reader(db_path)
    app[INGEST_STATS] = {}
    app[NOISE] = Noise().with_routes(hide_routes)
    api.add_routes(app)
    pages.setup(app)
    # GET /stream for Spotlight's clients; POST /stream is ingest.
    stream = spotlight.setup(app)
    ingest = Ingest(
        writer,
        app[INGEST_STATS],
        keep_bodies,
        on_envelope=stream.publish,
        outbox=outbox.rows if outbox else None,
        build_in_writer=build_in_writer,
    )
    mcp_http.add_routes(app)
    app.router.add_route("OPTIONS", "/{tail:.*}", preflight)
    app.router.add_post("/{tail:.*}", ingest.handle)
    app.cleanup_ctx.append(_storage)
    if role != "worker":
        _tasks_run_once(app, db_path, retention_task.Policy(retain, max_db_size), list(forward))
    app.cleanup_ctx.append(live_context)
    app.cleanup_ctx.append(mcp_http.mcp_context)
    return app


def _tasks_run_once(app: web.Application, db_path: str, policy: retention_task.Policy, forward: list) -> None:
    """What one server process runs for all (the primary, with serve --workers N)."""
    writer = app[WRITER]
    # --retain / --max-db-size: batches of deletes, after the writer started.
    app.cleanup_ctx.append(retention_task.context(writer.chore, db_path, policy))
    # Every server's ingest fills the outbox; this forwarder sends it.
    forwarding.setup(app, forward, writer, app[READER])


async def _storage(app: web.Application):
    await app[WRITER].start()
    yield
    # After the server stopped taking requests and finished the ones in
    # flight: what was acknowledged is committed; this drains the rest.
    app[READER].close()
    await app[WRITER].close()


# aiohttp would otherwise inflate gzip/deflate/br bodies itself, unbounded;
# and it keeps an idle keep-alive connection for an hour, long enough for a
# page that opens many to hold the connection cap (connections.py).
SERVER_ARGS = {"auto_decompress": False, "access_log": None, "keepalive_timeout": 75}

"""`collector serve`: receive SDK data and serve the pages, until Ctrl-C."""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import sys
from dataclasses import dataclass, replace

import click
from aiohttp import web

from ..app import SERVER_ARGS, create_app
from ..forward.destinations import Destination, InvalidDestination
from ..forward.service import destinations
from ..protocol.urls import LOOPBACK_NAMES
from ..storage import schema
from ..storage.client import StartFailed
from ..storage.lockfile import DatabaseInUse
from ..storage.process import tune_gc
from ..storage.reader import share_the_gil
from ..web import connections
from ..web.keys import WRITER
from . import HostName, db_option, main, option, workers
from .purge import Duration, Size


@dataclass(frozen=True)
class ServeOptions:
    host: str
    port: int
    db: str
    allow_hosts: tuple[str, ...]
    keep_bodies: bool
    durability: str
    max_connections: int
    hide_routes: tuple[str, ...] = ()
    forward: tuple[Destination, ...] = ()
    forward_skip_environments: tuple[str, ...] = ()
    retain: float | None = None
    max_db_size: int | None = None
    workers: int = 1

    @property
    def url_host(self) -> str:
        """The host as written in a URL: an IPv6 address in brackets."""
        return f"[{self.host}]" if ":" in self.host else self.host


@main.command("serve")
@option("--host", envvar="COLLECTOR_HOST", default="127.0.0.1", metavar="ADDRESS", help="Interface to bind.")
@option("--port", envvar="COLLECTOR_PORT", default=8969, type=click.IntRange(0, 65535), metavar="PORT", help="Port.")
@db_option
@option(
    "--allow-host",
    envvar="COLLECTOR_ALLOWED_HOSTS",
    multiple=True,
    type=HostName(),
    show_default=False,
    help="Another Host name the UI and API answer to, e.g. a LAN name (repeatable; the variable is comma-separated).",
)
@option(
    "--keep-bodies",
    envvar="COLLECTOR_KEEP_BODIES",
    is_flag=True,
    help="Also store every request body exactly as received, to see byte for byte what an SDK sent "
    "(costs about 15% of ingest speed).",
)
@option(
    "--durability",
    envvar="COLLECTOR_DURABILITY",
    type=click.Choice(sorted(schema.DURABILITY)),
    default="normal",
    help="normal: an acknowledged envelope survives the collector being killed; full: also a power cut or "
    "OS crash, with an fsync per commit.",
)
@option(
    "--max-connections",
    envvar="COLLECTOR_MAX_CONNECTIONS",
    type=int,
    metavar="N",
    default=connections.DEFAULT_MAX_CONNECTIONS,
    help="Open connections served at once; more get 503 at once (lowered to fit the file limit).",
)
@option(
    "--hide-route",
    envvar="COLLECTOR_HIDE_ROUTES",
    multiple=True,
    type=HostName(),
    metavar="ROUTE",
    show_default=False,
    help="Also hide this route from the lists, the live feed and tail, like /health: an exact path, or a prefix "
    "ending in /* (repeatable; the variable is comma-separated). Nothing is deleted; pages can show them.",
)
@option(
    "--forward",
    envvar="COLLECTOR_FORWARD",
    multiple=True,
    metavar="DSN",
    show_default=False,
    help="Also send every accepted envelope to this Sentry DSN (repeatable; the variable is comma-separated). "
    "Sent from an outbox in the database file: ingest never waits, a restart or an outage loses nothing.",
)
@option(
    "--forward-otlp",
    envvar="COLLECTOR_FORWARD_OTLP",
    multiple=True,
    metavar="URL",
    show_default=False,
    help="Also export spans and logs as OTLP/HTTP protobuf to this OpenTelemetry Collector, "
    "e.g. http://localhost:4318 (repeatable; the variable is comma-separated).",
)
@option(
    "--forward-skip-environment",
    envvar="COLLECTOR_FORWARD_SKIP_ENVIRONMENTS",
    multiple=True,
    metavar="NAME",
    show_default=False,
    help="Keep envelopes of this environment (e.g. development) on this machine: they are stored, not "
    "forwarded (repeatable; the variable is comma-separated).",
)
@option(
    "--retain",
    envvar="COLLECTOR_RETAIN",
    type=Duration(),
    metavar="AGE",
    help="Delete traces (with their events, logs, replays, attachments) started more than AGE ago, e.g. 7d; "
    "in the background, in small batches.",
)
@option(
    "--max-db-size",
    envvar="COLLECTOR_MAX_DB_SIZE",
    type=Size(),
    metavar="SIZE",
    help="Keep the file under SIZE, e.g. 1GB: past it the oldest traces are deleted and the space given back.",
)
@option(
    "--workers",
    envvar="COLLECTOR_WORKERS",
    type=click.IntRange(1, 64),
    default=1,
    metavar="N",
    help="Server processes sharing the port (and one writer process): more envelopes a second on a machine with "
    "more cores. Counters in /api/stats and Spotlight's GET /stream are per process.",
)
def serve_command(
    host,
    port,
    db,
    allow_host,
    keep_bodies,
    durability,
    max_connections,
    hide_route,
    retain,
    max_db_size,
    workers,
    **forwarding,
) -> None:
    """Receive Sentry SDK data and serve the trace view."""
    allow_hosts = tuple(name for name in allow_host if name)  # "a,b," lists two names
    hide_routes = tuple(route for route in hide_route if route)
    try:
        forward = tuple(destinations(_listed(forwarding["forward"]), _listed(forwarding["forward_otlp"])))
    except InvalidDestination as e:
        raise click.BadParameter(str(e)) from None
    skip = tuple(_listed(forwarding["forward_skip_environment"]))
    options = ServeOptions(
        host, port, db, allow_hosts, keep_bodies, durability, max_connections, hide_routes, forward, skip
    )
    options = replace(options, retain=retain, max_db_size=max_db_size, workers=workers)
    asyncio.run(run_server(options))


async def run_server(options: ServeOptions) -> None:
    """Serves until SIGINT or SIGTERM, then commits what was acknowledged."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner, site = await _start(options)
    pool = await _start_workers(runner, replace(options, port=site.port)) if options.workers > 1 else None
    _announce(options)
    await stop.wait()
    print("collector: stopping; committing what was acknowledged…", flush=True)
    if pool is not None:
        # They answer what they took while the writer process still runs.
        await pool.stop()
    await runner.cleanup()
    print("collector: stopped", flush=True)


def make_app(options: ServeOptions, role: str = "only", writer_address: str | None = None) -> web.Application:
    return create_app(
        options.db,
        bound_host=options.host,
        allow_hosts=list(options.allow_hosts),
        keep_bodies=options.keep_bodies,
        durability=options.durability,
        owner=f"serving http://{options.url_host}:{options.port}/",
        hide_routes=list(options.hide_routes),
        forward=list(options.forward),
        forward_skip_environments=list(options.forward_skip_environments),
        retain=options.retain,
        max_db_size=options.max_db_size,
        role=role,
        writer_address=writer_address,
    )


async def _start(options: ServeOptions) -> tuple[web.AppRunner, web.BaseSite]:
    """The app, its writer started and listening; or SystemExit with a sentence saying what to do."""
    app = make_app(options, "primary" if options.workers > 1 else "only")
    tune_gc()
    share_the_gil()
    runner = web.AppRunner(app, **SERVER_ARGS)
    try:
        await runner.setup()
    except (DatabaseInUse, StartFailed) as e:
        raise SystemExit(f"error: {e}") from None
    host, port = options.host, options.port
    listen = workers.listen if options.workers > 1 else connections.listen
    try:
        site = await listen(runner, host, port, options.max_connections)
    except OSError as e:
        await runner.cleanup()
        if e.errno == errno.EADDRINUSE:
            raise SystemExit(
                f"error: port {port} on {host} is in use (another collector?). "
                "Stop it, or pick another port with --port or COLLECTOR_PORT."
            ) from None
        raise SystemExit(f"error: cannot listen on {host}:{port}: {e.strerror}") from None
    return runner, site


async def _start_workers(runner: web.AppRunner, options: ServeOptions) -> workers.Pool:
    """The other server processes, listening on the port the primary got."""
    try:
        return await workers.Pool.start(options, runner.app[WRITER].address, os.getpid())
    except workers.WorkerFailed as e:
        await runner.cleanup()
        raise SystemExit(f"error: {e}; see above") from None


def _listed(values: tuple[str, ...]) -> list[str]:
    # Each value may itself be a comma-separated list (the environment variable's form).
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _announce(options: ServeOptions) -> None:
    extras = [
        ", request bodies included (--keep-bodies)" if options.keep_bodies else "",
        ", every commit synced to disk (--durability full)" if options.durability == "full" else "",
    ]
    where = f"{options.url_host}:{options.port}"
    print(f"collector: storing in {os.path.abspath(options.db)}" + "".join(extras))
    print(f"collector: paste this DSN into your SDKs:  http://anykey@{where}/1")
    print(f"collector: trace view:                     http://{where}/")
    if options.workers > 1:
        print(f"collector: {options.workers} server processes share the port, one writer process")
    if options.host not in LOOPBACK_NAMES:
        print(
            f"collector: WARNING: listening on {options.host}, not loopback: "
            "anyone who can reach this port can read your users' emails and IPs.",
            file=sys.stderr,
        )
    for destination in options.forward:
        print(f"collector: forwarding to {destination.name}")
    print("collector: Ctrl-C to stop", flush=True)

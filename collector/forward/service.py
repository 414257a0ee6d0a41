"""Forwarding, wired into the application: the outbox rows ingest adds,
the forwarder's lanes started after the writer and stopped before it, and
the status line every page shows."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from ..storage.client import Writer
from ..storage.reader import Reader
from . import destinations as parse
from .destinations import Destination
from .forwarder import Forwarder
from .rules import Outbox

FORWARDER = web.AppKey("forwarder", Forwarder)


def destinations(dsns: list[str], otlp_urls: list[str]) -> list[Destination]:
    """Raises InvalidDestination, whose message says what is wrong."""
    found = [parse.sentry(d) for d in dsns if d.strip()] + [parse.otlp(u) for u in otlp_urls if u.strip()]
    names = [d.name for d in found]
    return [d for i, d in enumerate(found) if d.name not in names[:i]]


def outbox(found: list[Destination], skip_environments: list[str]) -> Outbox | None:
    """What ingest adds to the outbox; None (no cost) when nothing is forwarded."""
    if not found:
        return None
    return Outbox(tuple(found), frozenset(e for e in skip_environments if e))


def setup(app: web.Application, found: list[Destination], writer: Writer, reader: Reader) -> None:
    """Call after the writer's cleanup context is added: the forwarder needs it running."""
    if not found:
        return
    forwarder = Forwarder(found, writer, reader)
    app[FORWARDER] = forwarder

    async def forwarding(app: web.Application):
        await forwarder.start()
        yield
        # Before the writer stops: what the round in flight delivered is deleted.
        await forwarder.close()

    app.cleanup_ctx.append(forwarding)
    aiohttp_jinja2.get_env(app).globals["forwarding_status"] = forwarder.status_line


def stats(app: web.Application) -> list[dict]:
    forwarder = app.get(FORWARDER)
    return forwarder.stats() if forwarder is not None else []

"""Release health: crash-free rates per release, a release's sessions, and
one session with its updates, user, errors and replays."""

from __future__ import annotations

from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web

from ..protocol.answers import json_response
from ..read import sessions
from . import params
from .keys import READER
from .resources import Resource
from .responses import Missing
from .urls import pager

LIST_LIMIT = 100


def sessions_url(release, environment) -> str:
    """The sessions of one release; a release or environment the SDK left out
    is left out of the link too (and means NULL, not "")."""
    query = {k: v for k, v in (("release", release), ("environment", environment)) if v is not None}
    return "/sessions" + ("?" + urlencode(query) if query else "")


async def load_releases(request: web.Request) -> dict:
    rows = await request.app[READER].run(sessions.release_list)
    return {"releases": rows}


async def releases_page(request: web.Request, data: dict) -> web.Response:
    rows = [{**r, "sessions_url": sessions_url(r["release"], r["environment"])} for r in data["releases"]]
    context = {"releases": rows, "host": request.host}
    return aiohttp_jinja2.render_template("releases.html", request, context)


RELEASES = Resource(load=load_releases, to_json=json_response, to_html=releases_page)


async def load_sessions(request: web.Request) -> dict:
    """?release=&environment= (absent: the sessions that named none), newest first."""
    release, environment = request.query.get("release"), request.query.get("environment")
    window = params.window(request.query, LIST_LIMIT, sessions.MAX_SESSIONS_LISTED)
    listing = await request.app[READER].run(sessions.session_list, release, environment, window.limit, window.offset)
    return {**listing, "release": release, "environment": environment, "window": window}


async def sessions_page(request: web.Request, data: dict) -> web.Response:
    has_next = data["window"].offset + data["window"].limit < data["total"]
    context = {**data, "pager": pager(request.query, data["window"], has_next), "host": request.host}
    return aiohttp_jinja2.render_template("sessions.html", request, context)


SESSIONS = Resource(
    load=load_sessions,
    to_json=lambda d: json_response({k: d[k] for k in ("release", "environment", "total", "sessions", "aggregates")}),
    to_html=sessions_page,
)


async def load_session(request: web.Request) -> dict:
    sid = request.match_info["sid"]
    session = await request.app[READER].run(sessions.session_detail, sid)
    if session is None:
        raise Missing(f"session {sid[:40]}", f"no session {sid[:40]!a} is stored")
    return session


async def session_page(request: web.Request, data: dict) -> web.Response:
    context = {"s": data, "sessions_url": sessions_url(data["release"], data["environment"])}
    return aiohttp_jinja2.render_template("session.html", request, context)


SESSION = Resource(load=load_session, to_json=json_response, to_html=session_page)

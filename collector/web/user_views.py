"""Users: everyone seen recently, and one user's traces and errors."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from ..protocol.answers import json_response
from ..read import lists, queries, traces
from .keys import READER
from .resources import Resource


async def load_users(request: web.Request) -> dict:
    return {"users": await request.app[READER].run(lists.list_users)}


async def users_page(request: web.Request, data: dict) -> web.Response:
    return aiohttp_jinja2.render_template("users.html", request, data)


USERS = Resource(load=load_users, to_json=json_response, to_html=users_page)


async def load_user(request: web.Request) -> dict:
    """Matched on id, email or username; a key no one used has no traces
    and no errors (a 200, as the page has always answered)."""
    key = request.match_info["key"]
    activity = await request.app[READER].run(queries.user_activity, key)
    return {"key": key, "traces": [traces.summary_view(r) for r in activity["traces"]], "errors": activity["errors"]}


async def user_page(request: web.Request, data: dict) -> web.Response:
    return aiohttp_jinja2.render_template("user.html", request, data)


USER = Resource(load=load_user, to_json=json_response, to_html=user_page)

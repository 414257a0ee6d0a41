"""Users: everyone seen recently (searchable), and one user's journey."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from ..protocol.answers import json_response
from ..read import journey, lists
from .fragments import template_for
from .keys import READER
from .params import integer, text
from .resources import Resource

MAX_TIMELINE = 5000


async def load_users(request: web.Request) -> dict:
    q = text(request.query, "q")
    return {"q": q, "users": await request.app[READER].run(lists.list_users, q)}


async def users_page(request: web.Request, data: dict) -> web.Response:
    # Newest first and at most one page: new users and counts always show on it.
    template = template_for(request, "users.html", "_users_list.html")
    return aiohttp_jinja2.render_template(template, request, {**data, "live": True})


USERS = Resource(load=load_users, to_json=json_response, to_html=users_page)


async def load_user(request: web.Request) -> dict:
    """Matched on id, email or username; a key no one used has an empty
    timeline (a 200, as the page has always answered)."""
    key = request.match_info["key"]
    limit = integer(request.query, "limit", 200, 1, MAX_TIMELINE)
    oldest_first = text(request.query, "order") == "oldest"
    data = await request.app[READER].run(journey.user_journey, key, limit, oldest_first)
    return {**data, "limit": limit, "order": "oldest" if oldest_first else "newest"}


async def user_page(request: web.Request, data: dict) -> web.Response:
    return aiohttp_jinja2.render_template("user.html", request, data)


USER = Resource(load=load_user, to_json=json_response, to_html=user_page)

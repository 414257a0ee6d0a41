"""The pages: traces, one trace's waterfall, errors, users, the doctor.

Each route is the HTML rendering of a resource whose JSON api.py serves.
Templates come from templates/, autoescaped, every one of them; everything
a page needs (CSS, JS, the icon) is served from templates/static: no CDN.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
import orjson
from aiohttp import web

from .dropped_views import DROPPED
from .event_views import ERRORS, EVENT
from .filters import FILTERS
from .health_views import DOCTOR
from .log_views import LOGS
from .params import is_true
from .replay_views import REPLAY, REPLAYS
from .session_views import RELEASES, SESSION, SESSIONS
from .trace_views import SEARCH, TRACE, TRACES
from .user_views import USER, USERS

ROUTES = {
    "/": TRACES,
    "/traces": TRACES,
    "/traces/{trace_id}": TRACE,
    "/events/{event_id}": EVENT,
    "/errors": ERRORS,
    "/users": USERS,
    "/users/{key}": USER,
    "/logs": LOGS,
    "/dropped": DROPPED,
    "/search": SEARCH,
    "/doctor": DOCTOR,
    "/replays": REPLAYS,
    "/replays/{replay_id}": REPLAY,
    "/releases": RELEASES,
    "/sessions": SESSIONS,
    "/sessions/{sid}": SESSION,
}


def templates_dir() -> Path:
    # Installed: collector/templates (see pyproject); from a checkout: ./templates.
    package = Path(__file__).resolve().parent.parent
    installed = package / "templates"
    return installed if installed.is_dir() else package.parent / "templates"


async def favicon(request: web.Request) -> web.FileResponse:
    # Browsers ask for /favicon.ico whatever the page links; an SVG answers it.
    return web.FileResponse(templates_dir() / "static" / "favicon.svg", headers={"Content-Type": "image/svg+xml"})


def setup(app: web.Application) -> None:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        # Event content is untrusted: escape everything, in every template.
        autoescape=True,
    )
    # Jinja's tojson escapes <, >, & and ' for use inside <script>; orjson
    # only makes the 10,000-span trace page fast to serialize.
    env.policies["json.dumps_function"] = lambda obj, **_: orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS).decode()
    env.filters.update(FILTERS, is_true=is_true)
    app.router.add_static("/static/", templates_dir() / "static", name="static")
    app.router.add_get("/favicon.ico", favicon)
    for path, resource in ROUTES.items():
        app.router.add_get(path, resource.html_handler())

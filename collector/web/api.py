"""The JSON read API: what the UI, the CLI and other tools build on.

Each route is the JSON rendering of a resource whose page pages.py serves;
errors are `{"detail": reason}` (see resources.py and responses.py).
"""

from __future__ import annotations

from aiohttp import web

from .dropped_views import DROPPED, RAW
from .event_views import ERRORS, EVENT
from .export_views import EXPORT
from .health_views import DOCTOR, STATS
from .live import live_feed
from .log_views import LOGS
from .purge_views import purge
from .replay_views import REPLAY, REPLAY_VIDEO, REPLAYS
from .session_views import RELEASES, SESSION, SESSIONS
from .trace_views import SEARCH, TRACE, TRACE_DETAILS, TRACES
from .user_views import USER, USERS

ROUTES = {
    "/api/traces": TRACES,
    "/api/traces/{trace_id}": TRACE,
    "/api/traces/{trace_id}/export": EXPORT,
    "/api/traces/{trace_id}/details": TRACE_DETAILS,
    "/api/events/{event_id}": EVENT,
    "/api/errors": ERRORS,
    "/api/users": USERS,
    "/api/users/{key}": USER,
    "/api/logs": LOGS,
    "/api/dropped": DROPPED,
    "/api/dropped/items/{rowid}/raw": RAW,
    "/api/search": SEARCH,
    "/api/doctor": DOCTOR,
    "/api/stats": STATS,
    "/api/replays": REPLAYS,
    "/api/replays/{replay_id}": REPLAY,
    "/api/replays/{replay_id}/videos/{segment_id}": REPLAY_VIDEO,
    "/api/releases": RELEASES,
    "/api/sessions": SESSIONS,
    "/api/sessions/{sid}": SESSION,
}


def add_routes(app: web.Application) -> None:
    for path, resource in ROUTES.items():
        app.router.add_get(path, resource.json_handler())
    app.router.add_get("/api/live", live_feed)
    # `collector purge` on a file this collector holds (before ingest's catch-all POST route).
    app.router.add_post("/api/purge", purge)

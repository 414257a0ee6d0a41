"""Replays: the list, one replay (its events for the player), and the mp4
of a mobile replay's segment."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from ..protocol.answers import json_response
from ..read import replay_detail, replays
from . import params
from .keys import READER
from .resources import Resource
from .responses import Missing
from .urls import pager

LIST_LIMIT = 50
MAX_LIST_LIMIT = 1000
HOW_TO_RECORD = (
    "replays arrive when a frontend records one: add Sentry.replayIntegration() with"
    " replaysOnErrorSampleRate: 1.0 (or replaysSessionSampleRate) and point its DSN at this collector"
)


async def load_replays(request: web.Request) -> dict:
    """Newest first; ?user= matches a segment's user id, email or username.
    One more replay is read to know if there is an older page."""
    window = params.window(request.query, LIST_LIMIT, MAX_LIST_LIMIT)
    user = params.text(request.query, "user")
    rows = await request.app[READER].run(replays.list_replays, window.limit + 1, window.offset, user or None)
    return {"replays": rows[: window.limit], "window": window, "has_next": len(rows) > window.limit, "user": user}


def replays_json(data: dict) -> web.Response:
    window = data["window"]
    return json_response({"replays": data["replays"], "limit": window.limit, "offset": window.offset})


async def replays_page(request: web.Request, data: dict) -> web.Response:
    context = {
        "replays": data["replays"],
        "pager": pager(request.query, data["window"], data["has_next"]),
        "user": data["user"],
        "host": request.host,
    }
    return aiohttp_jinja2.render_template("replays.html", request, context)


REPLAYS = Resource(load=load_replays, to_json=replays_json, to_html=replays_page)


async def load_replay(request: web.Request) -> dict:
    replay_id = request.match_info["replay_id"]
    detail = await request.app[READER].run(replay_detail.replay_detail, replay_id)
    if detail is None:
        # ascii(): the id came from the URL and goes into a header (X-Sentry-Error).
        raise Missing(f"replay {replay_id}", f"no replay {replay_id!a} is stored; {HOW_TO_RECORD}")
    return detail


async def replay_page(request: web.Request, data: dict) -> web.Response:
    # The player's script fetches the events from /api/replays/{id}: a
    # page of them inline would be megabytes of HTML.
    replay = {key: value for key, value in data.items() if key != "events"}
    return aiohttp_jinja2.render_template("replay.html", request, {"replay": replay})


REPLAY = Resource(load=load_replay, to_json=json_response, to_html=replay_page)


async def load_video(request: web.Request) -> bytes:
    replay_id, raw_segment = request.match_info["replay_id"], request.match_info["segment_id"]
    what = f"video of segment {raw_segment} of replay {replay_id}"
    # ascii(): both came from the URL and go into a header (X-Sentry-Error).
    missing = f"no video of segment {raw_segment!a} of replay {replay_id!a} is stored"
    try:
        segment_id = int(raw_segment)
    except ValueError:
        raise Missing(what, f"{missing}: a segment id is an integer") from None
    video = await request.app[READER].run(replay_detail.video_bytes, replay_id, segment_id)
    if video is None:
        raise Missing(what, f"{missing}; mobile SDKs send one replay_video item (with an mp4) per segment")
    return video


def video_response(video: bytes) -> web.Response:
    # The bytes are the SDK's: nosniff keeps a browser from reading them as anything but video.
    return web.Response(body=video, content_type="video/mp4", headers={"X-Content-Type-Options": "nosniff"})


REPLAY_VIDEO = Resource(load=load_video, to_json=video_response)

"""Errors: one stored event (as stored, or as a page), and the issues list."""

from __future__ import annotations

import re

import aiohttp_jinja2
import orjson
from aiohttp import web

from ..protocol.answers import json_response
from ..protocol.events import exceptions_of, frames_of, is_message_event, split_in_app
from ..protocol.jsonshape import as_dict, as_list, dicts, loads, pairs_dict
from ..read import event_links, lists, queries
from .fragments import template_for
from .keys import READER
from .resources import Resource
from .responses import Missing
from .urls import trace_url

# What an event id looks like (any case, with or without dashes): only to
# say why nothing was found.
EVENT_ID = re.compile(r"^[0-9a-fA-F-]{16,36}$")


def read_event(conn, event_id: str) -> dict | None:
    """An event's stored JSON (an error's or a transaction's); for an error
    its row, attachments, replay and feedback, for a transaction where it
    sits on its trace. Runs on a reader thread; a candidate for read/queries."""
    stored = queries.event_json(conn, event_id)
    if stored is None:
        return None
    row = queries.event_row(conn, event_id)
    if row is None:
        return {"stored": stored, "row": None, "transaction": lists.transaction_place(conn, event_id)}
    event = as_dict(loads(row["data"]))
    return {
        "stored": stored,
        "row": row,
        "event": event,
        "attachments": queries.attachments_of(conn, row["event_id"]),
        "replay": event_links.replay_link(conn, event, row["timestamp"]),
        "feedback": event_links.feedback_on(conn, row["event_id"]),
    }


async def load_event(request: web.Request) -> dict:
    event_id = request.match_info["event_id"]
    data = await request.app[READER].run(read_event, event_id)
    if data is None:
        # ascii(): the id came from the URL and goes into a header (X-Sentry-Error).
        shape = "" if EVENT_ID.match(event_id) else " (an event id is 32 hex digits)"
        raise Missing(f"error event {event_id}", f"no event {event_id!a} stored{shape}")
    return data


def event_json(data: dict) -> web.Response:
    stored = data["stored"]
    # As stored: text, or a blob in a database an older version wrote.
    if isinstance(stored, str):
        body = stored.encode()
    else:
        body = bytes(stored) if isinstance(stored, bytes) else orjson.dumps(stored)
    return web.Response(body=body, content_type="application/json")


async def event_page(request: web.Request, data: dict) -> web.Response:
    row = data["row"]
    if row is None:
        # A transaction's id: its JSON is in the API, its spans on the trace
        # page, with its segment selected.
        place = data["transaction"] or {}
        if place.get("trace_id") is None:
            raise Missing(f"error event {request.match_info['event_id']}", "a transaction stored without its trace")
        # %-quoted ids: a stored CR or LF cannot split the Location.
        raise web.HTTPFound(trace_url(place["trace_id"], place.get("span_id")))
    event = data["event"]
    context = {
        "row": row,
        "event": event,
        "view": event_view(event),
        "attachments": data["attachments"],
        "replay": data["replay"],
        "feedback": data["feedback"],
    }
    return aiohttp_jinja2.render_template("event.html", request, context)


EVENT = Resource(load=load_event, to_json=event_json, to_html=event_page)


def _frame_view(frame: dict) -> dict:
    """A stack frame with the parts the template iterates made iterable."""
    local_vars = frame.get("vars")
    if local_vars is not None and not isinstance(local_vars, dict):
        local_vars = {"(not an object)": local_vars}
    return {
        **frame,
        "pre_context": as_list(frame.get("pre_context")),
        "post_context": as_list(frame.get("post_context")),
        "vars": local_vars,
    }


def _exception_view(exc: dict) -> dict:
    # Most recent call first.
    in_app, other = split_in_app([_frame_view(f) for f in reversed(frames_of(exc))])
    return {
        "type": exc.get("type"),
        "value": exc.get("value"),
        "module": exc.get("module"),
        "mechanism": exc.get("mechanism") if isinstance(exc.get("mechanism"), dict) else None,
        "in_app": in_app,
        "other": other,
    }


def event_view(event: dict) -> dict:
    """The parts of an error event the page shows, each of the type the
    template relies on, whatever the event holds."""
    contexts = as_dict(event.get("contexts"))
    return {
        # A message (captureMessage, with or without a stack) is not shown as an exception.
        "is_message": is_message_event(event),
        # Outermost (the one reported) first, then what caused it.
        "exceptions": [_exception_view(exc) for exc in reversed(exceptions_of(event))],
        "breadcrumbs": dicts(event.get("breadcrumbs")),
        "tags": sorted(pairs_dict(event.get("tags")).items()),
        "extra": as_dict(event.get("extra")) or None,
        "contexts": {k: v for k, v in contexts.items() if isinstance(v, dict)},
        "request": as_dict(event.get("request")) or None,
        "user": as_dict(event.get("user")) or None,
        "sdk": as_dict(event.get("sdk")) or None,
        "trace": as_dict(contexts.get("trace")),
    }


async def load_errors(request: web.Request) -> dict:
    return {"groups": await request.app[READER].run(lists.error_groups)}


async def errors_page(request: web.Request, data: dict) -> web.Response:
    # One page of issues, newest first: new errors always show on it.
    template = template_for(request, "errors.html", "_errors_list.html")
    return aiohttp_jinja2.render_template(template, request, {**data, "live": True})


ERRORS = Resource(load=load_errors, to_json=json_response, to_html=errors_page)

"""The pages: traces, one trace's waterfall, errors, users.

Views fetch rows through `queries`, shape them with `traces`, and render
Jinja2 templates from templates/ with autoescaping on for every template.
Everything a page needs (CSS, JS) is served from templates/static: no CDN.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

import aiohttp_jinja2
import jinja2
import orjson
from aiohttp import web

from . import doctor, queries, traces
from .api import run_doctor, trace_filters
from .keys import READER

PAGE_SIZE = 50


def templates_dir() -> Path:
    # Installed: collector/templates (see pyproject); from a checkout: ./templates.
    here = Path(__file__).resolve().parent
    installed = here / "templates"
    return installed if installed.is_dir() else here.parent / "templates"


# --- template filters ------------------------------------------------------------


def fmt_time(ts) -> str:
    if ts is None:
        return "—"
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def fmt_ago(ts) -> str:
    if ts is None:
        return "—"
    seconds = max(0, time.time() - ts)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size:.0f} {unit} ago"
    return f"{seconds:.0f} s ago"


def fmt_duration(seconds) -> str:
    if seconds is None:
        return "—"
    ms = seconds * 1000
    return f"{ms:.0f} ms" if ms < 1000 else f"{seconds:.2f} s"


def user_label(user) -> str:
    if not user:
        return "no user"
    return user.get("email") or user.get("username") or user.get("id") or user.get("ip") or "no user"


def category(sdk_name) -> str:
    return traces.service_category(sdk_name, None)


def _json_loads(text):
    return orjson.loads(text) if text else None


def setup(app: web.Application) -> None:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        # Event content is untrusted: escape everything, in every template.
        autoescape=True,
    )
    # Jinja's tojson escapes <, >, & and ' for use inside <script>; orjson
    # only makes the 10,000-span trace page fast to serialise.
    env.policies["json.dumps_function"] = lambda obj, **_: orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS).decode()
    env.filters.update(time=fmt_time, ago=fmt_ago, duration=fmt_duration, user=user_label, category=category)
    app.router.add_static("/static/", templates_dir() / "static", name="static")
    app.router.add_get("/", traces_page)
    app.router.add_get("/traces", traces_page)
    app.router.add_get("/traces/{trace_id}", trace_page)
    app.router.add_get("/events/{event_id}", event_page)
    app.router.add_get("/errors", errors_page)
    app.router.add_get("/users", users_page)
    app.router.add_get("/users/{key}", user_page)
    app.router.add_get("/search", search)
    app.router.add_get("/doctor", doctor_page)


def _not_found(request: web.Request, what: str) -> web.Response:
    return aiohttp_jinja2.render_template("not_found.html", request, {"what": what, "host": request.host}, status=404)


def _page_number(request: web.Request) -> int:
    try:
        return max(1, int(request.query.get("page", "1")))
    except ValueError:
        return 1


@aiohttp_jinja2.template("traces.html")
async def traces_page(request: web.Request):
    filters = trace_filters(request)
    page = _page_number(request)
    rows = await request.app[READER].run(queries.search_traces, filters, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)
    query = {k: v for k, v in request.query.items() if k != "page"}
    return {
        "traces": [traces.summary_view(r) for r in rows[:PAGE_SIZE]],
        "filters": filters,
        "page": page,
        "has_next": len(rows) > PAGE_SIZE,
        "query": query,
        "host": request.host,
    }


async def trace_page(request: web.Request):
    trace_id = request.match_info["trace_id"].lower()
    rows = await request.app[READER].run(queries.trace_rows, trace_id)
    if rows is None:
        return _not_found(request, f"trace {trace_id}")
    assembled = traces.assemble(trace_id, rows)
    view = traces.waterfall(assembled)
    findings = doctor.diagnose(await request.app[READER].run(queries.doctor_rows, None, trace_id, assembled))["findings"]
    # The rows go to the page's script as JSON inside <script type=
    # "application/json">; Jinja's tojson escapes <, >, & and ' there.
    return aiohttp_jinja2.render_template("trace.html", request, {"t": view, "rows_json": view["rows"], "findings": findings})


async def event_page(request: web.Request):
    event_id = request.match_info["event_id"].replace("-", "").lower()
    reader = request.app[READER]
    row = await reader.run(queries.event_row, event_id)
    if row is None:
        return _not_found(request, f"error event {event_id}")
    event = orjson.loads(row["data"])
    return aiohttp_jinja2.render_template(
        "event.html",
        request,
        {"row": row, "event": event, "view": event_view(event), "attachments": await reader.run(queries.attachments_of, event_id)},
    )


def _as_list(value) -> list:
    if isinstance(value, dict):
        value = value.get("values")
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def event_view(event: dict) -> dict:
    """The parts of an error event the page shows, normalised."""
    exceptions = []
    # Outermost (the one reported) first, then what caused it.
    for exc in reversed(_as_list(event.get("exception"))):
        frames = _as_list((exc.get("stacktrace") or {}).get("frames") if isinstance(exc.get("stacktrace"), dict) else None)
        frames = list(reversed(frames))  # most recent call first
        exceptions.append(
            {
                "type": exc.get("type"),
                "value": exc.get("value"),
                "module": exc.get("module"),
                "mechanism": exc.get("mechanism") if isinstance(exc.get("mechanism"), dict) else None,
                "in_app": [f for f in frames if f.get("in_app")],
                "other": [f for f in frames if not f.get("in_app")],
            }
        )
    tags = event.get("tags")
    if isinstance(tags, dict):
        tags = sorted(tags.items())
    elif isinstance(tags, list):
        tags = [tuple(t) for t in tags if isinstance(t, (list, tuple)) and len(t) == 2]
    else:
        tags = []
    contexts = event.get("contexts") if isinstance(event.get("contexts"), dict) else {}
    return {
        "exceptions": exceptions,
        "breadcrumbs": _as_list(event.get("breadcrumbs")),
        "tags": tags,
        "contexts": {k: v for k, v in contexts.items() if isinstance(v, dict)},
        "request": event.get("request") if isinstance(event.get("request"), dict) else None,
        "user": event.get("user") if isinstance(event.get("user"), dict) else None,
        "sdk": event.get("sdk") if isinstance(event.get("sdk"), dict) else None,
        "trace": contexts.get("trace") if isinstance(contexts.get("trace"), dict) else {},
    }


@aiohttp_jinja2.template("errors.html")
async def errors_page(request: web.Request):
    return {"groups": await request.app[READER].run(queries.error_groups)}


@aiohttp_jinja2.template("users.html")
async def users_page(request: web.Request):
    return {"users": await request.app[READER].run(queries.list_users)}


@aiohttp_jinja2.template("user.html")
async def user_page(request: web.Request):
    key = request.match_info["key"]
    activity = await request.app[READER].run(queries.user_activity, key)
    return {"key": key, "traces": [traces.summary_view(r) for r in activity["traces"]], "errors": activity["errors"]}


async def doctor_page(request: web.Request):
    try:
        report = await run_doctor(request)
    except ValueError as e:
        raise web.HTTPBadRequest(text=str(e)) from None
    return aiohttp_jinja2.render_template(
        "doctor.html", request, {"report": report, "since": request.query.get("since", "1h"), "findings": report["findings"]}
    )


async def search(request: web.Request):
    q = request.query.get("q", "").strip()
    found = await request.app[READER].run(queries.find_id, q) if q else None
    if found is None:
        return _not_found(request, f"trace, event or span id {q!r}" if q else "an empty search")
    kind, target = found
    raise web.HTTPFound(f"/events/{target}" if kind == "event" else f"/traces/{target}")

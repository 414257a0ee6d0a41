"""The pages: traces, one trace's waterfall, errors, users.

Views fetch rows through `queries`, shape them with `traces`, and render
Jinja2 templates from templates/ with autoescaping on for every template.
Everything a page needs (CSS, JS) is served from templates/static: no CDN.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

import aiohttp_jinja2
import jinja2
import orjson
from aiohttp import web

from ..read import doctor
from ..read import queries
from ..read import traces
from .api import run_doctor, trace_filters
from ..protocol.jsonshape import as_dict, as_list, as_number, as_str, as_timestamp, dicts, loads, pairs_dict
from ..protocol.sdks import service_category
from .keys import READER

PAGE_SIZE = 50
# Past this the offset would overflow SQLite's integers; no one pages that far.
MAX_PAGE = 1_000_000


def templates_dir() -> Path:
    # Installed: collector/templates (see pyproject); from a checkout: ./templates.
    package = Path(__file__).resolve().parent.parent
    installed = package / "templates"
    return installed if installed.is_dir() else package.parent / "templates"


# --- template filters ------------------------------------------------------------
# They take any value: a stored field may hold any JSON type.


def fmt_time(ts) -> str:
    seconds = as_timestamp(ts)
    if seconds is not None:
        return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    # A number that is no date (milliseconds, say): show it as it is.
    return "—" if as_number(ts) is None else f"{as_number(ts):.15g} (not a time in seconds)"


def fmt_ago(ts) -> str:
    seconds = as_timestamp(ts)
    if seconds is None:
        return "—"
    ago = time.time() - seconds
    if ago < -60:
        return "in the future"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if ago >= size:
            return f"{ago // size:.0f} {unit} ago"
    return f"{max(0.0, ago):.0f} s ago"


def fmt_duration(seconds) -> str:
    seconds = as_number(seconds)
    if seconds is None:
        return "—"
    if abs(seconds) >= 1e6:
        return f"{seconds:.3g} s"
    ms = seconds * 1000
    return f"{ms:.0f} ms" if abs(ms) < 1000 else f"{seconds:.2f} s"


def user_label(user) -> str:
    user = as_dict(user)
    for key in ("email", "username", "id", "ip"):
        if as_str(user.get(key)):
            return as_str(user[key])
    return "no user"


def category(sdk_name) -> str:
    return service_category(as_str(sdk_name), None)


def url_part(value) -> str:
    """An id as one path segment of a link: any stored id, `/` and `?` included."""
    return quote(as_str(value) or "", safe="")


def thousands(value) -> str:
    number = as_number(value)
    return f"{number:,.0f}" if number is not None else "—"


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
    env.filters.update(
        time=fmt_time, ago=fmt_ago, duration=fmt_duration, user=user_label, category=category,
        id=url_part, thousands=thousands,
    )
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
        return min(MAX_PAGE, max(1, int(request.query.get("page", "1"))))
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
    reader = request.app[READER]
    rows = await reader.run(queries.trace_rows, request.match_info["trace_id"])
    if rows is None:
        return _not_found(request, f"trace {request.match_info['trace_id']}")
    # At most MAX_TRACE_PAGE_SPANS spans: the page says how many more there are.
    assembled = traces.assemble(rows["trace_id"], rows)
    view = traces.waterfall(assembled)
    findings = doctor.diagnose(await reader.run(queries.doctor_rows, None, rows["trace_id"], assembled))["findings"]
    # The rows go to the page's script as JSON inside <script type=
    # "application/json">; Jinja's tojson escapes <, >, & and ' there.
    return aiohttp_jinja2.render_template("trace.html", request, {"t": view, "rows_json": view["rows"], "findings": findings})


async def event_page(request: web.Request):
    reader = request.app[READER]
    row = await reader.run(queries.event_row, request.match_info["event_id"])
    if row is None:
        return _not_found(request, f"error event {request.match_info['event_id']}")
    event = as_dict(loads(row["data"]))
    attachments = await reader.run(queries.attachments_of, row["event_id"])
    return aiohttp_jinja2.render_template(
        "event.html", request, {"row": row, "event": event, "view": event_view(event), "attachments": attachments}
    )


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


def event_view(event: dict) -> dict:
    """The parts of an error event the page shows, each of the type the
    template relies on, whatever the event holds."""
    exceptions = []
    # Outermost (the one reported) first, then what caused it.
    for exc in reversed(dicts(event.get("exception"))):
        # Most recent call first.
        frames = [_frame_view(f) for f in reversed(dicts(as_dict(exc.get("stacktrace")).get("frames")))]
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
    contexts = as_dict(event.get("contexts"))
    return {
        "exceptions": exceptions,
        "breadcrumbs": dicts(event.get("breadcrumbs")),
        "tags": sorted(pairs_dict(event.get("tags")).items()),
        "contexts": {k: v for k, v in contexts.items() if isinstance(v, dict)},
        "request": as_dict(event.get("request")) or None,
        "user": as_dict(event.get("user")) or None,
        "sdk": as_dict(event.get("sdk")) or None,
        "trace": as_dict(contexts.get("trace")),
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
    # Stored ids may hold anything, CR and LF included: quote them into the Location.
    if kind == "event":
        raise web.HTTPFound(f"/events/{url_part(target)}")
    if kind == "span":
        raise web.HTTPFound(f"/traces/{url_part(target[0])}#span-{url_part(target[1])}")
    raise web.HTTPFound(f"/traces/{url_part(target)}")

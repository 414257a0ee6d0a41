"""How the web layer answers what went wrong, in one shape per rendering.

Under /api every error is JSON `{"detail": reason}` (protocol.answers, the
shape Sentry's own API and ingest use); a page answers an HTML page that
says what was wrong and how to fix it, with the jump box and the way back.
"""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from ..protocol.answers import error_response
from ..protocol.endpoints import match_endpoint
from .params import BadParameter


class Missing(LookupError):
    """What the URL names is not stored: a 404 in either rendering.
    `what` names it on the page ("trace 0123…"); `detail` is the API's reason."""

    def __init__(self, what: str, detail: str):
        super().__init__(detail)
        self.what = what
        self.detail = detail


def is_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def error_page(request: web.Request, status: int, title: str, problem: str, **context) -> web.Response:
    """templates/error.html: what was wrong, how to fix it, the jump box and
    links. `form` names the page's form template, shown again filled in
    with what the user typed (`query`) and the wrong field (`invalid`) marked."""
    context = {"title": title, "problem": problem, "host": request.host, "query": dict(request.query), **context}
    return aiohttp_jinja2.render_template("error.html", request, context, status=status)


def not_found_page(request: web.Request, missing: Missing) -> web.Response:
    # Something an SDK sends (a trace, an event): say how to make sure it arrives.
    return error_page(request, 404, "Not found", f"No {missing.what} is stored here.", dsn_hint=True)


def bad_parameter_page(request: web.Request, error: BadParameter, form: str | None) -> web.Response:
    fix = f"Correct {error.name} below and try again." if form else f"Correct {error.name} in the address."
    return error_page(
        request, 400, "Bad parameter", f"{error}.", fix=fix, form=form, invalid=error.name, back=request.path
    )


# Ingest takes a POST to any path and answers CORS preflights on any path
# (the catch-all routes in app.py), so for any other method on a path that
# names nothing aiohttp finds POST and OPTIONS "allowed" and answers 405.
CATCH_ALL_METHODS = frozenset({"POST", "OPTIONS"})


def unknown_path_answer(request: web.Request) -> web.Response | None:
    """For a path no route serves, its 404 (JSON under /api, else the HTML
    page); for a known path asked with the wrong method, its 405 with a
    reason; None for a request some route serves."""
    failure = request.match_info.http_exception
    if failure is None:
        return None
    allowed = set(getattr(failure, "allowed_methods", ())) - CATCH_ALL_METHODS
    if match_endpoint(request.path) is not None:
        allowed = {"POST"}  # an ingest endpoint, asked with GET, PUT…
    if allowed:
        return _method_not_allowed(request, sorted(allowed))
    if is_api(request.path):
        return error_response(404, f"nothing is served at {request.path}; README's Read API lists what is")
    return error_page(request, 404, "Not found", f"There is no page at {request.path}.", fix=PAGES_HINT)


PAGES_HINT = "The pages are Traces, Errors, Users and the Doctor; or jump straight to an id."


def _method_not_allowed(request: web.Request, allowed: list[str]) -> web.Response:
    reason = f"{request.method} is not allowed on {request.path}; it answers {', '.join(allowed)}"
    headers = {"Allow": ", ".join(allowed)}
    if is_api(request.path):
        return error_response(405, reason, headers)
    response = error_page(request, 405, "Method not allowed", reason + ".", fix=PAGES_HINT)
    response.headers.update(headers)
    return response

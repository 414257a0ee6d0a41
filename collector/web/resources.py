"""One view per resource, two renderings (as Datasette serves a table as
HTML or .json): `load` parses the request's parameters and reads the data
once; `to_json` renders it under /api, `to_html` on the page path.

`load` (or a rendering) raises `params.BadParameter` for a value it cannot
use and `responses.Missing` for what is not stored; each rendering answers
those in its own shape (JSON `{"detail": …}`, or an HTML page with the form).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ..protocol.answers import error_response
from .params import BadParameter
from .responses import Missing, bad_parameter_page, not_found_page

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Resource:
    # The request's parameters in, the data both renderings show out.
    load: Callable[[web.Request], Awaitable[Any]]
    to_json: Callable[[Any], web.StreamResponse] | None = None
    # Async: a page may read more than the API shows (the trace's doctor panel).
    to_html: Callable[[web.Request, Any], Awaitable[web.StreamResponse]] | None = None
    # The template of the page's form, shown again on its 400 page.
    form: str | None = None

    def json_handler(self) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            try:
                return self.to_json(await self.load(request))
            except BadParameter as e:
                return error_response(400, str(e))
            except Missing as e:
                return error_response(404, e.detail)

        return handle

    def html_handler(self) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            try:
                return await self.to_html(request, await self.load(request))
            except BadParameter as e:
                return bad_parameter_page(request, e, self.form)
            except Missing as e:
                return not_found_page(request, e)

        return handle

"""The do-nothing server the collector is measured against: aiohttp, read the
body, answer `{}`. Same server settings as the collector.

    python bench/baseline.py PORT
"""

import sys

from aiohttp import web

from collector.app import SERVER_ARGS


async def accept(request: web.Request) -> web.Response:
    await request.read()
    return web.json_response({})


app = web.Application()
app.router.add_post("/{tail:.*}", accept)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, **SERVER_ARGS)

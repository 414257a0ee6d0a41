"""A WSGI app with the real sentry-sdk in server mode, handling four requests
in-process, so that the SDK sends one `sessions` aggregate.

    python session_requests.py DSN

/ok twice (exited), /handled captures an exception and answers 200
(errored), /boom raises (an unhandled error: crashed).
"""

import sys

import sentry_sdk
from sentry_sdk.integrations.wsgi import SentryWsgiMiddleware

sentry_sdk.init(dsn=sys.argv[1], release="shop@1.0.0", environment="e2e")


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/boom":
        raise RuntimeError("request failed")
    if path == "/handled":
        try:
            raise ValueError("handled in the view")
        except ValueError as e:
            sentry_sdk.capture_exception(e)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def request(wsgi, path: str) -> None:
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "SERVER_NAME": "shop", "SERVER_PORT": "80"}
    environ |= {"wsgi.url_scheme": "http", "QUERY_STRING": "", "wsgi.input": None}
    try:
        for _ in wsgi(environ, lambda status, headers, exc_info=None: None):
            pass
    except RuntimeError:
        pass  # /boom: the server would answer 500; the SDK has seen it


wsgi = SentryWsgiMiddleware(app)
for path in ("/ok", "/ok", "/handled", "/boom"):
    request(wsgi, path)
# flush() sends the pending aggregates (the SDK otherwise sends them every 60 s).
sentry_sdk.flush(timeout=10)

"""A FastAPI app instrumented with the real sentry-sdk, driven in-process.

    python fastapi_app.py DSN [--no-brotli] [--sentry-trace VALUE]

Each request first gets an anonymous user (as a middleware would before
authentication); /login then sets the authenticated user. Prints the trace
id of each request as JSON after flushing.
"""

import json
import sys

if "--no-brotli" in sys.argv:
    # Makes `import brotli` fail, so the SDK falls back to gzip.
    sys.modules["brotli"] = None

import sentry_sdk
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

sentry_sdk.init(
    dsn=sys.argv[1],
    traces_sample_rate=1.0,
    environment="test",
    release="backend@2.0.0",
)

app = FastAPI()
engine = create_engine("sqlite://")


@app.middleware("http")
async def anonymous_user(request: Request, call_next):
    sentry_sdk.set_user({"id": "anon-" + request.headers.get("x-visitor", "1")})
    return await call_next(request)


def trace_id() -> str:
    return sentry_sdk.get_current_span().trace_id


@app.post("/login")
def login():
    sentry_sdk.set_user({"id": "42", "email": "ada@example.com"})
    sentry_sdk.set_tag("authenticated", "true")
    return {"trace_id": trace_id()}


@app.get("/items")
def items():
    with engine.connect() as conn:
        conn.execute(text("SELECT 1 AS one")).fetchall()
    return {"trace_id": trace_id()}


@app.get("/boom")
def boom():
    print(json.dumps({"boom": trace_id()}), file=sys.stderr)
    raise RuntimeError("kaboom from the backend")


client = TestClient(app, raise_server_exceptions=False)
# --sentry-trace: /items continues a trace, as if a caller that never
# reports here had sent that header.
caller = sys.argv[sys.argv.index("--sentry-trace") + 1] if "--sentry-trace" in sys.argv else None
result = {
    "login": client.post("/login").json()["trace_id"],
    "items": client.get("/items", headers={"sentry-trace": caller} if caller else {}).json()["trace_id"],
}
assert client.get("/boom").status_code == 500
sentry_sdk.flush(timeout=10)
print(json.dumps(result))

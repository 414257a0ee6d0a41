"""The backend the test page calls: FastAPI with the real sentry-sdk.

    python browser_backend.py DSN PORT PAGE_ORIGIN [--anonymous-only]

Each request first gets the anonymous user (as middleware that runs before
authentication would); a valid bearer token then sets the authenticated
user and the tag authenticated=true, unless --anonymous-only.
"""

import sys

import sentry_sdk
import uvicorn
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy import create_engine, text

dsn, port, page_origin = sys.argv[1], int(sys.argv[2]), sys.argv[3]
anonymous_only = "--anonymous-only" in sys.argv

sentry_sdk.init(dsn=dsn, traces_sample_rate=1.0, environment="test", release="backend@2.0.0")

app = FastAPI()
engine = create_engine("sqlite://")


@app.middleware("http")
async def users(request: Request, call_next):
    sentry_sdk.set_user({"id": "anon-visitor"})
    if not anonymous_only and request.headers.get("authorization") == "Bearer token-42":
        sentry_sdk.set_user({"id": "42", "email": "ada@example.com"})
        sentry_sdk.set_tag("authenticated", "true")
    return await call_next(request)


# Added last, so it runs first: preflights are answered before the rest.
app.add_middleware(
    CORSMiddleware,
    allow_origins=[page_origin],
    allow_methods=["*"],
    allow_headers=["sentry-trace", "baggage", "authorization", "content-type"],
)


@app.post("/api/login")
def login():
    return {"ok": True}


@app.get("/api/orders")
def orders():
    with engine.connect() as conn:
        conn.execute(text("SELECT 1 AS order_id")).fetchall()
    return {"orders": [1]}


@app.get("/api/fail")
def fail():
    raise RuntimeError("backend exploded")


uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")

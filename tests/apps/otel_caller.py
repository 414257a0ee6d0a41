"""A service with the real sentry-sdk (FastAPI) that calls the OpenTelemetry
service: its outgoing request carries sentry-trace and baggage, as
sentry-sdk 2.75 sends them (it has no option to send W3C traceparent).

    python otel_caller.py DSN PORT STOCK_URL
"""

import sys
import urllib.request

import sentry_sdk
import uvicorn
from fastapi import FastAPI

dsn, port, stock_url = sys.argv[1], int(sys.argv[2]), sys.argv[3]

sentry_sdk.init(dsn=dsn, traces_sample_rate=1.0, environment="test", release="shop@1.0.0")

app = FastAPI()


@app.get("/checkout")
def checkout():
    # urllib goes through http.client, which the SDK's stdlib integration
    # wraps in an http.client span and gives the trace headers.
    with urllib.request.urlopen(stock_url, timeout=10) as r:
        r.read()
    return {"trace_id": sentry_sdk.get_current_span().trace_id}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")

"""A service instrumented with OpenTelemetry and no Sentry SDK: FastAPI under
the real opentelemetry-instrumentation-fastapi, exporting its spans with the
real OTLP/HTTP protobuf exporter to the collector's /v1/traces.

    python otel_service.py COLLECTOR_URL PORT PAGE_ORIGIN

Which incoming headers it continues a trace from is OpenTelemetry's own
setting, OTEL_PROPAGATORS (default tracecontext,baggage: W3C traceparent
only); with `sentry` added, sentry-sdk's propagator reads sentry-trace too.
"""

import sys

import uvicorn
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

collector_url, port, page_origin = sys.argv[1], int(sys.argv[2]), sys.argv[3]

resource = Resource.create({"service.name": "inventory", "deployment.environment": "test"})
provider = TracerProvider(resource=resource)
# A short delay: the spans of one request go out together, soon after it ends.
provider.add_span_processor(
    BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{collector_url}/v1/traces"), schedule_delay_millis=200)
)
trace.set_tracer_provider(provider)
tracer = trace.get_tracer("inventory")

app = FastAPI()
app.add_middleware(
    CORSMiddleware,
    allow_origins=[page_origin],
    allow_methods=["*"],
    allow_headers=["sentry-trace", "baggage", "traceparent"],
)


@app.get("/api/stock")
def stock():
    with tracer.start_as_current_span("count stock") as span:
        span.set_attribute("stock.items", ["apple", "pear"])
    return {"stock": 2}


FastAPIInstrumentor.instrument_app(app, tracer_provider=provider)

if __name__ == "__main__":
    try:
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
    finally:
        provider.shutdown()

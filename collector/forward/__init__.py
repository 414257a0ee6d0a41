"""Forwarding: every accepted envelope also goes to Sentry (`serve --forward
DSN`) or its spans and logs to an OpenTelemetry Collector (`--forward-otlp
URL`), through the outbox table, so that ingest never waits on an upstream
and an outage or a restart loses nothing."""

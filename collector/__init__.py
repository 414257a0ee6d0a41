"""A local, Sentry-compatible envelope collector."""

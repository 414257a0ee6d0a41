"""Sentry's formats, pure: envelopes, auth, encodings, event shapes. Imports nothing else of ours."""

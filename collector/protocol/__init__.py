"""Sentry's formats, pure: envelopes and item types, auth, encodings, event
shapes, and refusals (one class per rule a request can break). Imports
nothing else of ours."""

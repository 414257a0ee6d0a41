"""Why a request is refused: one class per rule broken, each with the HTTP
status Sentry answers for it and a reason the SDK's user reads.

The rule is enforced where the request is read (auth, decoding, envelope
framing, the endpoints); ingest answers every `Refusal` the same way, so a
new rule needs a subclass here and a `raise` beside its check, nothing more.
An item that cannot be read is not a refusal: it fails alone and the rest of
its envelope is kept.
"""

from __future__ import annotations


class Refusal(Exception):
    """The whole request is refused: answered `status`, with `reason`."""

    status = 400

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# --- the body -----------------------------------------------------------------


class BodyTooLarge(Refusal):
    """The body as sent, or once decompressed, is past its size limit."""

    status = 413


class SlowBody(Refusal):
    """The body did not arrive in the time a client gets to send it."""

    status = 408


class UndecodableBody(Refusal):
    """The body does not decode under its declared Content-Encoding."""


class InvalidBody(Refusal):
    """The body is not what its endpoint takes (an event as JSON, a form)."""


class MissingMinidump(Refusal):
    """A minidump upload without the minidump file."""


# --- the envelope -------------------------------------------------------------


class MalformedEnvelope(Refusal):
    """The body is not a well-framed envelope."""


class TooManyItems(Refusal):
    """More items in one envelope than any SDK sends."""

    status = 413


# --- who sent it --------------------------------------------------------------


class MissingAuth(Refusal):
    """No key anywhere: not in the request, not in the envelope's dsn."""

    status = 401


class BadAuth(Refusal):
    """Auth that is there but cannot be read, or comes from two sources."""

    status = 401


class UnsupportedVersion(Refusal):
    """A `sentry_version` newer than this collector speaks."""


class InvalidDsn(Refusal):
    """The envelope header's `dsn` is not a DSN."""


class HeaderMismatch(Refusal):
    """The request's auth and the envelope's dsn name different keys or
    projects."""

"""Reading an error event: its exceptions, their stack frames, its message.

Pure, and safe on any JSON: an event may hold any value in any field, so
each helper yields only what it promises (lists of objects, text or None).
Grouping, ingest and the event page read events through these.
"""

from __future__ import annotations

from .jsonshape import as_dict, as_str, dicts


def exceptions_of(event: dict) -> list[dict]:
    """The event's exceptions, innermost first: the one raised last (the
    one reported) is listed last."""
    return dicts(event.get("exception"))


def frames_of(exception: dict) -> list[dict]:
    """An exception's stack frames, oldest call first as SDKs send them:
    the frame that raised is last."""
    return dicts(as_dict(exception.get("stacktrace")).get("frames"))


def split_in_app(frames: list[dict]) -> tuple[list[dict], list[dict]]:
    """(the app's own frames, everything else), each in the order given.
    A frame is the app's when the SDK marked it `in_app`."""
    in_app, other = [], []
    for frame in frames:
        (in_app if frame.get("in_app") else other).append(frame)
    return in_app, other


def message_of(event: dict) -> str | None:
    """The event's message: `logentry` or `message`, formatted if it can be."""
    msg = event.get("logentry") or event.get("message")
    if isinstance(msg, dict):
        return as_str(msg.get("formatted") or msg.get("message"))
    return as_str(msg)


def is_synthetic(exception: dict) -> bool:
    """An exception the SDK made up to carry a stack (`attachStacktrace` on
    `captureMessage`): marked `mechanism.synthetic`, or with no type at all,
    as @sentry/node sends one."""
    return as_dict(exception.get("mechanism")).get("synthetic") is True or not as_str(exception.get("type"))


def is_message_event(event: dict) -> bool:
    """A message (captureMessage, a logged record), not an error: it has a
    message and no exception but made-up ones. Titled by its message and
    shown by its level, not as an error."""
    return bool(message_of(event)) and all(is_synthetic(e) for e in exceptions_of(event))

"""Which errors are the same issue: a fingerprint per error event.

Rule, in order: the SDK's own `fingerprint` (unless it only asks for the
default); else the exception type plus the top in-app frame; else the
message. A message with a made-up exception (`attachStacktrace`) is a
message: grouped and titled by its text, not as "None: text".
The key is a short hash; the title is what the errors list shows.
"""

from __future__ import annotations

import hashlib

from .events import exceptions_of, frames_of, is_message_event, message_of


def _top_in_app_frame(exception: dict) -> str | None:
    # Frames are listed oldest call first: the top of the stack is last.
    for frame in reversed(frames_of(exception)):
        if frame.get("in_app"):
            where = frame.get("module") or frame.get("filename") or frame.get("abs_path") or "?"
            return f"{where}:{frame.get('function') or '?'}"
    return None


def _exception_title(exception: dict) -> str:
    kind, value = exception.get("type"), exception.get("value")
    if kind and value:
        return f"{kind}: {value}"
    return str(kind or value or "(no message)")


def fingerprint(event: dict, exception: dict | None, message: str | None) -> tuple[str, str]:
    """(key, title) for an error event; `exception` is its outermost one."""
    custom = event.get("fingerprint")
    if isinstance(custom, list) and custom and custom != ["{{ default }}"]:
        parts = ["custom", *map(str, custom)]
        title = (exception or {}).get("type") or message or " ".join(map(str, custom))
    elif exception and not is_message_event(event):
        frame = _top_in_app_frame(exception)
        parts = ["exception", str(exception.get("type")), frame or str(exception.get("value"))]
        title = _exception_title(exception)
    else:
        parts = ["message", message or ""]
        title = message or "(no message)"
    key = hashlib.sha1("\x1f".join(parts).encode()).hexdigest()[:16]
    return key, str(title)[:300]


def group_of(event: dict) -> tuple[str, str]:
    """(key, title) of an error event from its stored JSON alone."""
    exceptions = exceptions_of(event)
    return fingerprint(event, exceptions[-1] if exceptions else None, message_of(event))

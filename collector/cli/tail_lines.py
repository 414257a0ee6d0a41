"""What `collector tail` prints, pure: one line per live-feed entry, and the
Server-Sent Events framing the feed arrives in.

Everything in an entry came from an app's SDK and is untrusted: a log body
may hold escape sequences that would recolour, retitle or clear the
developer's terminal, so control characters are shown, never sent.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from ..protocol.jsonshape import as_dict

# A segment that took this long is printed in yellow.
SLOW_SECONDS = 1.0
# Enough of a message to recognise it; the page shows the rest.
MAX_TEXT = 160

RED, YELLOW, DIM, RESET = "\x1b[31m", "\x1b[33m", "\x1b[2m", "\x1b[0m"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_WIDE_SPACE = re.compile(r"\s+")


def clean(value, limit: int = MAX_TEXT) -> str:
    """Any JSON value as one printable line: newlines and tabs become
    spaces, other control characters their escape (\\x1b...)."""
    if value is None:
        return ""
    text = _WIDE_SPACE.sub(" ", value if isinstance(value, str) else str(value)).strip()
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short_sdk(name) -> str:
    """sentry.python -> python, sentry.javascript.react-native -> react-native,
    collector.run -> run."""
    text = clean(name, 40)
    return text.rsplit(".", 1)[-1] if text else "?"


def duration_text(seconds) -> str:
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
        return ""
    return f"{seconds * 1000:.0f}ms" if seconds < 1 else f"{seconds:.2f}s"


def local_time(data: dict) -> str:
    moment = data.get("time")
    if not isinstance(moment, int | float) or isinstance(moment, bool):
        moment = data.get("received_at")
    if not isinstance(moment, int | float) or isinstance(moment, bool):
        return "--:--:--"
    try:
        return time.strftime("%H:%M:%S", time.localtime(moment))
    except (OverflowError, OSError, ValueError):
        return "--:--:--"


def what(kind: str, data: dict) -> str:
    """The name or message of an entry, by kind."""
    if kind == "segment":
        return clean(data.get("name") or data.get("op") or "(unnamed)")
    if kind == "error":
        return clean(data.get("title") or "(no message)")
    if kind == "log":
        return clean(f"{clean(data.get('level') or 'log', 10)}: {clean(data.get('body'))}")
    if kind == "replay":
        return clean(f"replay {clean(data.get('replay_id'), 12)} segment {clean(data.get('segment_id'), 6)}")
    if kind == "session":
        errors = data.get("errors")
        counted = f", {clean(errors, 6)} errors" if errors else ""
        return clean(f"session {clean(data.get('status') or '?', 12)}{counted} {clean(data.get('release'), 40)}")
    if kind == "spans":
        return clean(f"{clean(data.get('count'), 6)} more spans")
    if kind == "more":
        return clean(f"…and {clean(data.get('count'), 8)} more from that envelope")
    # `finding` and kinds a newer collector may add: whatever names them.
    return clean(data.get("title") or data.get("message") or data.get("name") or "")


def colour_of(kind: str, data: dict) -> str:
    level = clean(data.get("level"), 10).lower()
    if kind == "error" or level in ("error", "fatal", "critical"):
        return RED
    duration = data.get("duration")
    slow = isinstance(duration, int | float) and not isinstance(duration, bool) and duration >= SLOW_SECONDS
    if (kind == "segment" and slow) or level.startswith("warn") or kind == "finding":
        return YELLOW
    return ""


def format_line(kind: str, data, colour: bool = False) -> str:
    """One feed entry as one terminal line: time, SDK, kind, name or
    message, duration, user, trace id (its first 8 characters)."""
    kind = clean(kind, 12)
    data = as_dict(data)
    parts = [
        local_time(data),
        f"{short_sdk(data.get('sdk')) if data.get('sdk') else '-':<13}",
        f"{kind:<7}",
        what(kind, data),
    ]
    extras = [duration_text(data.get("duration")), clean(data.get("user"), 60)]
    trace_id = clean(data.get("trace_id"), 32)
    extras.append(f"trace {trace_id[:8]}" if trace_id else "")
    line = "  ".join(parts + [e for e in extras if e])
    paint = colour_of(kind, data) if colour else ""
    return f"{paint}{line}{RESET}" if paint else line


@dataclass
class SseParser:
    """Server-Sent Events framing, one line at a time: `feed` returns the
    event a blank line completes as (id, event, data), else None. Comments
    (the feed's pings) are skipped; an event with no id keeps the last one."""

    last_id: str | None = None
    _event: str = "message"
    _data: list[str] = field(default_factory=list)
    _seen_field: bool = False

    def feed(self, line: str) -> tuple[str | None, str, str] | None:
        line = line.rstrip("\r\n")
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        self._seen_field = True
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self.last_id = value
        return None

    def _dispatch(self):
        if not self._seen_field:
            return None
        event = (self.last_id, self._event, "\n".join(self._data))
        self._event, self._data, self._seen_field = "message", [], False
        return event

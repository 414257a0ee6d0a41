"""Small pure helpers for the tools' text: one line per value, times,
durations, users, and the size bound every answer keeps.

Everything shown comes from events an SDK (or anyone) sent: it is put on one
line, control characters and all, so stored text cannot fake a line of the
answer (a span named "…\\nerror: none" stays one line).
"""

from __future__ import annotations

import datetime
import re

from ..protocol.jsonshape import as_dict, as_number, as_str

# The most any answer holds, whatever the tool: about 10,000 tokens, room
# for 300 waterfall lines, well under what agents accept from a tool (25,000).
MAX_CHARS = 40_000
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def one_line(value, width: int = 160) -> str:
    """Text of any value on one line, at most `width` characters ('…' marks a cut)."""
    text = as_str(value)
    if text is None:
        return "" if value is None else one_line(repr(value), width)
    text = _CONTROL.sub(" ", text).strip()
    return text if len(text) <= width else text[: width - 1] + "…"


def when(timestamp) -> str:
    """An epoch time as ISO 8601 UTC to the millisecond; '?' when unknown."""
    seconds = as_number(timestamp)
    if seconds is None:
        return "?"
    try:
        moment = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    except (OverflowError, OSError, ValueError):
        return "?"
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def ms(seconds) -> str:
    """A duration in seconds as milliseconds ('12.5ms'); '?' when unknown."""
    value = as_number(seconds)
    return "?" if value is None else f"{value * 1000:.1f}ms"


def user_text(user) -> str:
    """'email ada@example.com, id 42' or '' for no user."""
    user = as_dict(user)
    parts = [f"{key} {one_line(user.get(key), 80)}" for key in ("email", "username", "id") if as_str(user.get(key))]
    if not parts and as_str(user.get("ip")):
        parts.append(f"ip {one_line(user['ip'], 40)}")
    return ", ".join(parts)


def sdk_name(sdk) -> str:
    """The name of an SDK given as {"name", "version"} or as text."""
    return one_line(as_dict(sdk).get("name") if isinstance(sdk, dict) else sdk, 60)


def bounded(lines: list[str], more_hint: str, max_chars: int = MAX_CHARS) -> str:
    """The lines joined, cut at `max_chars` on a line boundary; a cut says how
    many lines were left out and `more_hint`, how to get them."""
    kept, size = [], 0
    for line in lines:
        size += len(line) + 1
        if size > max_chars:
            left = len(lines) - len(kept)
            kept.append(f"… {left} more line(s) not shown (answer capped at {max_chars} characters): {more_hint}")
            break
        kept.append(line)
    return "\n".join(kept)

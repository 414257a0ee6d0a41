"""How the pages show values: times, durations, users, ids in links.

Template filters; each takes any value, as a stored field may hold any JSON
type. `duration` follows the same rule as fmtDuration in
templates/static/duration.js, so a span reads the same in the list, the
summary and the waterfall.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from urllib.parse import quote

from ..protocol.jsonshape import as_dict, as_number, as_str, as_timestamp
from ..protocol.sdks import service_category

# Past this a "duration" is not one (milliseconds sent as seconds, a clock
# gone wrong): say so rather than print a 20-digit number.
MAX_DURATION = 1e6


def fmt_time(ts) -> str:
    seconds = as_timestamp(ts)
    if seconds is not None:
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    # A number that is no date (milliseconds, say): show it as it is.
    return "—" if as_number(ts) is None else f"{as_number(ts):.15g} (not a time in seconds)"


def fmt_ago(ts) -> str:
    seconds = as_timestamp(ts)
    if seconds is None:
        return "—"
    ago = time.time() - seconds
    if ago < -60:
        return "in the future"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if ago >= size:
            return f"{ago // size:.0f} {unit} ago"
    return f"{max(0.0, ago):.0f} s ago"


def round_half_up(x: float) -> int:
    """The nearest integer, halves rounded up: what JavaScript's Math.round
    does (Python's round() rounds halves to even)."""
    whole = math.floor(x)
    return whole + 1 if x - whole >= 0.5 else whole


def fmt_duration(seconds) -> str:
    """`—` for no number, `0 ms`, `<1 ms`, whole milliseconds under a
    second, else seconds with two decimals."""
    seconds = as_number(seconds)
    if seconds is None:
        return "—"
    if abs(seconds) >= MAX_DURATION:
        return "> 1e6 s" if seconds > 0 else "< -1e6 s"
    if seconds == 0:
        return "0 ms"
    ms = seconds * 1000
    if abs(ms) < 1:
        return "<1 ms"
    if abs(round_half_up(ms)) < 1000:
        return f"{round_half_up(ms)} ms"
    # Built from whole hundredths, as the JS does: no float formatting to differ.
    hundredths = round_half_up(seconds * 100)
    whole, part = divmod(abs(hundredths), 100)
    return f"{'-' if hundredths < 0 else ''}{whole}.{part:02d} s"


def user_label(user) -> str:
    user = as_dict(user)
    for key in ("email", "username", "id", "ip"):
        if as_str(user.get(key)):
            return as_str(user[key])
    return "no user"


def category(sdk_name) -> str:
    return service_category(as_str(sdk_name), None)


def url_part(value) -> str:
    """An id as one path segment of a link: any stored id, `/` and `?` included."""
    return quote(as_str(value) or "", safe="")


def thousands(value) -> str:
    number = as_number(value)
    return f"{number:,.0f}" if number is not None else "—"


FILTERS = {
    "time": fmt_time,
    "ago": fmt_ago,
    "duration": fmt_duration,
    "user": user_label,
    "category": category,
    "id": url_part,
    "thousands": thousands,
}

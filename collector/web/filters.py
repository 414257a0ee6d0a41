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
    """One rule, as fmtDuration in duration.js: `—` for no number, `0 ms`,
    `<0.1 ms` (under 50 µs), `4.2 ms` under 10 ms, `420 ms` under a second,
    `4.20 s` under a minute, `4 min 12 s` under an hour, else `2 h 5 min`.
    Every step rounds a whole count of its unit (halves up, as JavaScript's
    Math.round), so no float formatting can differ between the two."""
    seconds = as_number(seconds)
    if seconds is None:
        return "—"
    if abs(seconds) >= MAX_DURATION:
        return "> 1e6 s" if seconds > 0 else "< -1e6 s"
    if seconds == 0:
        return "0 ms"
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    tenths_of_ms = round_half_up(seconds * 10000)
    if tenths_of_ms < 1:
        return "<0.1 ms"
    if tenths_of_ms < 100:
        return f"{sign}{tenths_of_ms // 10}.{tenths_of_ms % 10} ms"
    if round_half_up(seconds * 1000) < 1000:
        return f"{sign}{round_half_up(seconds * 1000)} ms"
    hundredths = round_half_up(seconds * 100)
    if hundredths < 6000:
        return f"{sign}{hundredths // 100}.{hundredths % 100:02d} s"
    whole = round_half_up(seconds)
    if whole < 3600:
        return f"{sign}{whole // 60} min {whole % 60} s"
    minutes = round_half_up(seconds / 60)
    return f"{sign}{minutes // 60} h {minutes % 60} min"


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

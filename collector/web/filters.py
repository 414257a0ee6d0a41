"""How the pages show values: times, durations, users, ids in links.

Times are rendered as `<time datetime="…">` in UTC, readable with scripts
off; templates/static/times.js shows them in the browser's time zone with
UTC on hover.

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

from markupsafe import Markup, escape

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


def moment(value) -> float | None:
    """Epoch seconds of a timestamp sent as a number or as ISO 8601 text
    (breadcrumbs come as either, by SDK), else None."""
    seconds = as_timestamp(value)
    if seconds is not None or not isinstance(value, str):
        return seconds
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return as_timestamp((parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp())


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")


def time_tag(ts) -> Markup:
    """A `<time>` the page's script shows in local time, UTC in its title."""
    seconds = moment(ts)
    if seconds is None:
        return escape(fmt_time(ts) if ts is None or as_number(ts) is not None else as_str(ts) or "—")
    return Markup('<time class="local" datetime="{}">{}</time>').format(_iso(seconds), fmt_time(seconds))


def precise_time_tag(ts) -> Markup:
    """time_tag to the millisecond: breadcrumbs a few ms apart stay apart."""
    seconds = moment(ts)
    if seconds is None:
        return time_tag(ts)
    text = datetime.fromtimestamp(seconds, UTC).strftime("%H:%M:%S.%f")[:-3] + " UTC"
    return Markup('<time class="local precise" datetime="{}">{}</time>').format(_iso(seconds), text)


def ago_tag(ts) -> Markup:
    """ "5 min ago", the exact time (local by script, else UTC) on hover."""
    seconds = moment(ts)
    if seconds is None:
        return escape(fmt_ago(ts))
    return Markup('<time class="ago" datetime="{}" title="{}">{}</time>').format(
        _iso(seconds), fmt_time(seconds), fmt_ago(seconds)
    )


def relative_to(ts, reference=None) -> str:
    """How long before (or after) `reference` a timestamp is: "-1.2 s"."""
    at, ref = moment(ts), moment(reference)
    if at is None or ref is None:
        return ""
    delta = at - ref
    sign = "-" if delta < 0 else "+"
    size = abs(delta)
    if size < 1:
        return f"{sign}{size * 1000:.0f} ms"
    if size < 60:
        return f"{sign}{size:.1f} s"
    if size < 3600:
        return f"{sign}{size // 60:.0f} min {size % 60:.0f} s"
    return f"{sign}{size // 3600:.0f} h {size % 3600 // 60:.0f} min"


def level_class(level) -> str:
    """The style of an event's level: a message at info is not an error."""
    level = (as_str(level) or "error").lower()
    if level in ("fatal", "error"):
        return "level-error"
    return "level-warning" if level in ("warning", "warn") else "level-info"


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


def service_colour(key) -> str:
    """A service's colour class, c0 to c7, from a hash of its key ("backend ·
    sentry.python.fastapi"): the same as colourOf in static/trace.js, so a
    service has one colour in the trace list and in the waterfall."""
    h = 0
    for ch in as_str(key) or "":
        h = (h * 31 + ord(ch)) % 1000003
    return f"c{h % 8}"


def thousands(value) -> str:
    number = as_number(value)
    return f"{number:,.0f}" if number is not None else "—"


FILTERS = {
    "time": fmt_time,
    "ago": fmt_ago,
    "timetag": time_tag,
    "precisetime": precise_time_tag,
    "agotag": ago_tag,
    "relative_to": relative_to,
    "level_class": level_class,
    "duration": fmt_duration,
    "user": user_label,
    "category": category,
    "id": url_part,
    "thousands": thousands,
    "service_colour": service_colour,
}

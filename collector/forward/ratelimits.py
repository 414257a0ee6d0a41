"""An upstream's rate limits: `X-Sentry-Rate-Limits` per category, and
`Retry-After` on a 429 that names none, as Relay and the SDKs read them.

`X-Sentry-Rate-Limits: retry_after:categories:scope:reason_code:namespaces, …`
with categories separated by `;`; an empty category list limits everything.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass, field

# Every category at once (an empty category list, or a bare 429).
ALL = "all"
# Retry-After that is missing or unreadable on a 429: what the SDKs assume.
DEFAULT_RETRY_AFTER = 60.0


def parse_rate_limits(header: str, now: float) -> dict[str, float]:
    """{category or ALL: until} from an X-Sentry-Rate-Limits value; broken
    parts are skipped (a limit we cannot read must not stop forwarding)."""
    limits: dict[str, float] = {}
    for quota in header.split(","):
        parts = quota.strip().split(":")
        try:
            seconds = float(parts[0])
        except ValueError:
            continue
        categories = [c for c in (parts[1].split(";") if len(parts) > 1 else []) if c]
        for category in categories or [ALL]:
            limits[category] = max(limits.get(category, 0.0), now + max(seconds, 0.0))
    return limits


def parse_retry_after(value: str | None, now: float) -> float:
    """Seconds from Retry-After: a number or an HTTP date."""
    if value:
        try:
            return max(float(value), 0.0)
        except ValueError:
            pass
        try:
            return max(email.utils.parsedate_to_datetime(value).timestamp() - now, 0.0)
        except (TypeError, ValueError):
            pass
    return DEFAULT_RETRY_AFTER


@dataclass
class RateLimits:
    """Until when each category is held back."""

    until: dict[str, float] = field(default_factory=dict)

    def update(self, status: int, headers, now: float) -> None:
        """Take in a response's limits: X-Sentry-Rate-Limits on any answer;
        on a 429 without it, Retry-After for every category."""
        header = headers.get("X-Sentry-Rate-Limits")
        if header:
            found = parse_rate_limits(header, now)
        elif status == 429:
            found = {ALL: now + parse_retry_after(headers.get("Retry-After"), now)}
        else:
            return
        for category, until in found.items():
            self.until[category] = max(self.until.get(category, 0.0), until)

    def active(self, now: float) -> dict[str, float]:
        """The limits still running, forgetting the ones that ran out."""
        self.until = {c: t for c, t in self.until.items() if t > now}
        return dict(self.until)

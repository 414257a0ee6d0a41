"""Dropped data: items the collector failed to store, items it stored
although Sentry would drop them for their size, and refused requests.

A failed item whose kept bytes name its trace is a finding on that trace
(it shows on the trace's doctor panel); any other is a finding of the
window /doctor checks. Items or requests failed for one reason are one
finding, with a count.
"""

from __future__ import annotations

import re
from collections import defaultdict

from ...protocol.limits import OVER_SENTRY_LIMIT
from ..dropped import MAX_LISTED, failed_items, reason_kind, rejections
from .evidence import finding

MIB = 1024 * 1024
_LIMIT = re.compile(r"(\d+)-byte limit")
_HOW_TO_SHRINK = {
    "transaction": "send fewer spans or smaller data: lower max_spans, trim span data and request bodies in "
    "before_send_transaction (Python) or beforeSendTransaction (JS), or split long work into several transactions.",
    "event": "send less with each error: fewer breadcrumbs (max_breadcrumbs), smaller extra and context data, "
    "request bodies trimmed in before_send (Python) or beforeSend (JS).",
}
_SHRINK_OTHER = "send less in each item (trim it in the SDK's before_send hooks)."
_ROWS_FIX = "Send fewer spans per envelope: the collector stores at most 10,000 rows of one envelope."
_UNREADABLE_FIX = (
    "Download its kept bytes from /dropped to see what the SDK sent; update the SDK, and check any custom transport "
    "that builds envelopes by hand."
)
_REFUSAL_FIXES = {
    401: "Check the SDK's DSN: it must be http://<key>@<this collector's host>/<project id>, as the setup shows.",
    408: "The request body arrived too slowly: check the network path (proxies) between the SDK and the collector.",
    413: "Send smaller envelopes: fewer items per envelope, smaller attachments, or a compressed body.",
    429: "The collector was busy and the SDK will retry; if it keeps happening, send less (sample rates).",
}
_REFUSAL_FIX = (
    "The SDK sent a request this collector cannot read: update the SDK, and check any custom transport or proxy "
    "that rewrites its envelopes (the reason says what was wrong)."
)


def _size(n: int | None) -> str:
    return "an unknown size" if n is None else f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n:,} bytes"


def _limit(reason: str | None) -> str | None:
    match = _LIMIT.search(reason or "")
    return f"{int(match.group(1)) / MIB:g} MiB" if match else None


def rows(conn, since: float | None, trace_id: str | None) -> dict:
    """The failed items of one trace (among the newest MAX_LISTED, as only
    their kept bytes name a trace), or the failures and refusals since `since`."""
    if trace_id:
        bare = trace_id.strip().replace("-", "").lower()
        return {"dropped_items": [f for f in failed_items(conn) if f["trace_id"] == bare], "rejected_requests": []}
    return {"dropped_items": failed_items(conn, since, MAX_LISTED), "rejected_requests": rejections(conn, since)}


def _item_finding(members: list[dict]) -> dict:
    item = members[0]
    kind, reason = item["item_type"] or "item", item["reason"] or "no reason given"
    count = f" ({len(members)} such items)" if len(members) > 1 else ""
    if reason.startswith(OVER_SENTRY_LIMIT):
        detail = (
            f"the {kind} is {_size(item['size'])}; Sentry drops {kind} items over {_limit(reason)}. It is stored "
            f"and shown here, but in production it would be lost{count}."
        )
        code, fix = "over_sentry_limit", _HOW_TO_SHRINK.get(kind, _SHRINK_OTHER).capitalize()
    elif _limit(reason):
        detail = f"the {kind} is {_size(item['size'])}; this collector drops {kind} items over {_limit(reason)}{count}."
        code, fix = "dropped_item", f"Sentry would drop it too: {_HOW_TO_SHRINK.get(kind, _SHRINK_OTHER)}"
    else:
        detail = f"a {kind} item was not stored: {reason}{count}."
        code = "dropped_item"
        fix = _ROWS_FIX if "rows from one envelope" in reason else _UNREADABLE_FIX
    return finding(
        code,
        item["trace_id"],
        None,
        item["sdk_name"],
        detail,
        fix,
        reason=reason,
        size=item["size"],
        count=len(members),
        failed_item_ids=[m["id"] for m in members[:10]],
    )


def _rejection_finding(members: list[dict]) -> dict:
    first = members[0]
    return finding(
        "rejected_request",
        None,
        None,
        None,
        f"{len(members)} request(s) to {first['endpoint'] or 'the collector'} answered {first['status']}: "
        f"{first['reason'] or 'no reason given'}.",
        _REFUSAL_FIXES.get(first["status"], _REFUSAL_FIX),
        status=first["status"],
        count=len(members),
        user_agents=sorted({m["user_agent"] for m in members if m["user_agent"]})[:5],
    )


def dropped_findings(data: dict) -> list[dict]:
    """Findings from rows(): one per trace, item type, SDK and reason; one per refusal status and reason."""
    items: dict[tuple, list[dict]] = defaultdict(list)
    for f in data.get("dropped_items", ()):
        items[(f["trace_id"], f["item_type"], f["sdk_name"], reason_kind(f["reason"]))].append(f)
    refused: dict[tuple, list[dict]] = defaultdict(list)
    for r in data.get("rejected_requests", ()):
        refused[(r["status"], reason_kind(r["reason"]))].append(r)
    return [_item_finding(m) for m in items.values()] + [_rejection_finding(m) for m in refused.values()]

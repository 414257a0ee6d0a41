"""The story a trace page tells beyond its spans: where the user changed,
which rows an unlinked request ties to another trace, where errors and logs
without a stored span go, and an axis an outlier does not stretch. Pure;
`traces.waterfall()` applies these to its rows in place.
"""

from __future__ import annotations

from statistics import median

from ..protocol.jsonshape import as_dict, as_str

# An error or log this far outside the spans (at least OUTLIER_SLACK
# seconds, or once the spans' duration) is clamped to the axis's edge.
OUTLIER_SLACK = 1.0
# Without spans the items set the axis; one an hour off the rest is a clock gone wrong.
ITEMS_ONLY_SLACK = 3600.0
SYNTHETIC_OP = "service"


# --- the axis ---------------------------------------------------------------


def axis(spans: list[dict], items: list[dict]) -> tuple[float, float]:
    """(start, end) of the timeline: the spans' extent widened by the errors
    and logs near it, not by one far away (it is clamped, see clamp_items)."""
    span_times = [t for s in spans for t in (s["start_timestamp"], s["timestamp"]) if t is not None]
    item_times = [t for t in (i["timestamp"] for i in items) if t is not None]
    if span_times:
        lo, hi = min(span_times), max(span_times)
        slack = max(OUTLIER_SLACK, hi - lo)
    elif item_times:
        lo = hi = median(item_times)
        slack = ITEMS_ONLY_SLACK
    else:
        return 0.0, 0.0
    near = [t for t in item_times if lo - slack <= t <= hi + slack]
    return min([lo, *near]), max([hi, *near])


def clamp_items(rows: list[dict], start: float, end: float) -> None:
    """Each error and log gets `at`, where it is drawn, and `outlier`: its
    true `timestamp` lies outside the axis and `at` is the nearer edge."""
    for row in rows:
        for item in (*row["errors"], *row["logs"]):
            t = item["timestamp"]
            item["at"] = None if t is None else min(max(t, start), end)
            item["outlier"] = t is not None and not start <= t <= end


# --- errors and logs without a stored span ------------------------------------


def _synthetic_row(n: int, service: str, item: dict, paged: bool) -> dict:
    # On a page of a huge trace, a span an item names may simply be on
    # another page: say so rather than claim it was never stored.
    missing = "span on another page of this trace" if paged else "no span stored"
    return {
        "trace_id": None,
        "span_id": f"service-{n}",
        "parent_span_id": None,
        "segment_id": None,
        "is_segment": False,
        "op": SYNTHETIC_OP,
        "description": f"errors and logs of {service.split(' · ')[-1]} — {missing}",
        "start_timestamp": None,
        "timestamp": None,
        "status": None,
        "sdk": item["sdk"],
        "platform": None,
        "environment": item.get("environment"),
        "release": item.get("release"),
        "user": item.get("user"),
        "tags": None,
        "data": None,
        "origin": None,
        "event_id": None,
        "dsc": None,
        "depth": 0,
        "orphan": False,
        "synthetic": True,
        "errors": [],
        "logs": [],
    }


def _running_segment(segments: list[dict], t: float | None) -> dict | None:
    """The service's segment open at time t (the innermost: latest start)."""
    if t is None:
        return None
    open_at = [s for s in segments if s["start_timestamp"] is not None and s["timestamp"] is not None]
    open_at = [s for s in open_at if s["start_timestamp"] <= t <= s["timestamp"]]
    return max(open_at, key=lambda s: s["start_timestamp"], default=None)


def place_items(rows: list[dict], errors: list[dict], logs: list[dict], service_of, paged: bool = False) -> list[dict]:
    """Put each error and log on a row: its own span if stored; else, when it
    names no span, the segment of its service running at its time; else a
    synthetic row of its service. Returns the synthetic rows made.
    `service_of(item)` is the service key the rows' `service` holds; `paged`
    when the rows are one page of a larger trace."""
    by_id = {r["span_id"]: r for r in rows}
    segments: dict[str, list[dict]] = {}
    for r in rows:
        if r["is_segment"]:
            segments.setdefault(r["service"], []).append(r)
    synthetic: dict[str, dict] = {}
    for kind, items in (("errors", errors), ("logs", logs)):
        for item in items:
            row = by_id.get(item["span_id"]) if item["span_id"] else None
            service = service_of(item)
            if row is None and not item["span_id"]:
                row = _running_segment(segments.get(service, []), item["timestamp"])
            if row is None:
                row = synthetic.get(service)
                if row is None:
                    row = synthetic[service] = _synthetic_row(len(synthetic), service, item, paged)
            row[kind].append(item)
    for row in synthetic.values():
        times = [i["timestamp"] for i in (*row["errors"], *row["logs"]) if i["timestamp"] is not None]
        row["start_timestamp"], row["timestamp"] = (min(times), max(times)) if times else (None, None)
    return list(synthetic.values())


# --- the user -----------------------------------------------------------------


def _user_key(user) -> tuple:
    user = as_dict(user)
    return tuple(as_str(user.get(k)) for k in ("id", "email", "username"))


def _authenticated(row: dict) -> str | None:
    for source in (row.get("tags"), row.get("data")):
        for key in ("authenticated", "user.authenticated"):
            value = as_dict(source).get(key)
            if value is not None and as_str(value) is not None:
                return as_str(value).lower()
    return None


def user_text(user, authenticated: str | None = None) -> str:
    """'id 42, email ada@example.com, authenticated=true'; 'anonymous' when
    nothing names the user (an IP alone does not)."""
    user = as_dict(user)
    parts = [f"{k} {as_str(user[k])}" for k in ("id", "email", "username") if as_str(user.get(k))]
    if authenticated is not None:
        parts.append(f"authenticated={authenticated}")
    return ", ".join(parts) if any(as_str(user.get(k)) for k in ("id", "email", "username")) else "anonymous"


def offset_text(seconds: float) -> str:
    """+342 ms, +1.5 s, +2 min 5 s: where on the trace something happened."""
    if seconds < 1:
        return f"+{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"+{seconds:.1f} s"
    return f"+{int(seconds // 60)} min {int(seconds % 60)} s"


def _end(row: dict) -> float:
    return row["timestamp"] if row["timestamp"] is not None else row["start_timestamp"]


def _tells_the_user(row: dict) -> bool:
    """Segments and requests: the browser SDK builds its browser.* and
    resource.* spans after the fact, with the user of that moment, not of
    the time they show."""
    op = as_str(row["op"]) or ""
    timed = row["start_timestamp"] is not None and not row.get("synthetic")
    return timed and (bool(row["is_segment"]) or op.startswith("http."))


def mark_user_changes(rows: list[dict], start: float) -> None:
    """`user_change` on the first row, in time order within each service
    category (web, mobile, backend), whose user differs from the row before.
    Rows are taken in the order they ended: a streamed span takes the scope's
    user when it ends, so a request sent before login and answered after it
    carries the new user. The old user held at least until the previous row ended."""
    timed = sorted((r for r in rows if _tells_the_user(r)), key=_end)
    previous: dict[str, tuple] = {}
    for row in rows:
        row["user_change"] = None
    for row in timed:
        category = row["service"].split(" · ")[0]
        before = previous.get(category)
        now = (_user_key(row["user"]), _authenticated(row))
        if before is not None and now[0] != before[1][0]:
            row["user_change"] = (
                f"{user_text(before[0]['user'], before[1][1])} until "
                f"{offset_text(_end(before[0]) - start)}, then {user_text(row['user'], now[1])}"
            )
        previous[category] = (row, now)


def disagreements(segment_users: list[dict]) -> None:
    """Mark `disagrees` on segments whose named user no segment of another
    category (web, mobile, backend) names: the table highlights them."""
    named: dict[str, set] = {}
    for s in segment_users:
        key = _user_key(s["user"])
        if any(key):
            named.setdefault(s["service"].split(" · ")[0], set()).add(key)
    for s in segment_users:
        key, category = _user_key(s["user"]), s["service"].split(" · ")[0]
        others = [keys for c, keys in named.items() if c != category]
        s["disagrees"] = bool(any(key) and others and not any(key in keys for keys in others))


# --- links to other traces ------------------------------------------------------


def mark_links(rows: list[dict], trace_id: str, findings: list[dict]) -> None:
    """`started_trace` on a client row whose request started another trace,
    `called_by` on that trace's segment, from the doctor's unlinked findings."""
    by_id = {r["span_id"]: r for r in rows}
    for row in rows:
        row["started_trace"] = row["called_by"] = None
    for f in findings:
        evidence = as_dict(f.get("evidence"))
        other, other_span = evidence.get("backend_trace_id"), evidence.get("backend_span_id")
        if f.get("kind") != "unlinked_outgoing_request" or not other:
            continue
        if f.get("trace_id") == trace_id and f.get("span_id") in by_id:
            by_id[f["span_id"]]["started_trace"] = {"trace_id": other, "span_id": other_span}
        if other == trace_id and other_span in by_id:
            by_id[other_span]["called_by"] = {"trace_id": f.get("trace_id"), "span_id": f.get("span_id")}

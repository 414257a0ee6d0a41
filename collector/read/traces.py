"""Trace assembly: stored rows in, the shapes the API and pages show out.

Pure functions. A transaction's root, its child spans and a v2 span item are
all just spans here; a trace is the set of spans sharing a trace id, linked
by parent_span_id across services.
"""

from __future__ import annotations

import functools
import operator

from ..protocol.jsonshape import as_int, as_list, as_str, as_timestamp, loads, loads_dict, pairs_dict
from ..protocol.sdks import service_category
from . import trace_story
from .propagation import mark_incoming

USER_COLUMNS = (("id", "user_id"), ("email", "user_email"), ("username", "user_username"), ("ip", "user_ip"))


def user_of(row: dict) -> dict | None:
    user = {}
    for key, column in USER_COLUMNS:
        value = as_str(row.get(column))
        if value:
            user[key] = value
    return user or None


def sdk_of(row: dict) -> dict | None:
    name = as_str(row.get("sdk_name"))
    if not name:
        return None
    return {"name": name, "version": as_str(row.get("sdk_version"))}


# The columns a pack's spans share (see storage/span_packs): a span's SDK
# and user are built once per distinct set of them, not once per span.
_SDK_AND_USER = operator.itemgetter("sdk_name", "sdk_version", *(column for _, column in USER_COLUMNS))


def _sdk_and_user(row: dict, memo: dict | None) -> tuple[dict | None, dict | None]:
    """(sdk, user) of a row; with `memo`, rows with the same values share
    one pair of dicts (read them, never change them in place)."""
    if memo is None:
        return sdk_of(row), user_of(row)
    key = _SDK_AND_USER(row)
    try:
        found = memo.get(key)
    except TypeError:  # a list or object where text belongs cannot be a key: build them anew
        return sdk_of(row), user_of(row)
    if found is None:
        found = memo[key] = (sdk_of(row), user_of(row))
    return found


# Every value comes out of these views as the type the pages, the API and the
# doctor expect (text or None, a plausible time or None, an object or None),
# whatever the row holds: see jsonshape.


def span_view(row: dict, memo: dict | None = None) -> dict:
    """A stored span row as the API shows it; `memo` (one per trace) shares
    the SDK and user dicts of spans that have the same ones."""
    s = as_str
    sdk, user = _sdk_and_user(row, memo)
    return {
        "trace_id": s(row["trace_id"]),
        "span_id": s(row["span_id"]),
        "parent_span_id": s(row["parent_span_id"]),
        "segment_id": s(row["segment_id"]),
        "is_segment": bool(as_int(row["is_segment"])),
        "op": s(row["op"]),
        "description": s(row["description"]),
        "start_timestamp": as_timestamp(row["start_timestamp"]),
        "timestamp": as_timestamp(row["timestamp"]),
        "status": s(row["status"]),
        "sdk": sdk,
        "platform": s(row["platform"]),
        "environment": s(row["environment"]),
        "release": s(row["release"]),
        "user": user,
        "tags": pairs_dict(loads(row["tags"])) or None,
        "data": loads_dict(row["data"]),
        "origin": s(row["origin"]),
        "event_id": s(row["event_id"]),
        "dsc": loads_dict(row["dsc"]),
    }


def error_view(row: dict) -> dict:
    return {
        "event_id": as_str(row["event_id"]),
        "span_id": as_str(row["span_id"]),
        "type": as_str(row["exception_type"]),
        "value": as_str(row["exception_value"]) or as_str(row["message"]),
        "level": as_str(row["level"]),
        "timestamp": as_timestamp(row["timestamp"]),
        "transaction": as_str(row["transaction_name"]),
        "sdk": sdk_of(row),
        "environment": as_str(row["environment"]),
        "release": as_str(row["release"]),
        "user": user_of(row),
    }


def log_view(row: dict) -> dict:
    return {
        "span_id": as_str(row["span_id"]),
        "timestamp": as_timestamp(row["timestamp"]),
        "level": as_str(row["level"]),
        "body": as_str(row["body"]),
        "sdk": sdk_of(row),
        "attributes": loads_dict(row["attributes"]),
    }


def users_in(spans: list[dict], errors: list[dict]) -> list[dict]:
    """Each distinct user seen on the trace, with the SDKs that reported it."""
    seen: dict[tuple, dict] = {}
    # Spans of one pack share their user and SDK dicts: each pair counts once.
    done: set[tuple[int, int]] = set()
    for item in [*spans, *errors]:
        user = item["user"]
        if not user or (id(user), id(item["sdk"])) in done:
            continue
        done.add((id(user), id(item["sdk"])))
        key = (user.get("id"), user.get("email"), user.get("username"))
        entry = seen.setdefault(key, {**user, "sdks": []})
        sdk = (item["sdk"] or {}).get("name")
        if sdk and sdk not in entry["sdks"]:
            entry["sdks"].append(sdk)
    return list(seen.values())


def assemble(trace_id: str, rows: dict) -> dict:
    """The trace as the API shows it, from queries.trace_rows(): its spans
    (one page of them), errors and logs (capped), each with the total."""
    memo: dict = {}
    spans = [span_view(r, memo) for r in rows["spans"]]
    errors = [error_view(r) for r in rows["errors"]]
    return {
        "trace_id": trace_id,
        "span_count": rows["span_count"],
        "spans": spans,
        "error_count": rows["error_count"],
        "errors": errors,
        "log_count": rows["log_count"],
        "logs": [log_view(r) for r in rows["logs"]],
        "users": users_in(spans, errors),
    }


def _text_list(text) -> list[str]:
    return [v for v in map(as_str, as_list(loads(text))) if v]


def _summary_users(text) -> list[dict]:
    users = ({k: as_str(v) for k, v in u.items()} for u in as_list(loads(text)) if isinstance(u, dict))
    return [{k: v for k, v in u.items() if v} for u in users]


def summary_view(row: dict) -> dict:
    start, end = as_timestamp(row["start_timestamp"]), as_timestamp(row["end_timestamp"])
    return {
        "trace_id": as_str(row["trace_id"]),
        "start": start,
        "duration": (end - start) if start is not None and end is not None else None,
        "root": as_str(row["root_name"]),
        "root_op": as_str(row["root_op"]),
        "sdks": _text_list(row["sdks"]),
        "span_count": as_int(row["span_count"]),
        "error_count": as_int(row["error_count"]),
        "users": _summary_users(row["users"]),
        "environments": _text_list(row["environments"]),
    }


# --- the waterfall -------------------------------------------------------------


def _service_key(span: dict) -> str:
    return _service_name((span["sdk"] or {}).get("name"), span["platform"])


@functools.lru_cache(maxsize=256)
def _service_name(sdk: str | None, platform: str | None) -> str:
    # Cached: a trace's 10,000 spans come from a handful of SDKs.
    return f"{service_category(sdk, platform)} · {sdk or platform or 'unknown sdk'}"


def _order(spans: list[dict]) -> tuple[list[tuple[dict, int, bool]], int]:
    """Depth-first display order as (span, depth, is_orphan_top), and the
    number of true roots (spans without a parent). Spans are taken by their
    index in `spans`: one dict lookup per span, not per comparison."""
    ids = [s["span_id"] for s in spans]
    known = set(ids)
    inf = float("inf")
    starts = [inf if s["start_timestamp"] is None else s["start_timestamp"] for s in spans]
    children: dict[str, list[int]] = {}
    tops: list[tuple[bool, float, int]] = []
    for i, span in enumerate(spans):
        parent = span["parent_span_id"]
        if parent and parent in known and parent != ids[i]:
            children.setdefault(parent, []).append(i)
        else:
            tops.append((bool(parent), starts[i], i))
    for kids in children.values():
        kids.sort(key=starts.__getitem__)
    # True roots first, then orphans (their parent never arrived); stable by start.
    tops.sort(key=lambda t: t[:2])
    ordered: list[tuple[dict, int, bool]] = []
    seen = bytearray(len(spans))

    def visit(top: int, orphan: bool) -> None:
        stack = [(top, 0, orphan)]
        while stack:
            i, depth, o = stack.pop()
            if seen[i]:
                continue
            seen[i] = 1
            ordered.append((spans[i], depth, o))
            kids = children.get(ids[i])
            if kids:
                stack.extend((k, depth + 1, False) for k in reversed(kids))

    for orphan, _, i in tops:
        visit(i, orphan)
    # Spans caught in a parent cycle are reachable from no top: show them as orphans.
    for i in range(len(spans)):
        if not seen[i]:
            visit(i, True)
    return ordered, sum(1 for orphan, _, _ in tops if not orphan)


def _gaps(spans: list[dict], start: float, end: float) -> list[dict]:
    """Stretches of the trace where no span was running."""
    intervals = sorted(
        (s["start_timestamp"], s["timestamp"])
        for s in spans
        if s["start_timestamp"] is not None and s["timestamp"] is not None
    )
    threshold = max(0.01, 0.02 * (end - start))
    gaps, covered = [], None
    for lo, hi in intervals:
        if covered is not None and lo - covered > threshold:
            gaps.append({"start": covered, "end": lo, "duration": lo - covered})
        covered = hi if covered is None else max(covered, hi)
    return gaps


def _segment_users(rows: list[dict]) -> list[dict]:
    return [
        {
            "span_id": r["span_id"],
            "service": r["service"],
            "description": r["description"],
            "op": r["op"],
            "user": r["user"],
            "tags": r["tags"],
            "user_change": r["user_change"],
        }
        for r in rows
        if r["is_segment"]
    ]


def _service_of(services: dict[str, dict], span: dict) -> dict:
    """The service a span belongs to (web, mobile or backend, by SDK),
    gathering its environments, releases and sampling decisions."""
    key = _service_key(span)
    service = services.get(key)
    if service is None:
        service = services[key] = {
            "key": key,
            "category": key.split(" · ")[0],
            "colour": len(services),
            "environments": set(),
            "releases": set(),
            "sampling": set(),
        }
    if span["environment"]:
        service["environments"].add(span["environment"])
    if span["release"]:
        service["releases"].add(span["release"])
    dsc = span["dsc"] or {}
    if dsc:
        service["sampling"].add((str(dsc.get("sample_rate")), str(dsc.get("sampled"))))
    return service


def _service_list(services: dict[str, dict]) -> list[dict]:
    return [
        {
            **s,
            "environments": sorted(s["environments"]),
            "releases": sorted(s["releases"]),
            "sampling": [{"sample_rate": r, "sampled": d} for r, d in sorted(s["sampling"])],
        }
        for s in services.values()
    ]


def _span_rows(ordered: list[tuple[dict, int, bool]]) -> tuple[list[dict], dict[str, dict]]:
    """The waterfall's span rows in display order, each with its depth and
    service, and the services they belong to."""
    services: dict[str, dict] = {}
    rows = []
    previous, service = None, None
    for span, depth, orphan_top in ordered:
        # Neighbouring rows mostly come from one pack (same SDK, platform,
        # environment and release): the service and what it gathers is known.
        same = (id(span["sdk"]), span["platform"], span["environment"], span["release"])
        if same != previous or span["dsc"]:
            service, previous = _service_of(services, span), same
        # The span dicts are this call's own (fresh from assemble): extend
        # them in place rather than copy 10,000 of them.
        span.update(
            depth=depth,
            orphan=orphan_top,
            synthetic=False,
            service=service["key"],
            colour=service["colour"],
            errors=[],
            logs=[],
        )
        rows.append(span)
    return rows, services


def waterfall(trace: dict, requests: dict | None = None, findings: list[dict] = ()) -> dict:
    """Everything the trace page draws, from `assemble()`'s output (whose
    span dicts it extends); `requests`: the request headers of backend
    segments by span id, `findings`: the doctor's for this trace."""
    spans = trace["spans"]
    start, end = trace_story.axis(spans, [*trace["errors"], *trace["logs"]])
    ordered, root_count = _order(spans)
    rows, services = _span_rows(ordered)
    item_service = lambda item: _service_key({"sdk": item["sdk"], "platform": None})  # noqa: E731
    paged = (trace["span_count"] or 0) > len(spans)
    for row in trace_story.place_items(rows, trace["errors"], trace["logs"], item_service, paged):
        service = _service_of(services, row)
        row.update(service=service["key"], colour=service["colour"])
        rows.append(row)
    trace_story.clamp_items(rows, start, end)
    trace_story.mark_user_changes(rows, start)
    trace_story.mark_links(rows, trace["trace_id"], list(findings))
    mark_incoming(rows, requests or {})
    segment_users = _segment_users(rows)
    trace_story.disagreements(segment_users)
    return {
        "trace_id": trace["trace_id"],
        "start": start,
        "end": end,
        "duration": end - start,
        "rows": rows,
        "services": _service_list(services),
        "root_count": root_count,
        "orphans": [r["span_id"] for r in rows if r["orphan"]],
        "gaps": _gaps(spans, start, end),
        "synthetic_rows": [r for r in rows if r["synthetic"]],
        # The rows the tables below the waterfall list, picked once here
        # rather than by four template loops over 10,000 rows.
        "changes": [r for r in rows if r["user_change"]],
        "received": [r for r in rows if r["incoming"]],
        "started": [r for r in rows if r["started_trace"]],
        "called": [r for r in rows if r["called_by"]],
        "segment_users": segment_users,
        # Totals: a huge trace's spans, errors and logs are capped on a page.
        "span_count": trace["span_count"],
        "spans_shown": len(spans),
        "error_count": trace["error_count"],
        "errors_shown": len(trace["errors"]),
        "log_count": trace["log_count"],
        "logs_shown": len(trace["logs"]),
        # In time order (as read), each also placed on its row above.
        "logs": trace["logs"],
        "users": trace["users"],
    }

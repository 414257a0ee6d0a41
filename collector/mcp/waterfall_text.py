"""One trace's waterfall as indented text: a line per span (offset from the
trace's start, duration, op, description, status, service, span id), its
errors and logs under it, the users and the doctor's findings on top.

Pure: takes what reads.trace_detail() read. Bounded: at most `max_lines`
lines of spans, and it says how to get the rest (the next page of spans, or
a span filter).
"""

from __future__ import annotations

from ..protocol.jsonshape import as_dict, as_number
from .text import bounded, ms, one_line, sdk_name, user_text, when

MAX_LINES = 300
LOGS_PER_SPAN = 5
INDENT = "  "


def _offset(row: dict, start: float) -> str:
    begin = as_number(row.get("start_timestamp"))
    return "+?" if begin is None else f"+{(begin - start) * 1000:.1f}ms"


def _duration(row: dict) -> str:
    begin, end = as_number(row.get("start_timestamp")), as_number(row.get("timestamp"))
    return ms(end - begin) if begin is not None and end is not None else "?"


def span_line(row: dict, start: float, depth: int) -> str:
    """The span's own line: offset, duration, op, "description", status, [service], span id."""
    parts = [
        INDENT * depth + _offset(row, start),
        _duration(row),
        one_line(row.get("op"), 40) or "(no op)",
        f'"{one_line(row.get("description"))}"',
        one_line(row.get("status"), 30) or "-",
        f"[{one_line(row.get('service'), 80)}]",
    ]
    if not row.get("synthetic"):
        parts.append(f"span {one_line(row.get('span_id'), 40)}")
    if row.get("is_segment") and user_text(row.get("user")):
        parts.append(f"user: {user_text(row['user'])}")
    return " ".join(parts)


def _notes(row: dict, depth: int) -> list[str]:
    """What the trace page marks on a row: a missing parent, a user change,
    a request that started another trace or arrived from one."""
    pad = INDENT * (depth + 1)
    notes = []
    if row.get("orphan"):
        notes.append(f"{pad}! parent span {one_line(row.get('parent_span_id'), 40)} is not stored")
    if row.get("user_change"):
        notes.append(f"{pad}! user changed: {one_line(row['user_change'], 240)}")
    started = as_dict(row.get("started_trace"))
    if started:
        notes.append(f"{pad}! its request started another trace, {one_line(started.get('trace_id'), 40)} (not linked)")
    called = as_dict(row.get("called_by"))
    if called:
        notes.append(f"{pad}! called from trace {one_line(called.get('trace_id'), 40)} (not linked)")
    return notes


def item_lines(row: dict, trace_id: str, depth: int) -> list[str]:
    """The row's errors, then its first logs, one line each."""
    pad = INDENT * (depth + 1)
    lines = []
    for error in row.get("errors") or []:
        title = ": ".join(one_line(v, 200) for v in (error.get("type"), error.get("value")) if v) or "(no message)"
        who = user_text(error.get("user"))
        lines.append(
            f"{pad}x error {title} [{one_line(error.get('level'), 20) or 'error'}]"
            f" event {one_line(error.get('event_id'), 40)} {sdk_name(error.get('sdk'))}"
            + (f" user: {who}" if who else "")
        )
    logs = row.get("logs") or []
    for log in logs[:LOGS_PER_SPAN]:
        lines.append(f"{pad}- log {one_line(log.get('level'), 20)} {one_line(log.get('body'), 200)}")
    if len(logs) > LOGS_PER_SPAN:
        lines.append(f"{pad}- … {len(logs) - LOGS_PER_SPAN} more log(s): search_logs(trace_id={trace_id!r})")
    return lines


def _matches(row: dict, needle: str) -> bool:
    fields = (row.get("op"), row.get("description"), row.get("span_id"), row.get("service"))
    return any(needle in one_line(v, 10_000).lower() for v in fields)


def header_lines(detail: dict) -> list[str]:
    view = detail["view"]
    lines = [
        f"trace {view['trace_id']}: spans {detail['offset'] + 1}-{detail['offset'] + view['spans_shown']}"
        f" of {view['span_count']}, {view['error_count']} error(s), {view['log_count']} log(s),"
        f" {ms(view['duration'])} from {when(view['start'])}",
        "services: " + ("; ".join(one_line(s["key"], 100) for s in view["services"]) or "none"),
    ]
    users = [f"{user_text(u)} (from {', '.join(u.get('sdks') or []) or '?'})" for u in view["users"]]
    lines.append("users: " + ("; ".join(users) if users else "none named"))
    kinds = sorted({one_line(f.get("kind"), 60) for f in detail["findings"]})
    if kinds:
        lines.append(
            f"doctor: {len(detail['findings'])} finding(s) ({', '.join(kinds)}): "
            "diagnose_trace gives the evidence and the fix"
        )
    lines.append("each line: offset from trace start, duration, op, description, status, [service], span id")
    return lines


def render_trace(detail: dict, span_filter: str = "", max_lines: int = MAX_LINES) -> str:
    """The trace as text; `span_filter` keeps the spans whose op, description,
    span id or service holds it (their errors and logs with them)."""
    view = detail["view"]
    needle = span_filter.strip().lower()
    rows = [r for r in view["rows"] if not needle or _matches(r, needle)]
    body = []
    for row in rows:
        depth = 0 if needle else int(as_number(row.get("depth")) or 0)
        body += [span_line(row, view["start"], depth), *_notes(row, depth), *item_lines(row, view["trace_id"], depth)]
    lines = header_lines(detail)
    if needle:
        lines.append(f"span filter {span_filter!r}: {len(rows)} of {len(view['rows'])} row(s) on this page match")
    how = (
        f"get_trace(trace_id={view['trace_id']!r}, offset=N, limit=M) reads spans N to N+M in start order;"
        " span_filter='text' keeps matching spans"
    )
    if len(body) > max_lines:
        lines += body[:max_lines]
        lines.append(f"… {len(body) - max_lines} more line(s) on this page not shown: {how}")
    else:
        lines += body
    if detail["next_offset"] is not None:
        lines.append(
            f"more spans: get_trace(trace_id={view['trace_id']!r}, offset={detail['next_offset']}) for the next page"
        )
    return bounded(lines, how)

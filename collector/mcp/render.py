"""The tools' lists as text: traces, errors, logs, the doctor's findings and
a user's journey, one line per entry, each ending with how to get more.

Pure: each takes what a reads.py function returned and the arguments the
tool was called with (to say which call gives the next page).
"""

from __future__ import annotations

import orjson

from ..protocol.jsonshape import as_dict, as_list
from .text import bounded, ms, one_line, sdk_name, user_text, when

LOGS_HINT = (
    "no logs stored yet: turn them on in the SDK (sentry_sdk.init(enable_logs=True),"
    " Sentry.init({enableLogs: true})) or run the app with `collector run -- <command>`, which stores its output"
)
EMPTY_HINT = (
    "nothing stored yet: point the app's SDK at this collector (DSN http://<key>@127.0.0.1:8969/1,"
    " traces_sample_rate=1.0) or start it with `collector run -- <command>`"
)


def _call(tool: str, args: dict) -> str:
    shown = ", ".join(f"{k}={v!r}" for k, v in args.items() if v not in (None, "", False))
    return f"{tool}({shown})"


def _filtered(args: dict) -> bool:
    return any(v not in (None, "", False) for k, v in args.items() if k not in ("offset", "limit"))


def _page_end(lines: list[str], tool: str, args: dict, shown: int, more: bool, empty: str = EMPTY_HINT) -> list[str]:
    """The closing line: the call that gives the next page; or, for an empty
    page, what matched nothing, or (nothing stored at all) how to send some."""
    if more:
        after = {**args, "offset": args.get("offset", 0) + shown}
        lines.append(f"more: {_call(tool, after)}")
    elif not shown and _filtered(args):
        lines.append(f"none match {_call(tool, args)}")
    elif not shown:
        lines.append("none past this offset" if args.get("offset") else empty)
    return lines


def render_trace_list(data: dict, args: dict) -> str:
    rows = data["traces"]
    lines = [f"{len(rows)} trace(s), newest first (get_trace(trace_id) shows one):"]
    for t in rows:
        users = "; ".join(filter(None, map(user_text, t["users"]))) or "no user"
        lines.append(
            f"{one_line(t['trace_id'], 40)} {when(t['start'])} {ms(t['duration'])}"
            f' {one_line(t["root_op"], 40) or "-"} "{one_line(t["root"])}"'
            f" spans={t['span_count'] or 0} errors={t['error_count'] or 0}"
            f" sdks={','.join(one_line(s, 60) for s in t['sdks']) or '-'} users={users}"
        )
    return bounded(_page_end(lines, "list_traces", args, len(rows), data["more"]), "narrow the filters or lower limit")


def render_errors(data: dict, args: dict) -> str:
    rows = data["errors"]
    lines = [f"{len(rows)} error event(s), newest first:"]
    for e in rows:
        title = one_line(e["title"], 200) or ": ".join(
            one_line(v, 200) for v in (e["exception_type"], e["exception_value"] or e["message"]) if v
        )
        who = user_text({"id": e["user_id"], "email": e["user_email"], "username": e["user_username"]})
        lines.append(
            f"{when(e['timestamp'])} [{one_line(e['level'], 20) or 'error'}] {title or '(no message)'}"
            f" | event {one_line(e['event_id'], 40)} trace {one_line(e['trace_id'], 40) or '-'}"
            f" {sdk_name(e['sdk_name'])} transaction {one_line(e['transaction_name'], 120) or '-'}"
            + (f" user: {who}" if who else "")
        )
    return bounded(_page_end(lines, "search_errors", args, len(rows), data["more"]), "narrow the search or lower limit")


def render_logs(data: dict, args: dict) -> str:
    rows = data["logs"]
    lines = [f"{len(rows)} log(s), newest first:"]
    for log in rows:
        who = user_text(log["user"])
        lines.append(
            f"{when(log['timestamp'])} {one_line(log['level'], 20) or '-'} {one_line(log['body'], 300)}"
            f" | trace {one_line(log['trace_id'], 40) or '-'} span {one_line(log['span_id'], 40) or '-'}"
            f" {sdk_name(log['sdk_name'])}" + (f" user: {who}" if who else "")
        )
    end = _page_end(lines, "search_logs", args, len(rows), data["more"], LOGS_HINT)
    return bounded(end, "narrow the search or lower limit")


def _evidence(evidence) -> str:
    text = orjson.dumps(as_dict(evidence), default=str).decode()
    return one_line(text, 600)


def render_findings(report: dict, scope: str) -> str:
    findings = report["findings"]
    checked = report["summary"]["traces_checked"]
    if not findings:
        return f"doctor checked {checked} trace(s) in {scope}: no problems found (traces link, users are named)."
    lines = [f"doctor checked {checked} trace(s) in {scope}: {len(findings)} finding(s)"]
    for n, f in enumerate(findings, 1):
        where = " ".join(
            f"{label} {one_line(f[key], 40)}" for label, key in (("trace", "trace_id"), ("span", "span_id")) if f[key]
        )
        lines += [
            "",
            f"{n}. {one_line(f['kind'], 60)} [{one_line(f['sdk'], 60) or 'any sdk'}] {where}",
            f"   what: {one_line(f['detail'], 1000)}",
            f"   fix: {one_line(f['fix'], 1000)}",
            f"   evidence: {_evidence(f['evidence'])}",
        ]
    return bounded(lines, "diagnose_trace(trace_id) for one trace at a time")


def _entry_line(entry: dict) -> str:
    kind = one_line(entry.get("kind"), 20)
    what = {
        "trace": lambda e: f'"{one_line(e.get("name"))}" {ms(e.get("duration"))} services {e.get("sdk") or "-"}',
        "error": lambda e: f"[{one_line(e.get('level'), 20)}] {one_line(e.get('title'), 200)}",
        "log": lambda e: f"{one_line(e.get('level'), 20)} {one_line(e.get('body'), 200)}",
        "session": lambda e: f"status {one_line(e.get('status'), 20)} errors {e.get('errors') or 0}",
        "replay": lambda e: f"{ms(e.get('duration'))} {one_line(e.get('url'), 200)}",
        "feedback": lambda e: f'"{one_line(e.get("message"), 300)}"',
    }.get(kind, lambda e: "")(entry)
    trace = entry.get("trace_id") if kind != "trace" else None
    line = f"{when(entry.get('time'))} {kind} {one_line(entry.get('id'), 40)} {what}"
    line += f" | trace {one_line(trace, 40)}" if trace else ""
    line += f" | {sdk_name(entry.get('sdk'))}" if kind != "trace" and entry.get("sdk") else ""
    return line + (" (before login)" if entry.get("before_login") else "")


def render_journey(data: dict, args: dict) -> str:
    user = {k: data.get(k) for k in ("id", "email", "username")}
    counts = ", ".join(f"{data.get(k) or 0} {k}" for k in ("traces", "errors", "sessions", "replays"))
    lines = [
        f"user {one_line(data['key'], 120)}: {user_text(user) or 'nothing stored names this user'}",
        f"seen {when(data['first_seen'])} to {when(data['last_seen'])}: {counts}",
    ]
    for alias in as_list(data.get("aliases")):
        alias = as_dict(alias)
        lines.append(f"was anonymous {one_line(alias.get('alias'), 80)} until {when(alias.get('until'))}")
    became = as_dict(data.get("became"))
    if became:
        lines.append(f"this anonymous id became user {one_line(became.get('user'), 120)} at {when(became.get('at'))}")
    order = "oldest" if args.get("oldest_first") else "newest"
    lines.append(f"timeline, {order} first (trace ids: get_trace; event ids: search_errors):")
    lines += [_entry_line(e) for e in data["timeline"]]
    if data["more"]:
        lines.append(f"… {data['more']} more entries: a larger limit (at most 500), or oldest_first=True")
    elif not data["timeline"]:
        lines.append("no traces, errors, logs, sessions or replays name this user; list_traces(user=...) finds users")
    return bounded(lines, "lower limit, or oldest_first=True for the start")

"""Why a trace did not link: findings with evidence and a fix.

Pure: `diagnose()` takes what `doctor_queries.doctor_rows()` read and returns
`{"findings": [...], "summary": {...}}`. Each finding names its kind, the
trace and span concerned, the SDK, what was seen (`detail`, `evidence`) and
what to change (`fix`). A correctly wired app yields no finding at all.
"""

from __future__ import annotations

from collections import defaultdict

from .dropped import dropped_findings
from .links import orphans, propagation
from .sampling import sampling, sampling_summary
from .silence import silence
from .users import anonymous_events, user_mismatch


def diagnose(data: dict) -> dict:
    """`data` from doctor_queries.doctor_rows(): traces (spans, errors), candidate
    backend segments, request headers, SDK last-seen and client reports; with
    `focus` (a trace id), only the findings that concern that trace."""
    findings: list[dict] = []
    anonymous_rows: list[dict] = []
    all_spans: list[dict] = []
    for trace_id, trace in data["traces"].items():
        spans, errors = trace["spans"], trace["errors"]
        all_spans += spans
        findings += propagation(trace_id, spans, data["candidates"], data["requests"])
        findings += orphans(trace_id, spans)
        findings += user_mismatch(trace_id, spans)
        findings += sampling(trace_id, spans, errors)
        anonymous_rows += [
            {**s, "row_kind": "transaction", "route": s.get("description"), "trace_id": trace_id}
            for s in spans
            if s.get("is_segment")
        ]
        anonymous_rows += [
            {**e, "row_kind": "error", "route": e.get("transaction"), "trace_id": trace_id} for e in errors
        ]
    findings += anonymous_events(anonymous_rows)
    findings += silence(data.get("since"), data.get("sdk_last_seen", []), data.get("client_reports", []))
    findings += dropped_findings(data)
    # The same finding may be reached twice (a span on a trace checked twice): keep one.
    unique, seen = [], set()
    for f in findings:
        key = (f["kind"], f["trace_id"], f["span_id"], f["detail"])
        if key not in seen and (data.get("focus") is None or concerns(f, data["focus"])):
            seen.add(key)
            unique.append(f)
    counts: dict[str, int] = defaultdict(int)
    for f in unique:
        counts[f["kind"]] += 1
    return {
        "findings": unique,
        "summary": {
            "traces_checked": len(data["traces"]),
            "since": data.get("since"),
            "findings_by_kind": dict(counts),
            "sampling": sampling_summary(all_spans),
            "sdks": [
                {"sdk": r["sdk_name"], "last_seen": r["last_seen"], "envelopes": r["envelopes"]}
                for r in data.get("sdk_last_seen", [])
            ],
            "client_reports": data.get("client_reports", []),
        },
    }


def concerns(finding: dict, trace_id: str) -> bool:
    """A finding is about a trace when it is on it or names it in its
    evidence (the backend trace an unlinked request started, say)."""
    if finding["trace_id"] == trace_id:
        return True
    values = finding["evidence"].values()
    return any(v == trace_id or (isinstance(v, list) and trace_id in v) for v in values)


UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def parse_since(text: str | None, now: float) -> float | None:
    """'1h', '30m', '2d', '45s' ago, or epoch seconds; None for no window."""
    if not text:
        return None
    text = text.strip().lower()
    for unit in sorted(UNITS, key=len, reverse=True):
        if text.endswith(unit) and text[: -len(unit)].replace(".", "", 1).isdigit():
            return now - float(text[: -len(unit)]) * UNITS[unit]
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"since must look like 30m, 1h, 2d or epoch seconds, got {text!r}") from None

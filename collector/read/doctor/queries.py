"""What the doctor reads: a trace (or every trace touched in a window) with
the backend request segments around it, the headers those requests
carried, when each SDK last sent, and the SDKs' client reports of lost data.

Bounded: a window reads at most MAX_DOCTOR_TRACES traces and
MAX_DOCTOR_ROWS rows in all, whatever one attacker-sized trace holds.
"""

from __future__ import annotations

from ...protocol.jsonshape import as_str, loads, pairs_dict
from ...protocol.urls import CLIENT_OP, is_server_segment
from ..queries import MAX_TRACE_ERRORS, MAX_TRACE_PAGE_SPANS, dicts, trace_rows, trace_spans, typed_rows
from ..traces import assemble, error_view, span_view
from . import dropped

MAX_DOCTOR_TRACES = 500
# Rows (spans, errors, logs) the doctor reads in all: 500 traces of up to
# 10,000 spans each would be millions.
MAX_DOCTOR_ROWS = 50_000
MAX_CANDIDATES = 5_000
# Backend segments this far around a trace may be the other half of it.
TWIN_WINDOW = 60.0


def _load_traces(conn, trace_ids) -> dict:
    out, budget = {}, MAX_DOCTOR_ROWS
    for trace_id in trace_ids:
        if budget <= 0:
            break
        rows = trace_rows(conn, trace_id, min(MAX_TRACE_PAGE_SPANS, budget))
        if rows is not None:
            out[trace_id] = assemble(rows["trace_id"], rows)
            budget -= len(rows["spans"]) + len(rows["errors"]) + len(rows["logs"])
    return out


# An error's columns as traces.error_view reads them.
_ERRORS = (
    "SELECT event_id, span_id, level, exception_type, exception_value, message, transaction_name, timestamp,"
    " environment, release, sdk_name, sdk_version, user_id, user_email, user_username, user_ip"
    " FROM events WHERE trace_id = ? ORDER BY timestamp LIMIT ?"
)


def _named_by_checks(row: dict) -> bool:
    """A span the checks that can name another trace read: a segment (the
    backend's half of a request, its user and sampling) or a client request."""
    return bool(row["is_segment"]) or (as_str(row["op"]) or "").startswith(CLIENT_OP)


def _load_neighbours(conn, trace_ids, budget: int) -> dict:
    """Traces around the one checked, with only their segments, client
    requests and errors: every finding that can concern another trace (an
    unlinked request's other half, the anonymous users counted across
    traces) reads nothing else, and a neighbour's thousands of child spans
    are not assembled for nothing."""
    out = {}
    for trace_id in trace_ids:
        if budget <= 0:
            break
        memo: dict = {}
        spans = [span_view(r, memo) for r in trace_spans(conn, trace_id) if _named_by_checks(r)]
        spans.sort(key=lambda s: (s["start_timestamp"] is not None, s["start_timestamp"] or 0.0))
        errors = [error_view(r) for r in dicts(conn.execute(_ERRORS, (trace_id, MAX_TRACE_ERRORS)))]
        out[trace_id] = {"trace_id": trace_id, "spans": spans[:budget], "errors": errors, "logs": []}
        budget -= len(spans) + len(errors)
    return out


def _request_headers(conn, segments: list[dict]) -> dict:
    """The request headers of each segment's transaction, by span id."""
    ids = list({s["event_id"] for s in segments if s.get("event_id")})
    headers_by_event = {}
    for chunk in range(0, len(ids), 500):
        part = ids[chunk : chunk + 500]
        # json_type first: json_extract gives a string as text, not as JSON.
        for event_id, kind, headers in conn.execute(
            "SELECT event_id, json_type(data, '$.request.headers'), json_extract(data, '$.request.headers') FROM"
            f" (SELECT event_id, CASE WHEN json_valid(data) THEN data END AS data FROM transactions"
            f" WHERE event_id IN ({','.join('?' * len(part))}))",
            part,
        ):
            parsed = loads(headers) if kind in ("object", "array") else None
            headers_by_event[event_id] = pairs_dict(parsed)
    return {s["span_id"]: headers_by_event.get(s.get("event_id"), {}) for s in segments}


def _trace_times(trace: dict) -> list[float]:
    items = (*trace["spans"], *trace["errors"], *trace["logs"])
    return [t for i in items for t in (i.get("start_timestamp"), i.get("timestamp")) if t is not None]


def _neighbourhood(conn, trace: dict) -> dict:
    """The trace and every trace started around it: the other half of a
    request that did not link is among them, so the trace gets the same
    findings as in a window that holds both (see diagnose's `focus`)."""
    times = _trace_times(trace)
    nearby = []
    if times:
        nearby = [
            r[0]
            for r in conn.execute(
                "SELECT trace_id FROM traces WHERE start_timestamp BETWEEN ? AND ? LIMIT ?",
                (min(times) - TWIN_WINDOW, max(times) + TWIN_WINDOW, MAX_DOCTOR_TRACES),
            )
            if r[0] != trace["trace_id"]
        ]
    return {trace["trace_id"]: trace, **_load_neighbours(conn, nearby, MAX_DOCTOR_ROWS)}


def _sdk_health(conn, since: float | None) -> tuple[list[dict], list[dict]]:
    """When each SDK last sent, and what the SDKs reported losing since `since`."""
    last_seen = typed_rows(
        conn.execute(
            "SELECT sdk_name, max(received_at) AS last_seen, count(*) AS envelopes FROM envelopes"
            " WHERE sdk_name IS NOT NULL GROUP BY sdk_name"
        ),
        {"sdk_name": str, "last_seen": float, "envelopes": int},
    )
    # total(), not sum(): quantities near 2**63 must not overflow.
    reports = typed_rows(
        conn.execute(
            "SELECT sdk_name, reason, category, total(quantity) AS quantity FROM client_reports"
            " WHERE coalesce(timestamp, 0) >= ? GROUP BY sdk_name, reason, category",
            (since or 0,),
        ),
        {"sdk_name": str, "reason": str, "category": str, "quantity": int},
    )
    return last_seen, reports


def doctor_rows(conn, since: float | None, trace_id: str | None = None, trace: dict | None = None) -> dict:
    """What doctor.diagnose() needs: every trace touched since `since` with
    SDK last-seen times and client reports; or, for one trace (pass `trace`
    if already assembled), the traces around it and `focus`, its id, so that
    diagnose keeps the findings that concern it. One code path serves
    /doctor, /api/doctor?trace_id= and the trace page."""
    focus, last_seen, reports = None, [], []
    if trace_id:
        trace = trace or next(iter(_load_traces(conn, [trace_id]).values()), None)
        traces = _neighbourhood(conn, trace) if trace else {}
        focus = trace["trace_id"] if trace else trace_id
    else:
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT trace_id FROM traces WHERE last_seen >= ? ORDER BY last_seen DESC LIMIT ?",
                (since or 0, MAX_DOCTOR_TRACES),
            )
        ]
        traces = _load_traces(conn, ids)
        last_seen, reports = _sdk_health(conn, since)
    candidates = [s for t in traces.values() for s in t["spans"] if is_server_segment(s)][:MAX_CANDIDATES]
    return {
        "since": since,
        "focus": focus,
        "traces": traces,
        "candidates": candidates,
        "requests": _request_headers(conn, candidates),
        "sdk_last_seen": last_seen,
        "client_reports": reports,
        **dropped.rows(conn, since, trace_id),
    }

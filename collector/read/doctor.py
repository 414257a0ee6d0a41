"""Why a trace did not link: findings with evidence and a fix.

Pure: `diagnose()` takes what `doctor_queries.doctor_rows()` read and returns
`{"findings": [...], "summary": {...}}`. Each finding names its kind, the
trace and span concerned, the SDK, what was seen (`detail`, `evidence`) and
what to change (`fix`). A correctly wired app yields no finding at all.
"""

from __future__ import annotations

from collections import defaultdict

from ..protocol.jsonshape import as_dict, as_int, as_number, as_str
from ..protocol.sdks import service_category
from ..protocol.urls import endpoint, is_client_request, origin, request_url

# Client report reasons that mean data was lost, not deliberately dropped.
LOSS_REASONS = {
    "network_error",
    "ratelimit_backoff",
    "queue_overflow",
    "buffer_overflow",
    "send_error",
    "internal_sdk_error",
    "cache_overflow",
    "backpressure",
}
# How far apart a client span and a backend segment may start and still be
# the same request (clocks of browser and server are the same machine's in
# local development, but not always exactly).
MATCH_SLACK = 1.0


def _sdk(row: dict) -> str | None:
    return as_str(as_dict(row.get("sdk")).get("name"))


def _category(row: dict) -> str:
    return service_category(_sdk(row), as_str(row.get("platform")))


def _start(span: dict) -> float:
    return as_number(span.get("start_timestamp")) or 0.0


def _user_text(user: dict | None) -> str:
    if not user:
        return "no user"
    return ", ".join(f"{k}={v}" for k, v in as_dict(user).items() if k in ("id", "email", "username"))


def _anonymous(user: dict | None) -> bool:
    # "Anonymous": no user at all, or only an id/IP with nothing that names a person.
    user = as_dict(user)
    return not (user.get("email") or user.get("username"))


def _finding(kind, trace_id, span_id, sdk, detail, fix, **evidence) -> dict:
    return {
        "kind": kind,
        "trace_id": trace_id,
        "span_id": span_id,
        "sdk": sdk,
        "detail": detail,
        "fix": fix,
        "evidence": evidence,
    }


# --- propagation ---------------------------------------------------------------------


def _propagation(trace_id: str, spans: list[dict], candidates: list[dict], requests: dict) -> list[dict]:
    findings = []
    children_of = {s["parent_span_id"] for s in spans if s.get("is_segment") and s.get("parent_span_id")}
    backend_endpoints = {(endpoint(request_url(c)) or (None,))[:2] for c in candidates}
    for client in (s for s in spans if is_client_request(s)):
        url = request_url(client)
        target = endpoint(url)
        if target is None or target[:2] not in backend_endpoints or client["span_id"] in children_of:
            continue
        # The backend did answer, on a trace of its own: find that request.
        start, end = _start(client), as_number(client.get("timestamp")) or 0.0
        twins = [
            c
            for c in candidates
            if c["trace_id"] != trace_id
            and endpoint(request_url(c)) == target
            and start - MATCH_SLACK <= _start(c) <= end + MATCH_SLACK
        ]
        twin = min(twins, key=lambda c: abs(_start(c) - start), default=None)
        headers = {str(k).lower(): v for k, v in as_dict(requests.get(twin["span_id"]) if twin else None).items()}
        if twin and "sentry-trace" in headers:
            cause = (
                f"the backend received sentry-trace {headers['sentry-trace']!r} "
                f"but started trace {twin['trace_id']} anyway"
            )
            fix = (
                "Make the backend continue incoming traces: use the SDK's framework integration (FastAPI/Starlette, "
                "Express) or call continue_trace()/continueTrace() with the incoming headers in custom middleware."
            )
        elif twin:
            cause = f"its request reached the backend (trace {twin['trace_id']}) without a sentry-trace header"
            fix = (
                f"Add the backend's origin to tracePropagationTargets in Sentry.init (e.g. "
                f"tracePropagationTargets: ['{origin(url)}']), and let the backend's CORS allow the headers "
                "sentry-trace and baggage (allow_headers), or the browser strips them."
            )
        else:
            cause = "no backend transaction for this request was received at all"
            fix = (
                f"Add {origin(url)} to tracePropagationTargets and allow sentry-trace and baggage in the backend's "
                "CORS allow_headers; check that the backend samples (traces_sample_rate) and continues traces."
            )
        findings.append(
            _finding(
                "unlinked_outgoing_request",
                trace_id,
                client["span_id"],
                _sdk(client),
                f"{client.get('description') or url}: no backend segment has this span as parent; {cause}.",
                fix,
                url=url,
                backend_trace_id=twin["trace_id"] if twin else None,
                backend_span_id=twin["span_id"] if twin else None,
                backend_request_headers={k: v for k, v in headers.items() if k in ("sentry-trace", "baggage")},
            )
        )
        if twin and not twin.get("parent_span_id"):
            findings.append(
                _finding(
                    "broken_trace_head",
                    twin["trace_id"],
                    twin["span_id"],
                    _sdk(twin),
                    f"backend segment {twin.get('description')!r} started a new trace although an instrumented client "
                    f"called it: {client.get('description') or url} (span {client['span_id']} on trace {trace_id}).",
                    fix,
                    client_trace_id=trace_id,
                    client_span_id=client["span_id"],
                    url=url,
                )
            )
    return findings


def _orphans(trace_id: str, spans: list[dict]) -> list[dict]:
    ids = {s["span_id"] for s in spans}
    findings = []
    for seg in spans:
        parent = seg.get("parent_span_id")
        if seg.get("is_segment") and parent and parent not in ids:
            findings.append(
                _finding(
                    "orphan_segment",
                    trace_id,
                    seg["span_id"],
                    _sdk(seg),
                    f"segment {seg.get('description')!r} ({_sdk(seg) or 'unknown sdk'}) names parent span {parent}, "
                    "which was never received.",
                    "The caller is not sampled, not instrumented with a Sentry SDK reporting here, or its envelope was "
                    "dropped (see its client reports, and that its DSN points at this collector).",
                    parent_span_id=parent,
                )
            )
    return findings


# --- users --------------------------------------------------------------------------


def _user_mismatch(trace_id: str, spans: list[dict]) -> list[dict]:
    segments = [s for s in spans if s.get("is_segment") and isinstance(s.get("user"), dict)]
    front = [s for s in segments if _category(s) in ("web", "mobile")]
    back = [s for s in segments if _category(s) == "backend"]
    findings = []
    for f in front:
        for b in back:
            differ = [
                k for k in ("id", "email") if f["user"].get(k) and b["user"].get(k) and f["user"][k] != b["user"][k]
            ]
            if differ:
                findings.append(
                    _finding(
                        "user_mismatch",
                        trace_id,
                        b["span_id"],
                        _sdk(b),
                        f"the {_category(f)} said the user was {_user_text(f['user'])} but the backend segment "
                        f"{b.get('description')!r} said {_user_text(b['user'])} ({', '.join(differ)} differ).",
                        "Set the backend's user after authentication (in the auth dependency or after the session is "
                        "resolved), not only in a middleware that runs before it; call Sentry.setUser again after "
                        "login and Sentry.setUser(null) at logout in the frontend.",
                        frontend_user=f["user"],
                        backend_user=b["user"],
                        frontend_span_id=f["span_id"],
                    )
                )
    return findings


def _anonymous_events(rows: list[dict]) -> list[dict]:
    """Rows (segments and errors) without a named user, counted per SDK and
    route, when someone could have named the user: the same SDK does so
    elsewhere, or another SDK does on the same trace (the frontend knew who
    it was, the backend did not)."""
    naming_sdks = {_sdk(r) for r in rows if not _anonymous(r.get("user"))}
    named_traces = {r["trace_id"] for r in rows if not _anonymous(r.get("user"))}
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        if _anonymous(r.get("user")) and (_sdk(r) in naming_sdks or r["trace_id"] in named_traces):
            groups[(_sdk(r), as_str(r.get("route")) or "?")].append(r)
    findings = []
    for (sdk, route), members in sorted(groups.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        example = members[0]
        tally = defaultdict(int)
        for m in members:
            tally[m["row_kind"]] += 1
        what = " and ".join(f"{n} {kind}{'' if n == 1 else 's'}" for kind, n in sorted(tally.items()))
        carried = f"only {_user_text(example['user'])}" if example.get("user") else "no user"
        findings.append(
            _finding(
                "anonymous_events",
                example["trace_id"],
                example.get("span_id"),
                sdk,
                f"{what} on {route!r} from {sdk} carry {carried}, although the user is named "
                + ("elsewhere by this SDK." if sdk in naming_sdks else "by another service on the same trace."),
                "Call setUser/set_user once the user is known on this route too: after login in the frontend, and in "
                "the backend after authentication (a middleware that runs before auth sets only the anonymous user).",
                count=len(members),
                route=route,
                examples=[m.get("event_id") or m.get("span_id") for m in members[:5]],
            )
        )
    return findings


# --- sampling -----------------------------------------------------------------------


def _sampled(value) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _sampling(trace_id: str, spans: list[dict], errors: list[dict]) -> list[dict]:
    findings = []
    segments = [s for s in spans if s.get("is_segment")]
    dscs = [(s, s["dsc"]) for s in segments if s.get("dsc") and isinstance(s["dsc"], dict)]
    for seg, dsc in dscs:
        if _sampled(dsc.get("sampled")) is False:
            findings.append(
                _finding(
                    "sampling",
                    trace_id,
                    seg["span_id"],
                    _sdk(seg),
                    f"segment {seg.get('description')!r} was sent although the trace's head decided not to sample it "
                    f"(sampled={dsc.get('sampled')}, sample_rate={dsc.get('sample_rate')}).",
                    "Let the backend follow the incoming sampling decision: remove a traces_sampler that ignores "
                    "parent_sampled, or use traces_sample_rate.",
                    dsc=dsc,
                )
            )
    rates = {str(dsc.get("sample_rate")) for _, dsc in dscs if dsc.get("sample_rate") is not None}
    if len(rates) > 1:
        seg = dscs[0][0]
        findings.append(
            _finding(
                "sampling",
                trace_id,
                seg["span_id"],
                None,
                "segments of this trace carry different sample rates in their dynamic sampling context "
                f"({', '.join(sorted(rates))}): "
                "the head's baggage did not reach every service.",
                "Propagate the baggage header with sentry-trace (tracePropagationTargets, CORS allow_headers: "
                "baggage).",
                rates=sorted(rates),
            )
        )
    head_sampled = any(_sampled(dsc.get("sampled")) for _, dsc in dscs)
    segment_sdks = {_sdk(s) for s in segments}
    for error in errors:
        if (
            head_sampled
            and _sdk(error)
            and _sdk(error) not in segment_sdks
            and service_category(_sdk(error), None) == "backend"
        ):
            findings.append(
                _finding(
                    "sampling",
                    trace_id,
                    error.get("span_id"),
                    _sdk(error),
                    f"{_sdk(error)} reported an error on this sampled trace but no transaction: it did not sample the "
                    "trace the frontend sampled.",
                    "Set traces_sample_rate (or a traces_sampler that honours parent_sampled) in that service.",
                    event_id=error["event_id"],
                )
            )
            segment_sdks.add(_sdk(error))
    return findings


def sampling_summary(spans: list[dict]) -> list[dict]:
    seen: dict[tuple, dict] = {}
    for s in spans:
        dsc = as_dict(s.get("dsc"))
        if not (s.get("is_segment") and dsc):
            continue
        entry = seen.setdefault(
            (_sdk(s), s.get("environment")),
            {
                "sdk": _sdk(s),
                "environment": s.get("environment"),
                "sample_rates": set(),
                "sampled": 0,
                "not_sampled": 0,
            },
        )
        if dsc.get("sample_rate") is not None:
            entry["sample_rates"].add(str(dsc["sample_rate"]))
        entry["sampled" if _sampled(dsc.get("sampled")) is not False else "not_sampled"] += 1
    return [{**e, "sample_rates": sorted(e["sample_rates"])} for e in seen.values()]


# --- silence ------------------------------------------------------------------------


def _silence(since: float | None, last_seen: list[dict], reports: list[dict]) -> list[dict]:
    findings = []
    if since is not None:
        for row in last_seen:
            if row["sdk_name"] and row["last_seen"] is not None and row["last_seen"] < since:
                findings.append(
                    _finding(
                        "sdk_silent",
                        None,
                        None,
                        row["sdk_name"],
                        f"{row['sdk_name']} sent {row['envelopes']} envelope(s) before, the last at "
                        f"{row['last_seen']:.0f}, and nothing in this window.",
                        "Check that the app is running with the DSN pointing at this collector (an emulator reaches "
                        "the "
                        "host as 10.0.2.2, and the collector must then listen on --host 0.0.0.0), and that the SDK's "
                        "debug option shows envelopes being sent.",
                        last_seen=row["last_seen"],
                    )
                )
    lost: dict[tuple, int] = defaultdict(int)
    for r in reports:
        if r["reason"] in LOSS_REASONS:
            lost[(r["sdk_name"], r["reason"], r["category"])] += as_int(r["quantity"]) or 0
    by_sdk: dict[str, dict] = defaultdict(dict)
    for (sdk, reason, category), quantity in lost.items():
        by_sdk[sdk][f"{reason}/{category}"] = quantity
    for sdk, counts in sorted(by_sdk.items(), key=lambda kv: str(kv[0])):
        findings.append(
            _finding(
                "sdk_silent",
                None,
                None,
                sdk,
                f"{sdk or 'an SDK'} reported dropping data: "
                + ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
                + ".",
                "network_error: the collector was unreachable (wrong DSN host/port, or CORS); ratelimit_backoff: it "
                "answered 429 (busy); queue_overflow/buffer_overflow: the app produces faster than the SDK sends.",
                dropped=counts,
            )
        )
    return findings


# --- all together ---------------------------------------------------------------------


def diagnose(data: dict) -> dict:
    """`data` from doctor_queries.doctor_rows(): traces (spans, errors), candidate
    backend segments, request headers, SDK last-seen and client reports."""
    findings: list[dict] = []
    anonymous_rows: list[dict] = []
    all_spans: list[dict] = []
    for trace_id, trace in data["traces"].items():
        spans, errors = trace["spans"], trace["errors"]
        all_spans += spans
        findings += _propagation(trace_id, spans, data["candidates"], data["requests"])
        findings += _orphans(trace_id, spans)
        findings += _user_mismatch(trace_id, spans)
        findings += _sampling(trace_id, spans, errors)
        anonymous_rows += [
            {**s, "row_kind": "transaction", "route": s.get("description"), "trace_id": trace_id}
            for s in spans
            if s.get("is_segment")
        ]
        anonymous_rows += [
            {**e, "row_kind": "error", "route": e.get("transaction"), "trace_id": trace_id} for e in errors
        ]
    findings += _anonymous_events(anonymous_rows)
    findings += _silence(data.get("since"), data.get("sdk_last_seen", []), data.get("client_reports", []))
    # broken_trace_head may be found from two client spans: keep one.
    unique, seen = [], set()
    for f in findings:
        key = (f["kind"], f["trace_id"], f["span_id"], f["detail"])
        if key not in seen:
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

"""Users: the frontend and backend naming different users on one trace, and
rows without a named user where someone could have named it."""

from __future__ import annotations

from collections import defaultdict

from ...protocol.jsonshape import as_str
from .evidence import anonymous, category, finding, sdk_of, user_text


def user_mismatch(trace_id: str, spans: list[dict]) -> list[dict]:
    segments = [s for s in spans if s.get("is_segment") and isinstance(s.get("user"), dict)]
    front = [s for s in segments if category(s) in ("web", "mobile")]
    back = [s for s in segments if category(s) == "backend"]
    findings = []
    for f in front:
        for b in back:
            differ = [
                k for k in ("id", "email") if f["user"].get(k) and b["user"].get(k) and f["user"][k] != b["user"][k]
            ]
            if differ:
                findings.append(
                    finding(
                        "user_mismatch",
                        trace_id,
                        b["span_id"],
                        sdk_of(b),
                        f"the {category(f)} said the user was {user_text(f['user'])} but the backend segment "
                        f"{b.get('description')!r} said {user_text(b['user'])} ({', '.join(differ)} differ).",
                        "Set the backend's user after authentication (in the auth dependency or after the session is "
                        "resolved), not only in a middleware that runs before it; call Sentry.setUser again after "
                        "login and Sentry.setUser(null) at logout in the frontend.",
                        frontend_user=f["user"],
                        backend_user=b["user"],
                        frontend_span_id=f["span_id"],
                    )
                )
    return findings


def anonymous_events(rows: list[dict]) -> list[dict]:
    """Rows (segments and errors) without a named user, counted per SDK and
    route, when someone could have named the user: the same SDK does so
    elsewhere, or another SDK does on the same trace (the frontend knew who
    it was, the backend did not)."""
    naming_sdks = {sdk_of(r) for r in rows if not anonymous(r.get("user"))}
    named_traces = {r["trace_id"] for r in rows if not anonymous(r.get("user"))}
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        if anonymous(r.get("user")) and (sdk_of(r) in naming_sdks or r["trace_id"] in named_traces):
            groups[(sdk_of(r), as_str(r.get("route")) or "?")].append(r)
    findings = []
    for (sdk, route), members in sorted(groups.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        example = members[0]
        tally = defaultdict(int)
        for m in members:
            tally[m["row_kind"]] += 1
        what = " and ".join(f"{n} {kind}{'' if n == 1 else 's'}" for kind, n in sorted(tally.items()))
        carried = f"only {user_text(example['user'])}" if example.get("user") else "no user"
        findings.append(
            finding(
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
                # Every trace the count covers, so each of their pages shows the finding.
                traces=sorted({str(m["trace_id"]) for m in members}),
            )
        )
    return findings

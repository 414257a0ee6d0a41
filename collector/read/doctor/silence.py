"""Silence: an SDK that sent before and stopped, or that reported losing data."""

from __future__ import annotations

from collections import defaultdict

from ...protocol.jsonshape import as_int
from .evidence import finding

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


def silence(since: float | None, last_seen: list[dict], reports: list[dict]) -> list[dict]:
    findings = []
    if since is not None:
        for row in last_seen:
            if row["sdk_name"] and row["last_seen"] is not None and row["last_seen"] < since:
                findings.append(
                    finding(
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
            finding(
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

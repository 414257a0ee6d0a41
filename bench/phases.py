"""The closed-loop and open-loop phases: the collector on a new file each
run, the do-nothing server and (with --peers) Spotlight's sidecar, given
the same bodies in turn; then what the collector stored is checked."""

from __future__ import annotations

import tempfile
from pathlib import Path

import openloop
import peers
import wrkload
from lookups import get_json
from servers import ROOT, running_baseline, running_collector

RESULTS = ROOT / "bench-results"
# Each stored transaction envelope is 21 spans (the root and 20 children).
SPANS_PER_TRANSACTION = 21


def stored(stats: dict) -> dict:
    return {"envelopes": stats["envelopes"], **{t: stats["rows"][t] for t in ("spans", "transactions", "events")}}


def durability(before: dict, after: dict, kind: str, ok: int, in_flight: int) -> dict:
    """wrk counts answers, not which request got which: every 200 is durable
    when at least `ok` more envelopes are stored, at most the requests still
    in flight when wrk stopped beyond that, and every one whole (21 spans a
    transaction, one event an error)."""
    got = {t: after[t] - before[t] for t in after}
    n = got["envelopes"]
    whole = (
        got["transactions"] == n and got["spans"] == SPANS_PER_TRANSACTION * n and got["events"] == 0
        if kind == "transaction"
        else got["events"] == n and got["spans"] == 0
    )
    return {"stored": got, "durable": ok <= n <= ok + in_flight and whole}


def spans_queryable(url: str, kind: str, sample: int = 20) -> bool:
    """The newest traces each give back all their spans through the API."""
    if kind != "transaction":
        return True
    traces = get_json(f"{url}/api/traces?limit={sample}")["traces"]
    return bool(traces) and all(
        len(get_json(f"{url}/api/traces/{t['trace_id']}")["spans"]) == SPANS_PER_TRANSACTION for t in traces
    )


def collector_closed(kind: str, seconds: float, extra: list[str] | tuple[str, ...] = ()) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, running_collector(Path(tmp) / "bench.db", extra) as s:
        before = stored(get_json(s.url + "/api/stats"))
        result = wrkload.run_wrk(s, kind, seconds, readers=kind == "transaction")
        stats = get_json(s.url + "/api/stats")
        result.update(durability(before, stored(stats), kind, result["ok"], wrkload.CONNECTIONS))
        result["spans_queryable"] = spans_queryable(s.url, kind)
        result["rejections"] = stats["rejections"]
    return result


def baseline_closed(kind: str, seconds: float) -> dict:
    with running_baseline() as server:
        return wrkload.run_wrk(server, kind, seconds)


def spotlight_closed(kind: str, seconds: float) -> dict:
    with peers.running_spotlight() as server:
        return wrkload.run_wrk(server, kind, seconds)


def open_loop(kind: str, rate: float, seconds: float) -> dict:
    """The collector at a fixed `rate`; its 250 ms windows go to bench-results/."""
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        db = Path(tmp) / "bench.db"
        with running_collector(db) as server:
            result = openloop.run_open_loop(server, kind, rate, seconds, db)
    rows = result.pop("windows")
    out = RESULTS / f"open-loop-{kind}.csv"
    openloop.write_windows(out, rows)
    result["windows_file"] = str(out.relative_to(ROOT))
    result["worst_windows"] = openloop.worst(rows)
    return result

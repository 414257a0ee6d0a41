"""Medians of the runs, the targets of issues 5 and 17 with PASS/FAIL, and
the report printed at the end of `make bench`."""

from __future__ import annotations

import os
import statistics

INF = float("inf")


def median(runs: list[dict], key: str) -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def paired_ratio(runs: list[dict], against: list[dict]) -> float | None:
    """Each run against the one measured right after it on the same bodies:
    the machine's noise hits both alike."""
    pairs = [(a["envelopes_per_s"], b["envelopes_per_s"]) for a, b in zip(runs, against, strict=False)]
    return statistics.median(a / b for a, b in pairs if b) if pairs else None


def summarize(closed: dict[str, list[dict]]) -> dict:
    """`closed` maps "collector", "baseline" and maybe "spotlight" to runs of one kind."""
    out: dict = {}
    for server, runs in closed.items():
        out[server] = {
            k: median(runs, k)
            for k in (
                "envelopes_per_s", "p50_ms", "p99_ms", "server_cpu_pct", "loadgen_cpu_pct",
                "server_us_per_envelope", "writer_us_per_envelope", "reader_p99_ms", "max_rss_mb",
            )
        }  # fmt: skip
    c, b, s = closed["collector"], closed["baseline"], closed.get("spotlight")
    out["ratio"] = paired_ratio(c, b)
    if s:
        out["spotlight_ratio"] = paired_ratio(s, b)
        out["collector_vs_spotlight"] = paired_ratio(c, s)
    out["durable"] = all(r["durable"] for r in c)
    out["spans_queryable"] = all(r["spans_queryable"] for r in c)
    out["non_200"] = sum(r["not_ok"] + r["socket_errors"] for r in c)
    return out


def fmt_ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} ms"


def ingest_rows(results: dict) -> list[tuple[str, str, bool | None]]:
    rows: list[tuple[str, str, bool | None]] = []
    for kind, name in (("transaction", "transactions"), ("error", "errors")):
        s = results["summary"][kind]
        c, b = s["collector"], s["baseline"]
        rows += [
            (
                f"{name}: ratio to do-nothing aiohttp ≥ 0.4",
                f"{s['ratio']:.2f} ({c['envelopes_per_s']:,.0f} vs {b['envelopes_per_s']:,.0f}/s)",
                s["ratio"] >= 0.4,
            ),
            (
                f"{name} closed-loop p99 < 25 ms",
                f"{fmt_ms(c['p99_ms'])} (p50 {fmt_ms(c['p50_ms'])})",
                (c["p99_ms"] or INF) < 25,
            ),
        ]
        if "spotlight" in s:
            sp = s["spotlight"]
            rows += [
                (
                    f"{name}: Spotlight's ratio to do-nothing (info)",
                    f"{s['spotlight_ratio']:.2f} ({sp['envelopes_per_s']:,.0f}/s, p99 {fmt_ms(sp['p99_ms'])})",
                    None,
                ),
                (
                    f"{name}: collector / Spotlight ≥ 1",
                    f"{s['collector_vs_spotlight']:.2f}",
                    s["collector_vs_spotlight"] >= 1,
                ),
            ]
        o = results.get("open_loop", {}).get(kind)
        if o:
            rows.append(
                (
                    f"{name} open-loop p99 < 25 ms at {o['rate']:,.0f}/s",
                    f"{fmt_ms(o['p99_ms'])} (p50 {fmt_ms(o['p50_ms'])}, {o['not_ok']} not 200)",
                    (o["p99_ms"] or INF) < 25 and not o["not_ok"],
                )
            )
    tx, err = results["summary"]["transaction"], results["summary"]["error"]
    durable = tx["durable"] and err["durable"]
    rss = max(tx["collector"]["max_rss_mb"] or 0, err["collector"]["max_rss_mb"] or 0)
    readers = tx["collector"]["reader_p99_ms"] or INF
    rows += [
        ("every 200 durable", "yes" if durable else "NO", durable),
        ("every span queryable", "yes" if tx["spans_queryable"] else "NO", tx["spans_queryable"]),
        ("server memory < 200 MB (PSS, all processes)", f"{rss:.0f} MB", rss < 200),
        ("readers p99 < 100 ms under tx load", fmt_ms(readers), readers < 100),
    ]
    return rows


def lookup_rows(sc: dict) -> list[tuple[str, str, bool | None]]:
    api, page = sc["trace_api_10k_spans"]["server_ms"], sc["trace_page_10k_spans"]["server_ms"]
    small, large = sc["lookup_small"]["server_ms"], sc["lookup_large"]["server_ms"]
    rows = [
        ("10k-span trace: API server time < 300 ms", f"{api:.0f} ms", api < 300),
        ("10k-span trace: page server time < 300 ms", f"{page:.0f} ms", page < 300),
    ]
    browser = sc.get("trace_page_browser")
    if browser:
        mb = browser["bytes"] / 1e6
        rows += [
            ("10k-span trace page: HTML+JSON < 2 MB", f"{mb:.2f} MB", mb < 2),
            (
                "10k-span trace page: ready to scroll in Chromium < 1 s",
                f"{browser['ready_ms']:.0f} ms",
                browser["ready_ms"] < 1000,
            ),
        ]
    rows.append(
        (
            f"lookup at {sc['spans_large']:,} / {sc['spans_small']:,} spans ≤ 1.5",
            f"{sc['lookup_ratio']:.2f} ({large:.2f} / {small:.2f} ms)",
            sc["lookup_ratio"] <= 1.5,
        )
    )
    return rows


def targets(results: dict) -> list[tuple[str, str, bool | None]]:
    rows = ingest_rows(results) if "summary" in results else []
    if "scaling" in results:
        rows += lookup_rows(results["scaling"])
    return rows


def print_targets(results: dict, rows: list[tuple[str, str, bool | None]]) -> None:
    runs = results["runs"]
    width = max(len(t) for t, _, _ in rows)
    print(f"\n{'target':<{width}}  {f'measured (median of {runs})' if runs > 1 else 'measured':<44}  result")
    for target, measured, ok in rows:
        print(f"{target:<{width}}  {measured:<44}  {'' if ok is None else 'PASS' if ok else 'FAIL'}")
    print()
    for kind, s in results.get("summary", {}).items():
        c, b = s["collector"], s["baseline"]
        print(
            f"{kind}: CPU per envelope: server {c['server_us_per_envelope']:.0f} µs, writer "
            f"{c['writer_us_per_envelope']:.0f} µs (baseline {b['server_us_per_envelope']:.0f} µs); "
            f"wrk used {c['loadgen_cpu_pct']:.0f}% of a core on the collector, {b['loadgen_cpu_pct']:.0f}% on the "
            f"baseline (server {b['server_cpu_pct']:.0f}%)" + (f"; {s['non_200']} not 200" if s["non_200"] else "")
        )
    for kind, o in results.get("open_loop", {}).items():
        print(
            f"open loop {kind}: {o['processes']} pacing processes used {o['loadgen_cpu_pct']:.0f}% of a core, "
            f"started sends p99 {fmt_ms(o['client_late_p99_ms'])} late, then waited p99 "
            f"{fmt_ms(o['connection_wait_p99_ms'])} for a connection; worst 250 ms windows ({o['windows_file']}):"
        )
        for w in o["worst_windows"]:
            print(
                f"  t={w['t']:.2f}s n={w['count']} p99 {w['p99_ms']} ms max {w['max_ms']} ms, WAL "
                f"{(w['wal_bytes'] or 0) / 1e6:.1f} MB, CPU server {w['server_cpu_s']} s writer {w['writer_cpu_s']} s"
            )
    print(f"{os.cpu_count()} CPUs; envelope sizes {results['envelope_bytes']} bytes")

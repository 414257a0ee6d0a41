"""`collector doctor`: why traces did not link, read straight from the file."""

from __future__ import annotations

import os
import sqlite3
import sys
import time

import orjson

from ..forward import pending
from ..read import doctor
from ..read.doctor import queries as doctor_queries
from ..storage import schema
from . import db_option, main, option


@main.command("doctor")
@db_option
@option("--since", default="1h", metavar="WINDOW", help="Window: 15m, 1h, 2d…")
@option("--trace", metavar="TRACE_ID", help="Check one trace id instead of a window.")
@option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def doctor_command(db: str, since: str, trace: str | None, as_json: bool) -> None:
    """Explain why traces did not link, which events are anonymous, which SDK went quiet.

    Exits 1 when it found something, 2 when it could not check.
    """
    if not os.path.exists(db):
        print(f"error: no database at {db}; run `collector serve` first, or pass --db PATH", file=sys.stderr)
        sys.exit(2)
    try:
        start = None if trace else doctor.parse_since(since, time.time())
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    conn = schema.connect(db, readonly=True)
    conn.row_factory = sqlite3.Row
    try:
        report = doctor.diagnose(doctor_queries.doctor_rows(conn, start, trace.lower() if trace else None))
        outbox = pending.pending_counts(conn)
    finally:
        conn.close()
    if as_json:
        print(orjson.dumps({**report, "forwarding_pending": outbox}, option=orjson.OPT_INDENT_2).decode())
    else:
        scope = f"trace {trace}" if trace else f"the last {since}"
        _print_report(report, f"{scope} of {os.path.abspath(db)}", sys.stdout.isatty())
        _print_forwarding(outbox, time.time())
    sys.exit(1 if report["findings"] else 0)


def _print_report(report: dict, scope: str, colour: bool) -> None:
    def paint(code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if colour else text

    print(f"collector doctor: checked {report['summary']['traces_checked']} trace(s) in {scope}")
    if not report["findings"]:
        print(paint("32", "no problems found: traces link, users are named, SDKs are sending."))
        return
    for f in report["findings"]:
        where = f" trace {f['trace_id']}" if f["trace_id"] else ""
        where += f" span {f['span_id']}" if f["span_id"] else ""
        print()
        print(paint("1;33", f["kind"]) + (f" [{f['sdk']}]" if f["sdk"] else "") + where)
        print("  " + f["detail"])
        print("  " + paint("36", "fix: ") + f["fix"])
    counts = ", ".join(f"{n} {k}" for k, n in sorted(report["summary"]["findings_by_kind"].items()))
    print()
    print(paint("1;31", f"{len(report['findings'])} finding(s): {counts}.") + " Details: --json, or the /doctor page.")


def _print_forwarding(outbox: dict[str, dict], now: float) -> None:
    """What waits in the outbox (`serve --forward`): the file knows what is
    pending; what was forwarded and the last error are the running
    collector's (/api/stats)."""
    for destination, found in sorted(outbox.items()):
        age = now - (found["oldest"] or now)
        print(
            f"forwarding: {found['pending']} envelope(s) ({found['pending_bytes'] // 1024} KB) waiting for "
            f"{destination}, the oldest {age / 60:.0f} min old; forwarded, dropped and the last error: "
            "/api/stats of the running collector"
        )

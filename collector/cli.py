"""The `collector` command."""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import os
import signal
import sqlite3
import sys
import time

import orjson
from aiohttp import web

from .web import connections
from .read import doctor
from .read import queries
from .storage import schema
from .app import SERVER_ARGS, create_app
from .storage.lockfile import DatabaseInUse
from .storage.writer import StartFailed, tune_gc

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8969
DEFAULT_DB = "collector.db"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def _serve_args(sub) -> None:
    p = sub.add_parser("serve", help="receive Sentry SDK data and serve the trace view")
    p.add_argument("--host", default=os.environ.get("COLLECTOR_HOST", DEFAULT_HOST), help="interface to bind (env COLLECTOR_HOST; default %(default)s)")
    p.add_argument("--port", type=int, default=int(os.environ.get("COLLECTOR_PORT", DEFAULT_PORT)), help="port (env COLLECTOR_PORT; default %(default)s)")
    p.add_argument("--db", default=os.environ.get("COLLECTOR_DB", DEFAULT_DB), help="SQLite file (env COLLECTOR_DB; default ./%(default)s)")
    p.add_argument(
        "--allow-host",
        action="append",
        default=[h for h in os.environ.get("COLLECTOR_ALLOWED_HOSTS", "").split(",") if h],
        help="another Host name the UI and API answer to, e.g. a LAN name (repeatable; env COLLECTOR_ALLOWED_HOSTS, comma-separated)",
    )
    p.add_argument(
        "--keep-bodies",
        action="store_true",
        default=os.environ.get("COLLECTOR_KEEP_BODIES", "") not in ("", "0"),
        help="also store every request body exactly as received, to see byte for byte what an SDK sent (env COLLECTOR_KEEP_BODIES=1; costs about 15%% of ingest speed)",
    )
    p.add_argument(
        "--durability",
        choices=sorted(schema.DURABILITY),
        default=os.environ.get("COLLECTOR_DURABILITY", "normal"),
        help="normal: an acknowledged envelope survives the collector being killed; full: also a power cut or OS crash, "
        "with an fsync per commit (env COLLECTOR_DURABILITY; default %(default)s)",
    )
    connections.add_arguments(p)


async def _serve(
    host: str, port: int, db: str, allow_hosts: list[str], keep_bodies: bool, durability: str, max_connections: int
) -> None:
    shown = f"[{host}]" if ":" in host else host
    app = create_app(
        db, bound_host=host, allow_hosts=allow_hosts, keep_bodies=keep_bodies, durability=durability,
        owner=f"serving http://{shown}:{port}/",
    )
    tune_gc()
    runner = web.AppRunner(app, **SERVER_ARGS)
    try:
        await runner.setup()
    except (DatabaseInUse, StartFailed) as e:
        raise SystemExit(f"error: {e}") from None
    try:
        await connections.listen(runner, host, port, max_connections)
    except OSError as e:
        await runner.cleanup()
        if e.errno == errno.EADDRINUSE:
            raise SystemExit(f"error: port {port} on {host} is in use (another collector?). Stop it, or pick another port with --port or COLLECTOR_PORT.")
        raise SystemExit(f"error: cannot listen on {host}:{port}: {e.strerror}")
    extras = [", request bodies included (--keep-bodies)" if keep_bodies else "", ", every commit synced to disk (--durability full)" if durability == "full" else ""]
    print(f"collector: storing in {os.path.abspath(db)}" + "".join(extras))
    print(f"collector: paste this DSN into your SDKs:  http://anykey@{shown}:{port}/1")
    print(f"collector: trace view:                     http://{shown}:{port}/")
    if host not in LOCAL_HOSTS:
        print(f"collector: WARNING: listening on {host}, not loopback: anyone who can reach this port can read your users' emails and IPs.", file=sys.stderr)
    print("collector: Ctrl-C to stop", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    print("collector: stopping; committing what was acknowledged…", flush=True)
    await runner.cleanup()
    print("collector: stopped", flush=True)


def _doctor_args(sub) -> None:
    p = sub.add_parser("doctor", help="explain why traces did not link, which events are anonymous, which SDK went quiet")
    p.add_argument("--db", default=os.environ.get("COLLECTOR_DB", DEFAULT_DB), help="SQLite file (env COLLECTOR_DB; default ./%(default)s)")
    p.add_argument("--since", default="1h", help="window: 15m, 1h, 2d… (default %(default)s)")
    p.add_argument("--trace", help="check one trace id instead of a window")
    p.add_argument("--json", action="store_true", help="print the report as JSON")


def _doctor(args) -> int:
    if not os.path.exists(args.db):
        print(f"error: no database at {args.db}; run `collector serve` first, or pass --db PATH", file=sys.stderr)
        return 2
    try:
        since = None if args.trace else doctor.parse_since(args.since, time.time())
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    conn = schema.connect(args.db, readonly=True)
    conn.row_factory = sqlite3.Row
    report = doctor.diagnose(queries.doctor_rows(conn, since, args.trace.lower() if args.trace else None))
    conn.close()
    if args.json:
        print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
    else:
        _print_report(report, args, sys.stdout.isatty())
    return 1 if report["findings"] else 0


def _print_report(report: dict, args, colour: bool) -> None:
    def paint(code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if colour else text

    scope = f"trace {args.trace}" if args.trace else f"the last {args.since}"
    print(f"collector doctor: checked {report['summary']['traces_checked']} trace(s) in {scope} of {os.path.abspath(args.db)}")
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="collector", description="A local, Sentry-compatible envelope collector.")
    sub = parser.add_subparsers(dest="command", required=True)
    _serve_args(sub)
    _doctor_args(sub)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="collector: %(levelname)s %(name)s: %(message)s")
    if args.command == "doctor":
        return _doctor(args)
    asyncio.run(_serve(args.host, args.port, args.db, args.allow_host, args.keep_bodies, args.durability, args.max_connections))
    return 0


if __name__ == "__main__":
    sys.exit(main())

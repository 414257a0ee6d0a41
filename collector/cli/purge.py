"""`collector purge`: delete old traces (or one, or all) and give the space back.

When a collector is running on the file, its own writer does the deleting
(POST /api/purge, the URL read from the file's lock): the file keeps a
single writer, and ingest waits only a few milliseconds per batch. When
none is, this command takes the lock and runs the same chores itself.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
import urllib.error
import urllib.request

import click
import orjson

from ..storage import chores, lockfile, retention_task, schema
from ..storage.lockfile import DatabaseInUse
from . import db_option, main, option


class Duration(click.ParamType):
    """Seconds of a duration written 7d, 12h, 30m, 90s or 2w."""

    name = "duration"

    def convert(self, value, param, ctx) -> float:
        if isinstance(value, float):
            return value
        try:
            return retention_task.parse_duration(value)
        except ValueError as e:
            self.fail(str(e), param, ctx)


class Size(click.ParamType):
    """Bytes of a size written 1GB, 500MB, 2GiB."""

    name = "size"

    def convert(self, value, param, ctx) -> int:
        if isinstance(value, int):
            return value
        try:
            return retention_task.parse_size(value)
        except ValueError as e:
            self.fail(str(e), param, ctx)


@main.command("purge")
@db_option
@option("--older-than", type=Duration(), metavar="AGE", help="Delete traces started more than AGE ago: 2d, 12h…")
@option("--trace", "trace_id", metavar="TRACE_ID", help="Delete one trace.")
@option("--all", "everything", is_flag=True, help="Delete everything stored.")
@option("--vacuum", is_flag=True, help="Rewrite the file (collector stopped) so later deletes give space back.")
@option("--yes", is_flag=True, help="Do not ask for confirmation.")
def purge_command(db, older_than, trace_id, everything, vacuum, yes) -> None:
    """Delete traces with their events, logs, replays and attachments, and give the space back."""
    chosen = [
        name for name, given in (("--older-than", older_than), ("--trace", trace_id), ("--all", everything)) if given
    ]
    if len(chosen) > 1 or not (chosen or vacuum):
        raise click.UsageError("say what to delete: one of --older-than AGE, --trace TRACE_ID or --all (or --vacuum)")
    if not os.path.exists(db):
        raise click.ClickException(f"no database at {db}; pass --db PATH")
    what = {"before": time.time() - older_than} if older_than else {"trace_id": trace_id} if trace_id else {}
    if everything:
        what = {"everything": True}
    if what and not yes and sys.stdin.isatty():
        click.confirm(f"Delete {describe(what)} from {os.path.abspath(db)}?", abort=True)
    url = running_collector(db)
    if url is not None:
        if vacuum:
            raise click.ClickException(f"a collector serving {url} holds {db}: stop it first, VACUUM rewrites the file")
        report = purge_through(url, what) if what else None
    else:
        report = purge_here(db, what, vacuum)
    if report is not None:
        click.echo(summary(report))


def describe(what: dict) -> str:
    if "trace_id" in what:
        return f"trace {what['trace_id']}"
    if "before" in what:
        return f"every trace started before {time.strftime('%Y-%m-%d %H:%M', time.localtime(what['before']))}"
    return "everything"


def running_collector(db: str) -> str | None:
    """The URL of the collector holding `db`'s lock, None when none runs."""
    try:
        lockfile.acquire(db, "collector purge, checking").release()
    except DatabaseInUse as e:
        match = re.search(r"serving (http://\S+?/)\)", str(e))
        if match is None:
            raise click.ClickException(f"{e}; it says no URL to ask it to purge") from None
        return match[1]
    return None


def purge_through(url: str, what: dict) -> dict:
    body = {"all": True} if what.get("everything") else {k: v for k, v in what.items()}
    request = urllib.request.Request(
        url + "api/purge", data=orjson.dumps(body), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=3600) as response:
            return orjson.loads(response.read())
    except urllib.error.HTTPError as e:
        detail = e.read().decode(errors="replace")
        raise click.ClickException(f"the collector at {url} answered {e.code}: {detail}") from None
    except urllib.error.URLError as e:
        raise click.ClickException(f"could not reach the collector at {url}: {e.reason}") from None


def purge_here(db: str, what: dict, vacuum: bool) -> dict | None:
    """The chores run on the file itself, under its lock."""
    try:
        lock = lockfile.acquire(db, "collector purge")
    except DatabaseInUse as e:
        raise click.ClickException(str(e)) from None
    conn = schema.connect(db)
    try:
        if vacuum:
            click.echo(vacuumed(conn))
        if not what:
            return None

        async def run(name, *args):
            return chores.run(conn, name, args)

        report = asyncio.run(retention_task.purge(run, db, **what))
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return report.__dict__
    finally:
        conn.close()
        lock.release()


def vacuumed(conn) -> str:
    before = sum(retention_task.file_bytes(conn))
    conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
    conn.execute("VACUUM")
    return f"rewrote the file: {mb(before)} → {mb(sum(retention_task.file_bytes(conn)))}; deletes now give space back"


def mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def summary(report: dict) -> str:
    rows = ", ".join(f"{table} {n}" for table, n in sorted(report["rows"].items())) or "no rows"
    return (
        f"deleted {report['traces']} trace(s): {rows}\n"
        f"file: {mb(report['bytes_before'])} → {mb(report['bytes_after'])} "
        f"({mb(max(0, report['bytes_before'] - report['bytes_after']))} given back)"
    )

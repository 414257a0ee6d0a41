"""`collector export TRACE_ID`: a trace's envelopes as one file to share.

Read straight from the SQLite file (`--db`, the default), or from a running
collector (`--url`, the trace page's download): the same bytes either way.
`collector import` (or any Sentry-compatible envelope endpoint, envelope by
envelope) takes the file back.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.parse
import urllib.request

import click

from ..read import export
from ..storage import schema
from . import db_option, main, option

# Far above any trace: a running collector answers within seconds.
URL_TIMEOUT = 120


def _from_db(db: str, trace_id: str) -> tuple[str, bytes] | None:
    if not os.path.exists(db):
        raise click.ClickException(f"no database at {db}; run `collector serve` first, or pass --db PATH or --url URL")
    conn = schema.connect(db, readonly=True)
    try:
        return export.export_trace(conn, trace_id)
    finally:
        conn.close()


def _from_url(url: str, trace_id: str) -> tuple[str, bytes] | None:
    target = f"{url.rstrip('/')}/api/traces/{urllib.parse.quote(trace_id, safe='')}/export"
    try:
        with urllib.request.urlopen(target, timeout=URL_TIMEOUT) as answer:
            return trace_id, answer.read()
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise click.ClickException(
            f"{target} answered {e.code}: {e.headers.get('X-Sentry-Error') or e.reason}"
        ) from None
    except (urllib.error.URLError, OSError) as e:
        raise click.ClickException(f"cannot reach a collector at {url}: {e}") from None


@main.command("export")
@click.argument("trace_id")
@option("--out", metavar="FILE", help="Write here instead of trace-<id>.envelopes ('-' for stdout).")
@db_option
@option("--url", metavar="URL", help="Ask this running collector instead of reading --db.")
def export_command(trace_id: str, out: str | None, db: str, url: str | None) -> None:
    """Write a trace's envelopes (spans, errors, logs, replays, attachments) to one file.

    `collector import FILE` loads it into another collector: a colleague sees the same trace.
    """
    found = _from_url(url, trace_id) if url else _from_db(db, trace_id)
    if found is None:
        where = url or os.path.abspath(db)
        raise click.ClickException(f"no trace {trace_id} stored in {where}")
    stored_id, body = found
    if out == "-":
        sys.stdout.buffer.write(body)
        return
    path = out or export.file_name(stored_id)
    with open(path, "wb") as file:
        file.write(body)
    click.echo(f"collector: wrote trace {stored_id} ({len(body):,} bytes) to {path}", err=True)
    click.echo(f"collector: load it elsewhere with: collector import {path} --url URL", err=True)

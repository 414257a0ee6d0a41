"""`collector import FILE_OR_DIR`: load envelopes into a running collector.

FILE is what `collector export` (or the trace page's download) wrote: a
file of envelopes, cut apart by `protocol.envelope_files.split`. A
directory holds raw envelopes, one a file (bodies an SDK sent, as
`--keep-bodies` or Spotlight keep them), posted in name order as they are.
Each envelope goes to the collector's envelope endpoint on its own: one it
refuses is reported with the collector's reason, and the rest still go.
"""

from __future__ import annotations

import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import click
import orjson

from ..protocol.envelope_files import split
from . import main, option
from .tail import DEFAULT_URL

TIMEOUT = 60
# A collector whose write queue is full answers 429 or 503 with Retry-After:
# the import waits (at most this long each time) and tries again.
MAX_RETRIES = 5
MAX_WAIT = 10.0
# Magic numbers of the compressed bodies SDKs send, for raw files kept as sent.
ENCODINGS = {b"\x1f\x8b": "gzip", b"\x28\xb5\x2f\xfd": "zstd"}
# The key an envelope without a `dsn` header is sent with: a local collector takes any.
IMPORT_KEY = "collector-import"


class NoCollector(click.ClickException):
    pass


@dataclass
class Outcome:
    imported: int = 0
    refused: list[str] = field(default_factory=list)


def envelopes_in(path: Path) -> list[tuple[str, bytes]]:
    """(name, bytes) of each envelope: the files of a directory, or the envelopes of a file."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        return [(p.name, p.read_bytes()) for p in files]
    return [(f"{path.name} #{n}", body) for n, body in enumerate(split(path.read_bytes()), 1)]


def destination(body: bytes, project: str) -> tuple[str, dict]:
    """The project to post to and the auth headers: those of the envelope's
    `dsn` when it has one (the collector takes it as a tunnel), else `project`
    with a placeholder key."""
    first = body.split(b"\n", 1)[0]
    try:
        headers = orjson.loads(first)
    except orjson.JSONDecodeError:
        headers = None
    dsn = headers.get("dsn") if isinstance(headers, dict) else None
    if isinstance(dsn, str):
        dsn_project = urllib.parse.urlsplit(dsn).path.rstrip("/").rsplit("/", 1)[-1]
        if dsn_project.isdigit():
            return dsn_project, {}
    return project, {
        "X-Sentry-Auth": f"Sentry sentry_key={IMPORT_KEY}, sentry_version=7, sentry_client=collector-import"
    }


def _request(url: str, body: bytes, project: str) -> urllib.request.Request:
    project, headers = destination(body, project)
    headers["Content-Type"] = "application/x-sentry-envelope"
    encoding = ENCODINGS.get(body[:2]) or ENCODINGS.get(body[:4])
    if encoding:
        headers["Content-Encoding"] = encoding
    return urllib.request.Request(f"{url}/api/{project}/envelope/", data=body, headers=headers, method="POST")


def _wait(answer: urllib.error.HTTPError) -> float:
    try:
        wait = float(answer.headers.get("Retry-After") or 1)
    except ValueError:
        wait = 1.0
    return min(max(wait, 0.1), MAX_WAIT)


def post(url: str, body: bytes, project: str) -> str | None:
    """Posts one envelope; None when stored, else why the collector refused it."""
    refused = "not sent"
    for _ in range(MAX_RETRIES):
        try:
            with urllib.request.urlopen(_request(url, body, project), timeout=TIMEOUT):
                return None
        except urllib.error.HTTPError as e:
            refused = f"{e.code}: {e.headers.get('X-Sentry-Error') or e.reason}"
            if e.code not in (429, 503):
                return refused
            time.sleep(_wait(e))
        except (urllib.error.URLError, ConnectionError) as e:
            raise NoCollector(f"cannot reach a collector at {url}: {e}; start one with `collector serve`") from None
    return f"{refused} (still refused after {MAX_RETRIES} tries)"


def _progress(done: int, total: int, tty: bool) -> None:
    if tty:
        print(f"\rcollector import: {done}/{total}", end="", file=sys.stderr, flush=True)
    elif done == total or done % 100 == 0:
        print(f"collector import: {done}/{total}", file=sys.stderr, flush=True)


def load(url: str, envelopes: list[tuple[str, bytes]], project: str, tty: bool = False) -> Outcome:
    outcome = Outcome()
    for done, (name, body) in enumerate(envelopes, 1):
        refused = post(url, body, project)
        if refused is None:
            outcome.imported += 1
        else:
            outcome.refused.append(f"{name}: refused {refused}")
            print(("\n" if tty else "") + f"collector import: {name}: refused {refused}", file=sys.stderr)
        _progress(done, len(envelopes), tty)
    if tty:
        print(file=sys.stderr)
    return outcome


@main.command("import")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@option("--url", envvar="COLLECTOR_URL", default=DEFAULT_URL, metavar="URL", help="The running collector.")
@option("--project", default="1", metavar="ID", help="Project of envelopes whose header names no dsn.")
def import_command(source: Path, url: str, project: str) -> None:
    """Load a file of envelopes (`collector export`) or a directory of raw envelopes into a collector.

    Exits 1 when the collector refused some of them (each is listed with the reason).
    """
    url = url.rstrip("/")
    envelopes = envelopes_in(source)
    if not envelopes:
        raise click.ClickException(f"no envelopes in {source}")
    outcome = load(url, envelopes, project, sys.stderr.isatty())
    total = len(envelopes)
    print(f"collector import: {outcome.imported} of {total} envelopes stored in {url}", file=sys.stderr)
    if outcome.refused:
        print(f"collector import: {len(outcome.refused)} refused:", file=sys.stderr)
        for line in outcome.refused:
            print(f"  {line}", file=sys.stderr)
        sys.exit(1)

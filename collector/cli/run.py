"""`collector run -- CMD…`: the developer's command, its SDKs pointed at
this collector and its output stored as logs, with no change to its code.

The command gets SENTRY_DSN and the framework variants of it, a sample rate
of 1 and environment `development`; its stdout and stderr pass through to
the terminal byte for byte, and each line is also posted to the collector
as a log of that service, in batches. When no collector answers, one is
started for the duration of the command.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import urlopen

import aiohttp
import click

from ..protocol.urls import LOOPBACK_NAMES
from . import db_option, main, option
from .run_logs import BATCH, LineSplitter, log_envelope, log_record, service_name, text_of
from .tail import DEFAULT_URL

DSN_VARIABLES = (
    "SENTRY_DSN",
    "NEXT_PUBLIC_SENTRY_DSN",
    "VITE_SENTRY_DSN",
    "EXPO_PUBLIC_SENTRY_DSN",
    "REACT_APP_SENTRY_DSN",
)
ENVIRONMENT = "development"
# Holds the sitecustomize.py that makes sentry-sdk read SENTRY_TRACES_SAMPLE_RATE.
PYTHONPATH_DIR = Path(__file__).resolve().parent / "pythonpath"
SHIP_INTERVAL = 0.5
START_TIMEOUT = 15


def dsn_for(url: str) -> str:
    """The DSN of the collector at `url` (any key is accepted; project 1)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://collector-run@{parts.netloc}{parts.path.rstrip('/')}/1"


def child_environment(url: str, environ: dict) -> dict:
    """The command's environment: every DSN variable pointed here; rate and
    environment unless the developer set them; PYTHONPATH led by our
    sitecustomize, the existing path kept after it."""
    env = dict(environ)
    for name in DSN_VARIABLES:
        env[name] = dsn_for(url)
    env.setdefault("SENTRY_TRACES_SAMPLE_RATE", "1")
    env.setdefault("SENTRY_ENVIRONMENT", ENVIRONMENT)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PYTHONPATH_DIR), environ.get("PYTHONPATH")) if p)
    # Through a pipe Python buffers its output in blocks: lines would reach
    # the terminal and the collector only when the buffer fills or it exits.
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


class LogShipper:
    """Posts the command's lines to the collector every SHIP_INTERVAL; when
    the collector cannot take them, says so once and drops them, never
    holding up the command."""

    def __init__(self, session: aiohttp.ClientSession, url: str, service: str, environment: str):
        self.session, self.service, self.environment = session, service, environment
        self.endpoint = f"{url}/api/1/envelope/"
        self.pending: list[dict] = []
        self.failed = False

    def add(self, line: bytes, stream: str) -> None:
        text = text_of(line)
        if text.strip():
            self.pending.append(log_record(text, stream, self.service, self.environment))

    async def every_interval(self) -> None:
        while True:
            await asyncio.sleep(SHIP_INTERVAL)
            await self.ship()

    async def ship(self) -> None:
        while self.pending:
            batch, self.pending = self.pending[:BATCH], self.pending[BATCH:]
            await self._post(log_envelope(batch))

    async def _post(self, body: bytes) -> None:
        headers = {"X-Sentry-Auth": "Sentry sentry_key=collector-run, sentry_version=7"}
        try:
            async with self.session.post(self.endpoint, data=body, headers=headers) as response:
                ok = response.status == 200
        except (aiohttp.ClientError, TimeoutError):
            ok = False
        if not ok and not self.failed:
            self.failed = True
            print(f"collector run: the collector did not take the command's lines ({self.endpoint})", file=sys.stderr)


async def pass_through(stream: asyncio.StreamReader, out, name: str, shipper: LogShipper) -> None:
    """Copies the stream to `out` as it comes and hands its lines to the shipper."""
    splitter = LineSplitter()
    while chunk := await stream.read(65536):
        if out is not None:
            try:
                out.write(chunk)
                out.flush()
            except BrokenPipeError:
                out = None  # whoever read our output left; the lines are still stored
        for line in splitter.feed(chunk):
            shipper.add(line, name)
    for line in splitter.rest():
        shipper.add(line, name)


def forward_signals(process: asyncio.subprocess.Process) -> None:
    """SIGTERM and SIGHUP go to the command. Ctrl-C in a terminal already
    reached it (it is in our process group): SIGINT is passed on only when
    it came from elsewhere (`kill -INT`), so the command sees it once."""
    loop = asyncio.get_running_loop()

    def send(sig: int) -> None:
        if sig == signal.SIGINT and _terminal_sent_it():
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, send, sig)


def _terminal_sent_it() -> bool:
    try:
        return os.tcgetpgrp(sys.stdin.fileno()) == os.getpgrp()
    except (OSError, ValueError):
        return False


async def run_command(command: tuple[str, ...], url: str, service: str) -> int:
    """Runs the command to its end; its exit status, as a shell reports it."""
    env = child_environment(url, dict(os.environ))
    try:
        process = await asyncio.create_subprocess_exec(
            *command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
    except FileNotFoundError:
        print(f"collector run: no such command: {command[0]}", file=sys.stderr)
        return 127
    except PermissionError:
        print(f"collector run: cannot run {command[0]}: permission denied", file=sys.stderr)
        return 126
    forward_signals(process)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        shipper = LogShipper(session, url, service, env["SENTRY_ENVIRONMENT"])
        shipping = asyncio.create_task(shipper.every_interval())
        await asyncio.gather(
            pass_through(process.stdout, sys.stdout.buffer, "stdout", shipper),
            pass_through(process.stderr, sys.stderr.buffer, "stderr", shipper),
        )
        status = await process.wait()
        shipping.cancel()
        await shipper.ship()
    return status if status >= 0 else 128 - status


def collector_answers(url: str) -> bool:
    try:
        with urlopen(f"{url}/api/stats", timeout=2) as response:
            return response.status == 200
    except (OSError, ValueError):
        return False


class BackgroundCollector:
    """`collector serve` as a child for as long as the command runs. In a
    session of its own, so Ctrl-C meant for the command leaves it up to
    take the command's last lines."""

    def __init__(self, url: str, db: str):
        parts = urlsplit(url)
        if parts.hostname not in LOOPBACK_NAMES or parts.path.strip("/"):
            raise SystemExit(f"collector run: no collector at {url}: start one there, or pass --url")
        self.url, self.db = url, db
        self.host, self.port = parts.hostname, parts.port or 80
        # The child writes here for its whole life; closed in __exit__.
        self.output = tempfile.TemporaryFile()  # noqa: SIM115
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> BackgroundCollector:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "collector",
                "serve",
                "--host",
                self.host,
                "--port",
                str(self.port),
                "--db",
                self.db,
            ],
            stdin=subprocess.DEVNULL,
            stdout=self.output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not collector_answers(self.url):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise SystemExit(f"collector run: could not start a collector at {self.url}:\n{self._said()}")
            time.sleep(0.1)
        print(
            f"collector run: no collector was running; started one at {self.url} storing in "
            f"{os.path.abspath(self.db)}, until the command ends",
            file=sys.stderr,
            flush=True,
        )
        return self

    def __exit__(self, *_exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(START_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.output.close()

    def _said(self) -> str:
        self.output.seek(0)
        return self.output.read().decode("utf-8", "replace").strip()


@main.command("run", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@option("--url", envvar="COLLECTOR_URL", default=DEFAULT_URL, metavar="URL", help="The collector to send to.")
@db_option
@option("--name", metavar="SERVICE", help="The service its lines are logs of.  [default: the command's name]")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def run_cli(url: str, db: str, name: str | None, command: tuple[str, ...]) -> None:
    """Run COMMAND with its Sentry SDKs sending here, and store its output as logs.

    Sets SENTRY_DSN, NEXT_PUBLIC_SENTRY_DSN, VITE_SENTRY_DSN, EXPO_PUBLIC_SENTRY_DSN and REACT_APP_SENTRY_DSN
    to this collector, and SENTRY_TRACES_SAMPLE_RATE=1 and SENTRY_ENVIRONMENT=development unless set (a
    Python app's sentry_sdk.init() then traces too). Starts a collector (with --db) when none answers at
    --url. Exits with the command's exit code. Example: collector run -- uvicorn app:api --reload
    """
    url = url.rstrip("/")
    service = name or service_name(command)
    with contextlib.ExitStack() as stack:
        if not collector_answers(url):
            stack.enter_context(BackgroundCollector(url, db))
        print(f"collector run: {service} sends to {dsn_for(url)}; its output is stored as logs", file=sys.stderr)
        status = asyncio.run(run_command(command, url, service))
    sys.exit(status)

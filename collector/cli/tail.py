"""`collector tail`: what a running collector stores, one line each, as it
arrives, read from its live feed (`/api/live`).

It resumes where it stopped: the last feed id it saw is kept per collector
URL in a small state file and sent as Last-Event-ID next time, so nothing
that arrived while it was not running is missed or printed twice. When the
collector restarts it reconnects by itself the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import orjson

from . import main, option
from .tail_lines import SseParser, format_line

DEFAULT_URL = "http://127.0.0.1:8969"
# The kinds printed; `spans` (child spans that came without their segment)
# only tells an open trace page to look again.
KINDS = ("segment", "error", "log", "replay", "session", "finding", "more")
# The feed pings every 10 s; a silence three times that long is a dead collector.
READ_TIMEOUT = 30
RECONNECT_DELAY = 1.0
# The state file is rewritten at most this often (and when tail stops): a
# burst of a thousand entries is not a thousand writes.
SAVE_INTERVAL = 0.5


class NoCollector(Exception):
    pass


class FeedRefused(Exception):
    pass


def state_file() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "collector" / "tail.json"


def load_positions(path: Path) -> dict:
    try:
        value = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def save_position(path: Path, url: str, last_id: str) -> None:
    """Writes the file whole and renames it, so a killed tail never leaves
    half a file; other URLs' positions are kept."""
    positions = load_positions(path)
    positions[url] = last_id
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    partial.write_bytes(orjson.dumps(positions))
    partial.replace(path)


def feed_query(errors: bool, sdk, user, trace, level, noise: bool) -> str:
    params = {"kinds": "error" if errors else ",".join(KINDS)}
    for name, value in (("sdk", sdk), ("user", user), ("trace_id", trace), ("level", level)):
        if value:
            params[name] = value
    if noise:
        params["noise"] = "1"
    return urlencode(params)


class Tail:
    """One tail: prints entries and remembers the last id it saw."""

    def __init__(self, url: str, query: str, as_json: bool, last_id: str | None, state: Path):
        self.url, self.query, self.as_json = url, query, as_json
        self.last_id, self.state = last_id, state
        self.colour = not as_json and sys.stdout.isatty()
        self._saved_id, self._saved_at = last_id, 0.0

    async def follow(self) -> None:
        """Reads the feed until stopped; reconnects when the collector goes
        away after it once answered."""
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=READ_TIMEOUT)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            if not await self._read(session):
                raise NoCollector
            while True:
                print(f"collector tail: lost {self.url}; reconnecting…", file=sys.stderr, flush=True)
                await asyncio.sleep(RECONNECT_DELAY)
                while not await self._read(session, reconnecting=True):
                    await asyncio.sleep(RECONNECT_DELAY)

    async def _read(self, session: aiohttp.ClientSession, reconnecting: bool = False) -> bool:
        """One connection, printing what it brings until it ends; False when
        none could be made (a collector restarting may answer 503 at first)."""
        headers = {"Last-Event-ID": self.last_id} if self.last_id else {}
        try:
            async with session.get(f"{self.url}/api/live?{self.query}", headers=headers) as response:
                if response.status != 200:
                    if reconnecting and response.status >= 500:
                        return False
                    raise FeedRefused(f"{self.url}/api/live answered {response.status}: {await response.text()}")
                if reconnecting:
                    print(f"collector tail: reconnected to {self.url}", file=sys.stderr, flush=True)
                parser = SseParser(last_id=self.last_id)
                # The collector going away mid-stream ends this connection; the caller reconnects.
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async for raw in response.content:
                        event = parser.feed(raw.decode("utf-8", "replace"))
                        if event:
                            self._show(*event)
        except (aiohttp.ClientError, TimeoutError):
            return False
        return True

    def _show(self, event_id: str | None, kind: str, data: str) -> None:
        if event_id:
            self.last_id = event_id
        if kind != "ready":
            try:
                entry = orjson.loads(data)
            except orjson.JSONDecodeError:
                entry = {}
            if self.as_json:
                line = orjson.dumps({**(entry if isinstance(entry, dict) else {}), "id": event_id, "kind": kind})
                print(line.decode(), flush=True)
            else:
                print(format_line(kind, entry, self.colour), flush=True)
        if time.monotonic() - self._saved_at >= SAVE_INTERVAL:
            self.save()

    def save(self) -> None:
        if self.last_id and self.last_id != self._saved_id:
            save_position(self.state, self.url, self.last_id)
            self._saved_id = self.last_id
        self._saved_at = time.monotonic()


@main.command("tail")
@option("--url", envvar="COLLECTOR_URL", default=DEFAULT_URL, metavar="URL", help="The running collector.")
@option("--errors", is_flag=True, help="Only errors.")
@option("--sdk", metavar="TEXT", help="Only what SDKs whose name holds TEXT sent (python, browser, node…).")
@option("--user", metavar="USER", help="Only what this user did (email, username, id or IP, as stored).")
@option("--trace", metavar="TRACE_ID", help="Only this trace.")
@option("--level", metavar="LEVEL", help="Only errors and logs of this level (error, warning, info…).")
@option("--noise", is_flag=True, help="Also health checks and preflights, hidden by default.")
@option("--json", "as_json", is_flag=True, help="One JSON object a line (the feed's entry, its id and kind).")
@option("--from-now", is_flag=True, help="Skip what arrived since the last tail; show only what arrives now.")
def tail_command(url, errors, sdk, user, trace, level, noise, as_json, from_now) -> None:
    """Print what the collector stores as it arrives, one line each, resuming where the last tail stopped."""
    url = url.rstrip("/")
    state = state_file()
    last_id = None if from_now else load_positions(state).get(url)
    if not isinstance(last_id, str):
        last_id = None
    query = feed_query(errors, sdk, user, trace.lower() if trace else None, level, noise)
    tail = Tail(url, query, as_json, last_id, state)
    where = f"resuming after {last_id}" if last_id else "showing what arrives from now"
    print(f"collector tail: {url}: {where} (Ctrl-C to stop)", file=sys.stderr, flush=True)
    try:
        asyncio.run(_until_stopped(tail))
    except NoCollector:
        sys.exit(f"no collector at {url}: start one with `collector serve` (or make run), or pass --url")
    except FeedRefused as e:
        sys.exit(f"error: {e}")
    finally:
        tail.save()


async def _until_stopped(tail: Tail) -> None:
    """Follows the feed until Ctrl-C or SIGTERM, which end it quietly."""
    task = asyncio.ensure_future(tail.follow())
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task

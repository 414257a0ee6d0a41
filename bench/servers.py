"""The servers a benchmark measures: subprocesses on 127.0.0.1, their CPU
and memory (with their child processes) read from /proc."""

from __future__ import annotations

import contextlib
import functools
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")
INGEST_PATH = "/api/1/envelope/?sentry_key=bench"


class BenchBroken(Exception):
    """The benchmark could not measure: a server died, hung or never started."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@functools.cache
def serve_options() -> str:
    """`collector serve --help`, to pass options only this version knows
    (another change may add --workers)."""
    return subprocess.run(
        [sys.executable, "-m", "collector", "serve", "--help"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout


def collector_args(port: int, db: Path, extra: list[str] | tuple[str, ...] = ()) -> list[str]:
    return ["-m", "collector", "serve", "--port", str(port), "--db", str(db), *extra]


def cpu_of(pid: int) -> float:
    """User+system seconds of one process, all its threads; 0 once it is gone."""
    with contextlib.suppress(OSError):
        # Fields after the command name: utime and stime are the 14th and
        # 15th of the whole line.
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS
    return 0.0


class Server:
    """A server subprocess on 127.0.0.1: `args` after the Python interpreter,
    or a whole command when `command` is given (Spotlight's node)."""

    def __init__(self, args: list[str], port: int, command: list[str] | None = None, env: dict | None = None):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        # A file, not a pipe: a server logging a lot must not block on a
        # pipe nobody reads.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the server)
        self.proc = subprocess.Popen(
            command or [sys.executable, *args], cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT, env=env
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise BenchBroken(f"server {command or args} did not start: {self.log_tail()}") from None
                time.sleep(0.05)

    def _tree(self) -> list[int]:
        """The server and its descendants (the collector's writer process):
        all of them count as the server."""
        parents: dict[int, int] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError):
                parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        tree = [self.proc.pid]
        for pid in tree:
            tree += [child for child, parent in parents.items() if parent == pid]
        return tree

    def cpu_seconds(self) -> float:
        return sum(cpu_of(pid) for pid in self._tree())

    def cpu_split(self) -> tuple[float, float]:
        """CPU seconds of the server process, and of its descendants (the writer)."""
        tree = self._tree()
        return cpu_of(tree[0]), sum(cpu_of(pid) for pid in tree[1:])

    def rss_mb(self) -> float:
        # Proportional set size: pages the processes share count once across
        # them, not once each.
        total = 0
        for pid in self._tree():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        return total / 1024

    def check(self) -> None:
        if self.proc.poll() is not None:
            raise BenchBroken(
                f"server exited with status {self.proc.returncode} during the benchmark: {self.log_tail()}"
            )

    def log_tail(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-2000:]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@contextlib.contextmanager
def running_collector(db: Path, extra: list[str] | tuple[str, ...] = ()):
    port = free_port()
    server = Server(collector_args(port, db, extra), port)
    try:
        yield server
        server.check()
    finally:
        server.stop()


@contextlib.contextmanager
def running_baseline():
    port = free_port()
    server = Server([str(ROOT / "bench" / "baseline.py"), str(port)], port)
    try:
        yield server
        server.check()
    finally:
        server.stop()

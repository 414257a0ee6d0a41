"""`collector serve --workers N`: N server processes on one port, one writer.

The primary (`collector serve` itself) holds the lock file, starts the
writer process, listens on the port and runs the tasks that must run once
(retention, forwarding). It then starts N-1 workers: fresh interpreters
(for the reasons the writer is one: storage/process.py) running
worker_process.py, each the same app listening on the same port with
SO_REUSEPORT, so the kernel spreads new connections over all N, and
connected to the one writer process over the primary's unix socket
(storage/shared.py). A worker that exits is started again; on Ctrl-C or
SIGTERM the workers stop first (answering what they took), then the primary
drains and stops the writer.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import select
import signal
import subprocess
import sys
import time

from aiohttp import web

from ..storage import process as writer_process
from ..web import connections

log = logging.getLogger(__name__)

# What a worker prints once it listens; nothing else goes to that pipe.
READY = b"ready\n"
# How long a worker may take to start, and to stop after SIGTERM.
START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
# How often the primary looks whether a worker exited, and how long it
# waits before starting another after one did.
WATCH_INTERVAL = 1.0
RESTART_DELAY = 1.0


class WorkerFailed(Exception):
    """A worker process did not start (it said why on stderr)."""


class SharedPortSite(connections.GuardedSite):
    """connections.GuardedSite on a port other processes may listen on too."""

    async def start(self) -> None:
        await web.BaseSite.start(self)
        self._server = await asyncio.get_running_loop().create_server(
            self._guard, self._host, self._port, backlog=self._backlog, reuse_port=True
        )


async def listen(runner: web.AppRunner, host: str, port: int, max_connections: int) -> SharedPortSite:
    """As connections.listen, with SO_REUSEPORT: every server process must set it."""
    connections.install_repeat_filter()
    limit = connections.connection_limit(max_connections, connections.raise_file_limit())
    site = SharedPortSite(runner, connections.ConnectionGuard(runner.server, limit), host, port)
    await site.start()
    return site


class Pool:
    """The primary's worker processes: started, restarted if one exits, stopped."""

    def __init__(self, settings: bytes, count: int):
        # What every worker reads on stdin: (ServeOptions, writer address, primary pid).
        self._settings = settings
        self._count = count
        self.processes: list[subprocess.Popen] = []
        self._watch: asyncio.Task | None = None
        self._stopping = False

    @classmethod
    async def start(cls, options, address: str, primary_pid: int) -> Pool:
        """WorkerFailed if one of them did not start; those that did are stopped."""
        pool = cls(pickle.dumps((options, address, primary_pid)), options.workers - 1)
        started = await asyncio.gather(*(asyncio.to_thread(pool._start_one) for _ in range(pool._count)))
        pool.processes = [p for p in started if p is not None]
        if len(pool.processes) < pool._count:
            await pool.stop()
            raise WorkerFailed(f"{pool._count - len(pool.processes)} worker process(es) did not start")
        pool._watch = asyncio.create_task(pool._restart_exited())
        return pool

    async def stop(self) -> None:
        """SIGTERM to every worker, then wait for them to answer what they took."""
        self._stopping = True
        if self._watch is not None:
            self._watch.cancel()
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while any(p.poll() is None for p in self.processes) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for process in self.processes:
            if process.poll() is None:
                log.error("worker process %d did not stop within %g s; killing it", process.pid, STOP_TIMEOUT)
                process.kill()
                process.wait()

    def _start_one(self) -> subprocess.Popen | None:
        """A worker once it listens (it says so on stdout), or None."""
        process = subprocess.Popen(
            [sys.executable, "-P", "-m", "collector.cli.worker_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=writer_process.environment(),
        )
        with process.stdin, process.stdout:
            process.stdin.write(self._settings)
            process.stdin.close()
            readable, _, _ = select.select([process.stdout], [], [], START_TIMEOUT)
            ready = process.stdout.readline() if readable else b""
        if ready == READY:
            return process
        process.kill()
        process.wait()
        return None

    async def _restart_exited(self) -> None:
        while not self._stopping:
            await asyncio.sleep(WATCH_INTERVAL)
            for i, process in enumerate(self.processes):
                if process.poll() is None or self._stopping:
                    continue
                log.error("worker process %d exited (%s); starting another", process.pid, process.returncode)
                await asyncio.sleep(RESTART_DELAY)
                started = await asyncio.to_thread(self._start_one)
                if started is not None:
                    self.processes[i] = started

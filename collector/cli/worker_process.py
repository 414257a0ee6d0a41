"""One worker of `collector serve --workers N` (workers.py): the app with
role "worker", on the primary's port, writing through the primary's writer
process. Started by the primary, never by hand: it reads its settings
(ServeOptions, the writer's address, the primary's pid) as a pickle on
stdin, prints workers.READY once it listens, and stops on SIGINT or SIGTERM,
or when the primary is gone (killed, so it could not stop its workers).
"""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import sys

from aiohttp import web

from ..app import SERVER_ARGS
from ..storage.client import StartFailed
from ..storage.process import tune_gc
from ..storage.reader import share_the_gil
from . import workers
from .serve import make_app

# How often a worker looks whether the primary is still there.
PARENT_INTERVAL = 1.0


async def serve(options, address: str, primary_pid: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(make_app(options, "worker", address), **SERVER_ARGS)
    tune_gc()
    share_the_gil()
    try:
        await runner.setup()
    except StartFailed as e:
        raise SystemExit(f"error: worker {os.getpid()}: {e}") from None
    try:
        await workers.listen(runner, options.host, options.port, options.max_connections)
    except OSError as e:
        await runner.cleanup()
        raise SystemExit(f"error: worker {os.getpid()} cannot listen on port {options.port}: {e.strerror}") from None
    sys.stdout.buffer.write(workers.READY)
    sys.stdout.flush()
    watch = asyncio.create_task(_until_orphaned(primary_pid, stop))
    await stop.wait()
    watch.cancel()
    await runner.cleanup()


async def _until_orphaned(primary_pid: int, stop: asyncio.Event) -> None:
    while os.getppid() == primary_pid:
        await asyncio.sleep(PARENT_INTERVAL)
    stop.set()


def main() -> None:
    options, address, primary_pid = pickle.load(sys.stdin.buffer)
    asyncio.run(serve(options, address, primary_pid))


if __name__ == "__main__":
    main()

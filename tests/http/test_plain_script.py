"""The app from a plain script: importing the collector and calling
create_app() start no process; the writer process starts with the app, even
when the script has no `if __name__ == "__main__":` guard."""

import sqlite3
import subprocess
import sys
import textwrap

from helpers import ROOT

ENVELOPE = b'{}\n{"type":"session"}\n{"sid":"s"}\n'

# Runs at the top level, unguarded: a writer started the way multiprocessing
# starts processes would run this script again in the child.
SCRIPT = textwrap.dedent(
    """
    import asyncio, multiprocessing, os, sys

    sys.path.insert(0, sys.argv[2])  # the checkout under test, as a script beside it would
    import aiohttp
    from aiohttp import web

    from collector.app import SERVER_ARGS, create_app

    def children():
        return [
            pid for task in os.listdir("/proc/self/task")
            for pid in open(f"/proc/self/task/{task}/children").read().split()
        ]

    app = create_app(sys.argv[1])
    assert multiprocessing.active_children() == [], multiprocessing.active_children()
    assert children() == [], children()

    async def run():
        runner = web.AppRunner(app, **SERVER_ARGS)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        running = children()
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{port}/api/1/envelope/?sentry_key=k"
            async with session.post(url, data=sys.stdin.buffer.read()) as response:
                print("status", response.status, "children while running", len(running), flush=True)
        await runner.cleanup()

    asyncio.run(run())
    """
)


def test_create_app_starts_nothing_and_the_app_runs_from_an_unguarded_script(tmp_path):
    script = tmp_path / "serve.py"
    script.write_text(SCRIPT)
    db = tmp_path / "c.db"
    out = subprocess.run(
        [sys.executable, str(script), str(db), str(ROOT)],
        input=ENVELOPE,
        capture_output=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr.decode()
    # The writer process ran while the app did, and stored the envelope.
    assert b"status 200 children while running 1" in out.stdout, out.stdout
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM sessions").fetchone() == (1,)

"""Spotlight's sidecar (bench/peers/, npm ci from its lock), started by
bench/peers/sidecar.mjs: loopback only, without its own telemetry."""

from __future__ import annotations

import contextlib
import shutil
import subprocess

from servers import ROOT, Server, free_port

PEERS = ROOT / "bench" / "peers"


def missing() -> str | None:
    """Why Spotlight cannot run here, or None."""
    if not shutil.which("npm") or not shutil.which("node"):
        return "npm is missing: skipping Spotlight (install Node.js and npm to compare with it)"
    return None


def install() -> None:
    """npm ci from the lock, once (the lock pins @spotlightjs/spotlight 4.11.8 with hono 4.12.25)."""
    marker = PEERS / "node_modules" / ".package-lock.json"
    if marker.exists() and marker.stat().st_mtime >= (PEERS / "package-lock.json").stat().st_mtime:
        return
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PEERS, check=True, stdout=subprocess.DEVNULL)


@contextlib.contextmanager
def running_spotlight():
    port = free_port()
    server = Server([], port, command=["node", str(PEERS / "sidecar.mjs"), str(port)])
    try:
        yield server
        server.check()
    finally:
        server.stop()

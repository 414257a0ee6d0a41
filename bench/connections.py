"""Connections an attacker holds open, against a real `collector serve` on
loopback; prints what a user sees meanwhile. Each phase is bounded in time.

  1. slow heads: 300 connections send a request line and then one header
     byte every 2 s; how long the collector holds them, and how fast a user's
     GET is answered meanwhile;
  2. a file-limit flood: the collector runs under a 1024-file limit and 1500
     connections each send half a request; what the user's GETs get, how long
     until one is answered 200, and how much the collector logged.

Usage: python bench/connections.py [--hold SECONDS]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HALF_HEAD = b"GET /api/stats HTTP/1.1\r\nHost: 127.0.0.1\r\n"
GET = HALF_HEAD + b"\r\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_collector(db: Path, log: Path, files: int | None = None) -> tuple[subprocess.Popen, int]:
    port = free_port()
    command = [sys.executable, "-m", "collector", "serve", "--host", "127.0.0.1", "--port", str(port), "--db", str(db)]
    if files:
        command = ["prlimit", f"--nofile={files}:{files}", *command]
    # Run from the scratch directory, so that PYTHONPATH can pick another checkout to compare.
    proc = subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=db.parent)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/stats", timeout=1).read()
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"collector did not start; its output:\n{log.read_text()}")


async def user_get(port: int, timeout: float) -> tuple[str, float]:
    """One GET on a fresh connection: (status line or what went wrong, seconds)."""
    start = time.monotonic()
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(GET)
            line = (await reader.readline()).decode().strip() or "closed without an answer"
            writer.close()
    except TimeoutError:
        line = f"no answer within {timeout:g} s"
    except ConnectionError as e:
        line = type(e).__name__
    return line, time.monotonic() - start


async def user_until_served(port: int, limit: float) -> tuple[list[tuple[str, float]], float | None]:
    """GETs every 0.5 s until one is answered 200 (or `limit` passes)."""
    start, seen = time.monotonic(), []
    while time.monotonic() - start < limit:
        line, took = await user_get(port, min(10.0, limit))
        seen.append((line, took))
        if " 200 " in line + " ":
            return seen, time.monotonic() - start
        await asyncio.sleep(0.5)
    return seen, None


async def slow_head(port: int, every: float, hold: float) -> float | None:
    """Seconds until the collector closed it; None if still open after `hold`."""
    start = time.monotonic()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return 0.0
    writer.write(HALF_HEAD)
    try:
        async with asyncio.timeout(hold):
            for _ in range(10_000):
                if reader.at_eof():
                    break
                writer.write(b"x")
                try:
                    await asyncio.wait_for(reader.read(4096), every)
                except TimeoutError:
                    continue
    except TimeoutError:
        return None
    except ConnectionError:
        pass
    finally:
        writer.close()
    return time.monotonic() - start


def held_summary(held: list[float | None], hold: float) -> str:
    closed = sorted(h for h in held if h is not None)
    still = len(held) - len(closed)
    if not closed:
        return f"all {len(held)} still open after {hold:g} s"
    return (
        f"{len(closed)} closed (median {statistics.median(closed):.1f} s, max {closed[-1]:.1f} s), "
        f"{still} still open after {hold:g} s"
    )


async def phase_slow_heads(port: int, hold: float) -> None:
    attack = [asyncio.ensure_future(slow_head(port, 2.0, hold)) for _ in range(300)]
    await asyncio.sleep(1.0)
    gets = []
    while not all(t.done() for t in attack) and len(gets) < hold / 0.5:
        gets.append(await user_get(port, 10.0))
        await asyncio.sleep(0.5)
    held = await asyncio.gather(*attack)
    answered = [took for line, took in gets if " 200 " in line + " "]
    print(f"  300 slow heads: {held_summary(held, hold)}")
    print(
        f"  user GETs meanwhile: {len(answered)}/{len(gets)} answered 200, "
        f"median {statistics.median(answered) * 1000 if answered else float('nan'):.1f} ms, "
        f"max {max(answered, default=float('nan')) * 1000:.1f} ms"
    )


async def phase_flood(port: int, count: int, hold: float) -> None:
    async def connect():
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 3.0)
        writer.write(HALF_HEAD)
        return reader, writer

    conns = []
    for _ in range(0, count, 100):
        batch = await asyncio.gather(*(connect() for _ in range(100)), return_exceptions=True)
        conns += [c for c in batch if not isinstance(c, BaseException)]
    await asyncio.sleep(1.0)
    seen, served = await user_until_served(port, hold)
    kinds = sorted({line for line, _ in seen})
    print(f"  {count} half-open requests ({len(conns)} connected)")
    print(f"  user GETs: {len(seen)} tried; got: {'; '.join(kinds)}")
    print(f"  first 200 after {served:.1f} s" if served is not None else f"  no 200 within {hold:g} s")
    for _, writer in conns:
        writer.close()


def run_phase(title: str, files: int | None, phase) -> None:
    print(title)
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "collector.log"
        proc, port = start_collector(Path(tmp) / "c.db", log, files)
        try:
            asyncio.run(phase(port))
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        text = log.read_text(errors="replace")
        lines, kib, emfile = text.count("\n"), len(text.encode()) / 1024, text.count("Too many open files")
        print(f"  collector log: {lines} lines, {kib:.0f} KiB, {emfile} 'Too many open files'")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hold", type=float, default=30.0, help="longest wait per phase, s (default %(default)s)")
    args = parser.parse_args()
    run_phase("1. slow heads", None, lambda port: phase_slow_heads(port, args.hold))
    run_phase("2. 1500 half-open requests, 1024-file limit", 1024, lambda port: phase_flood(port, 1500, args.hold))


if __name__ == "__main__":
    main()

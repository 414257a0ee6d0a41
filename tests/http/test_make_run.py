"""`make run` as a user types it: the COLLECTOR_* environment, or make's
HOST=… PORT=… DB=… variables, decide where it serves and stores."""

import json
import os
import signal
import subprocess
import time
import urllib.request

from helpers import ROOT, free_port

# A loopback address other than the default, so that the test sees the host
# setting reach the collector.
HOST = "127.0.0.2"


def make_run(*variables: str, env: dict[str, str]) -> subprocess.Popen:
    # An outer `make test` passes its own variables down through MAKEFLAGS.
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("COLLECTOR_", "MAKE", "MFLAGS"))}
    return subprocess.Popen(
        ["make", "--no-print-directory", "-C", str(ROOT), "run", *variables],
        env={**clean, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: make and the collector get the SIGINT
    )


def stats(port: int, proc: subprocess.Popen) -> dict:
    """/api/stats once the collector answers on HOST:port."""
    deadline = time.monotonic() + 120  # make may reinstall first if pyproject.toml changed
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read()
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/api/stats", timeout=5) as r:
                return json.loads(r.read())
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing answered on {HOST}:{port}")


def stop(proc: subprocess.Popen) -> str:
    """Ctrl-C in the terminal: SIGINT to the whole process group."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.stdout.read()


def test_make_run_takes_host_port_and_db_from_the_environment(tmp_path):
    port = free_port()
    db = tmp_path / "from-env.db"
    proc = make_run(env={"COLLECTOR_HOST": HOST, "COLLECTOR_PORT": str(port), "COLLECTOR_DB": str(db)})
    try:
        assert stats(port, proc)["envelopes"] == 0  # a new file
    finally:
        out = stop(proc)
    assert f"http://anykey@{HOST}:{port}/1" in out
    assert f"storing in {db}" in out
    assert "collector: stopped" in out
    assert db.exists()


def test_make_variables_win_over_the_environment(tmp_path):
    port, env_port = free_port(), free_port()
    db = tmp_path / "from-make.db"
    env = {"COLLECTOR_PORT": str(env_port), "COLLECTOR_DB": str(tmp_path / "from-env.db")}
    proc = make_run(f"HOST={HOST}", f"PORT={port}", f"DB={db}", env=env)
    try:
        assert stats(port, proc)["envelopes"] == 0  # a new file
    finally:
        out = stop(proc)
    assert f"http://anykey@{HOST}:{port}/1" in out
    assert "collector: stopped" in out
    assert db.exists() and not (tmp_path / "from-env.db").exists()

"""`collector run -- python app.py` with the real sentry-sdk: an app whose
sentry_sdk.init() names no DSN and no sample rate gets its transaction and
its printed lines stored, its output still reaches the terminal, and its
exit code is passed on; with no collector running, one is started for it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from helpers import Collector, free_port

APP = Path(__file__).resolve().parent.parent / "apps" / "traced_job.py"


def collector_run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "collector", "run", *args],
        capture_output=True,
        text=True,
        timeout=90,
        env=env or dict(os.environ),
    )


def assert_stored(collector: Collector) -> None:
    traces = collector.wait_for(lambda d: d["traces"], "/api/traces")["traces"]
    assert [t["root"] for t in traces] == ["nightly job"], traces
    logs = collector.wait_for(lambda d: len(d["logs"]) >= 3, "/api/logs?sdk=collector.run")["logs"]
    stored = sorted((log["body"], log["level"]) for log in logs)
    assert stored == [
        ("WARNING: order 2 has no email", "warn"),
        ("could not reach the mail server", "error"),
        ("loaded 3 orders", "info"),
    ]
    assert {log["attributes"]["service.name"] for log in logs} == {"traced_job.py"}
    assert {log["attributes"]["log.iostream"] for log in logs} == {"stdout", "stderr"}


def test_the_apps_transaction_and_lines_are_stored_and_its_exit_code_passed_on(collector):
    out = collector_run("--url", collector.url, "--", sys.executable, str(APP))
    assert out.returncode == 3, out.stderr
    assert out.stdout == "loaded 3 orders\n"
    assert "WARNING: order 2 has no email\ncould not reach the mail server\n" in out.stderr
    assert "started one" not in out.stderr
    assert_stored(collector)


def test_with_no_collector_running_one_is_started_for_the_command(tmp_path):
    port = free_port()
    db = tmp_path / "started.db"
    out = collector_run("--url", f"http://127.0.0.1:{port}", "--db", str(db), "--", sys.executable, str(APP))
    assert out.returncode == 3, out.stderr
    assert f"started one at http://127.0.0.1:{port}" in out.stderr
    # It stopped with the command; what it stored is in its file.
    later = Collector(db).start()
    try:
        assert_stored(later)
    finally:
        later.stop()


def test_the_environment_points_here_and_keeps_pythonpath_and_an_existing_sitecustomize(collector, tmp_path):
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "sitecustomize.py").write_text("import builtins\nbuiltins.THEIR_SITECUSTOMIZE_RAN = True\n")
    (theirs / "their_module.py").write_text("")
    show = (
        "import builtins, os, their_module\n"
        "print(getattr(builtins, 'THEIR_SITECUSTOMIZE_RAN', False))\n"
        "for name in ('SENTRY_DSN', 'VITE_SENTRY_DSN', 'NEXT_PUBLIC_SENTRY_DSN', 'EXPO_PUBLIC_SENTRY_DSN',\n"
        "             'REACT_APP_SENTRY_DSN', 'SENTRY_TRACES_SAMPLE_RATE', 'SENTRY_ENVIRONMENT'):\n"
        "    print(os.environ[name])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(theirs)}
    out = collector_run("--url", collector.url, "--", sys.executable, "-c", show, env=env)
    assert out.returncode == 0, out.stderr
    dsn = f"http://collector-run@127.0.0.1:{collector.port}/1"
    assert out.stdout.splitlines() == ["True", *[dsn] * 5, "1", "development"]


def test_an_app_that_sets_its_own_rate_keeps_it(collector):
    code = (
        "import sentry_sdk\n"
        "sentry_sdk.init(traces_sample_rate=0.25)\n"
        "print(sentry_sdk.get_client().options['traces_sample_rate'])\n"
    )
    out = collector_run("--url", collector.url, "--", sys.executable, "-c", code)
    assert out.stdout == "0.25\n", out.stderr


def test_a_missing_command_says_so_with_the_shells_code(collector):
    out = collector_run("--url", collector.url, "--", "no-such-command-here")
    assert out.returncode == 127
    assert "no such command: no-such-command-here" in out.stderr


def test_sigterm_and_sigint_reach_the_command_once_and_its_code_comes_back(collector):
    code = (
        "import signal, sys, time\n"
        "def stop(sig, frame):\n"
        "    print('got', signal.Signals(sig).name, flush=True)\n"
        "    sys.exit(7)\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        "signal.signal(signal.SIGINT, stop)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    for sig in (signal.SIGTERM, signal.SIGINT):
        proc = subprocess.Popen(
            [sys.executable, "-m", "collector", "run", "--url", collector.url, "--", sys.executable, "-c", code],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout.readline() == "ready\n"
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=30)
        assert out == f"got {sig.name}\n"
        assert proc.returncode == 7

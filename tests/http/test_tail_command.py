"""`collector tail` as a developer runs it: a subprocess reading a real
collector's live feed, printing one JSON line per entry, resuming after a
stop where it left off, and passing its filters on to the feed."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

import orjson

from helpers import event_item, post_envelope


class Tail:
    """A `collector tail --json` subprocess whose stdout lines are read on a thread."""

    def __init__(self, collector, state_home, *args):
        self.state = state_home / "collector" / "tail.json"
        before = self._saved(collector.url)
        env = {**os.environ, "XDG_STATE_HOME": str(state_home)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "collector", "tail", "--json", "--url", collector.url, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        # Starting from now, the feed's `ready` position is saved at once:
        # from then on nothing sent can be missed. (Resuming needs no wait:
        # the feed sends what came after the saved id whenever it connects.)
        if before is None or "--from-now" in args:
            deadline = time.monotonic() + 15
            while self._saved(collector.url) == before:
                assert self.proc.poll() is None, self.proc.stderr.read()
                assert time.monotonic() < deadline, "tail never connected"
                time.sleep(0.05)

    def _saved(self, url):
        try:
            return json.loads(self.state.read_text()).get(url)
        except (OSError, ValueError):
            return None

    def _pump(self):
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))

    def next(self, timeout=15) -> dict:
        return self.lines.get(timeout=timeout)

    def stop(self) -> str:
        """Ctrl-C, as a developer stops it; returns its stderr."""
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(15)
        return self.proc.stderr.read()


def send_error(collector, message, **extra):
    header, payload = event_item(message, **extra)
    post_envelope(collector, {}, (header, orjson.loads(payload)))


def send_log(collector, body, level="info"):
    record = {"timestamp": time.time(), "level": level, "body": body, "trace_id": "ab" * 16}
    item = {"type": "log", "item_count": 1, "content_type": "application/vnd.sentry.items.log+json"}
    post_envelope(collector, {"sdk": {"name": "sentry.python"}}, (item, {"items": [record]}))


def test_tail_prints_an_error_sent_after_it_started(collector, tmp_path):
    tail = Tail(collector, tmp_path)
    try:
        send_error(collector, "the checkout broke", user={"email": "ada@example.com"})
        line = tail.next()
    finally:
        stderr = tail.stop()
    assert line["kind"] == "error"
    assert line["title"] == "the checkout broke"
    assert line["user"] == "ada@example.com"
    assert line["trace_id"] == "0123456789abcdef0123456789abcdef"
    assert line["id"].split(".")[0].isdigit()
    assert "showing what arrives from now" in stderr
    assert "Traceback" not in stderr
    assert tail.proc.returncode == 0


def test_tail_resumes_after_a_stop_with_exactly_what_it_missed(collector, tmp_path):
    first = Tail(collector, tmp_path)
    send_error(collector, "seen before the stop")
    assert first.next()["title"] == "seen before the stop"
    first.stop()
    send_error(collector, "missed 1")
    send_error(collector, "missed 2")
    again = Tail(collector, tmp_path)
    try:
        caught_up = [again.next(), again.next()]
        send_error(collector, "after the restart")
        later = again.next()
    finally:
        stderr = again.stop()
    assert [line["title"] for line in caught_up] == ["missed 1", "missed 2"]
    assert later["title"] == "after the restart"
    assert again.lines.empty()
    assert "resuming after" in stderr


def test_from_now_skips_the_backlog(collector, tmp_path):
    first = Tail(collector, tmp_path)
    send_error(collector, "seen")
    first.next()
    first.stop()
    send_error(collector, "backlog")
    tail = Tail(collector, tmp_path, "--from-now")
    try:
        send_error(collector, "news")
        line = tail.next()
    finally:
        stderr = tail.stop()
    assert line["title"] == "news"
    assert "showing what arrives from now" in stderr


def test_filters_reach_the_feed(collector, tmp_path):
    errors = Tail(collector, tmp_path / "errors", "--errors")
    python_warnings = Tail(collector, tmp_path / "levels", "--level", "warning", "--sdk", "python")
    try:
        send_log(collector, "a log is not an error", level="warning")
        send_error(collector, "an info error", level="info")
        send_error(collector, "a warning from node", level="warning", sdk={"name": "sentry.javascript.node"})
        send_error(collector, "a warning from python", level="warning", sdk={"name": "sentry.python"})
        seen_errors = [errors.next()["title"] for _ in range(3)]
        seen_warnings = [python_warnings.next() for _ in range(2)]
    finally:
        errors.stop()
        python_warnings.stop()
    assert seen_errors == ["an info error", "a warning from node", "a warning from python"]
    assert [(w["kind"], w.get("body") or w.get("title")) for w in seen_warnings] == [
        ("log", "a log is not an error"),
        ("error", "a warning from python"),
    ]
    assert errors.lines.empty() and python_warnings.lines.empty()


def test_no_collector_says_how_to_start_one(tmp_path):
    url = "http://127.0.0.1:9"
    out = subprocess.run(
        [sys.executable, "-m", "collector", "tail", "--url", url],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "XDG_STATE_HOME": str(tmp_path)},
    )
    assert out.returncode == 1
    assert f"no collector at {url}: start one with `collector serve`" in out.stderr
    assert "Traceback" not in out.stderr


def test_tail_reconnects_by_itself_when_the_collector_restarts(collector, tmp_path):
    tail = Tail(collector, tmp_path)
    try:
        collector.stop()
        collector.start()
        send_error(collector, "after the restart")
        line = tail.next(timeout=30)
    finally:
        stderr = tail.stop()
    assert line["title"] == "after the restart"
    assert "reconnecting" in stderr and "reconnected" in stderr

"""`collector run`'s lines as logs: output cut into lines as it arrives,
terminal colours dropped, a level from the line's own level word or else
its stream, packed in a `log` envelope the collector parses."""

from __future__ import annotations

import orjson

from collector.cli.run import child_environment, dsn_for
from collector.cli.run_logs import MAX_LINE, LineSplitter, level_of, log_envelope, log_record, service_name, text_of
from collector.protocol.envelope import parse


def test_lines_are_cut_where_newlines_are_whatever_the_chunks():
    splitter = LineSplitter()
    assert splitter.feed(b"first li") == []
    assert splitter.feed(b"ne\nsecond\nthi") == [b"first line", b"second"]
    assert splitter.rest() == [b"thi"]
    assert splitter.rest() == []


def test_a_line_without_end_is_cut_rather_than_held():
    splitter = LineSplitter()
    lines = splitter.feed(b"x" * (MAX_LINE * 2 + 5))
    assert lines == [b"x" * MAX_LINE, b"x" * MAX_LINE]
    assert splitter.rest() == [b"xxxxx"]


def test_stored_text_drops_colours_and_keeps_a_progress_bars_last_drawing():
    assert text_of(b"\x1b[32mINFO\x1b[0m:     Started\r") == "INFO:     Started"
    assert text_of(b"10%\r50%\r100%") == "100%"
    assert text_of(b"\xff bad utf-8") == "\ufffd bad utf-8"


def test_a_level_word_wins_over_the_stream():
    assert level_of("INFO:     Uvicorn running", "stderr") == "info"
    assert level_of("[WARNING] disk", "stdout") == "warn"
    assert level_of("CRITICAL boom", "stdout") == "fatal"
    assert level_of("information is not a level", "stderr") == "error"
    assert level_of("plain", "stdout") == "info"


def test_records_name_the_service_and_stream_in_an_envelope_the_collector_parses():
    record = log_record("it broke", "stderr", "api", "development", now=1.5)
    envelope = parse(log_envelope([record, record]))
    [item] = envelope.items
    assert item.headers["type"] == "log" and item.headers["item_count"] == 2
    assert orjson.loads(item.payload)["items"] == [record, record]
    assert record["level"] == "error" and record["severity_number"] == 17
    assert record["attributes"]["service.name"] == {"value": "api", "type": "string"}
    assert record["attributes"]["log.iostream"]["value"] == "stderr"
    assert record["attributes"]["sentry.origin"]["value"] == "auto.log.collector_run"


def test_the_service_is_the_command_or_the_script_an_interpreter_runs():
    assert service_name(("uvicorn", "app:api", "--reload")) == "uvicorn"
    assert service_name(("/usr/bin/python3.12", "jobs/nightly.py")) == "nightly.py"
    assert service_name(("python", "-m", "http.server")) == "python"
    assert service_name(("npm", "run", "dev")) == "npm"


def test_the_environment_points_every_dsn_here_and_keeps_what_the_developer_set():
    env = child_environment("http://127.0.0.1:8969", {"PYTHONPATH": "/theirs", "SENTRY_ENVIRONMENT": "staging"})
    assert env["SENTRY_DSN"] == env["VITE_SENTRY_DSN"] == "http://collector-run@127.0.0.1:8969/1"
    assert env["SENTRY_TRACES_SAMPLE_RATE"] == "1"
    assert env["SENTRY_ENVIRONMENT"] == "staging"
    assert env["PYTHONPATH"].endswith(":/theirs") and "pythonpath" in env["PYTHONPATH"]
    assert dsn_for("https://collector.example/under/") == "https://collector-run@collector.example/under/1"

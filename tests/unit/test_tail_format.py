"""`collector tail`'s lines: one per feed entry, from entries of any shape,
with nothing an app sent able to drive the developer's terminal."""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st

from collector.cli.tail_lines import RED, RESET, YELLOW, SseParser, clean, format_line, short_sdk

T0 = 1_700_000_000.0
CLOCK = time.strftime("%H:%M:%S", time.localtime(T0))
TRACE = "0123456789abcdef0123456789abcdef"


def test_a_segment_line_has_time_sdk_kind_name_duration_user_and_short_trace():
    data = {
        "name": "GET /api/orders",
        "time": T0,
        "duration": 0.25,
        "sdk": "sentry.python",
        "user": "ada@example.com",
        "trace_id": TRACE,
    }
    line = format_line("segment", data)
    assert line.split() == [
        CLOCK,
        "python",
        "segment",
        "GET",
        "/api/orders",
        "250ms",
        "ada@example.com",
        "trace",
        "01234567",
    ]


def test_errors_logs_sessions_and_unknown_kinds_say_what_happened():
    assert "TypeError: x is undefined" in format_line("error", {"title": "TypeError: x is undefined", "time": T0})
    assert "warn: disk almost full" in format_line("log", {"level": "warn", "body": "disk almost full"})
    assert "session crashed, 2 errors 1.0.0" in format_line(
        "session", {"status": "crashed", "errors": 2, "release": "1.0.0"}
    )
    assert "…and 40 more" in format_line("more", {"count": 40})
    assert "N+1 queries in GET /orders" in format_line("finding", {"title": "N+1 queries in GET /orders"})


def test_sdk_names_are_shortened_to_what_people_call_them():
    assert short_sdk("sentry.javascript.browser") == "browser"
    assert short_sdk("sentry.javascript.react-native") == "react-native"
    assert short_sdk("sentry.javascript.node") == "node"
    assert short_sdk("sentry.python") == "python"
    assert short_sdk("collector.run") == "run"
    assert format_line("error", {"title": "x"}).split()[1] == "-"


def test_durations_read_as_milliseconds_or_seconds():
    assert "1.50s" in format_line("segment", {"name": "slow", "duration": 1.5})
    assert "3ms" in format_line("segment", {"name": "fast", "duration": 0.003})
    assert "ms" not in format_line("segment", {"name": "odd", "duration": "12"})


def test_colour_only_when_asked_errors_red_slow_segments_yellow():
    assert "\x1b" not in format_line("error", {"title": "boom"})
    assert format_line("error", {"title": "boom"}, colour=True).startswith(RED)
    assert format_line("log", {"level": "error", "body": "x"}, colour=True).startswith(RED)
    assert format_line("segment", {"name": "slow", "duration": 2.0}, colour=True).startswith(YELLOW)
    plain = format_line("segment", {"name": "fast", "duration": 0.01}, colour=True)
    assert "\x1b" not in plain and not plain.endswith(RESET)


def test_escape_sequences_and_newlines_from_an_app_are_shown_not_sent():
    line = format_line("log", {"body": "\x1b]0;pwned\x07line one\nline two\x1b[2J", "sdk": "\x1b[31mevil"})
    assert "\x1b" not in line and "\x07" not in line and "\n" not in line
    assert "\\x1b]0;pwned\\x07line one line two\\x1b[2J" in line


@given(st.one_of(st.none(), st.integers(), st.text(), st.lists(st.integers()), st.dictionaries(st.text(), st.text())))
def test_any_value_in_any_field_gives_one_printable_line(value):
    for kind in ("segment", "error", "log", "replay", "session", "spans", "more", "finding", value):
        line = format_line(kind, {key: value for key in ("name", "title", "body", "time", "duration", "sdk", "user")})
        assert "\n" not in line and "\x1b" not in line
    assert format_line("error", value) is not None


def test_clean_bounds_the_length():
    assert len(clean("x" * 1000)) == 160


def test_the_sse_parser_reads_events_ids_and_skips_pings():
    parser = SseParser()
    lines = ["retry: 1000", "event: ready", "id: 7.9", "data: ", "", ": ping", "", "id: 8.0", "event: error"]
    lines += ['data: {"title": "a"}', "", "event: log", "data: {}", "", ""]
    events = [e for e in (parser.feed(line + "\n") for line in lines) if e]
    assert events == [("7.9", "ready", ""), ("8.0", "error", '{"title": "a"}'), ("8.0", "log", "{}")]
    assert parser.last_id == "8.0"

"""The web layer's pure parts: how durations read, how parameters parse."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import pytest

from collector.web import filters, params
from collector.web.urls import pager

DURATIONS = [
    (None, "—"),
    ("1.5", "—"),
    (True, "—"),
    (float("nan"), "—"),
    (float("inf"), "—"),
    (0, "0 ms"),
    (-0.0, "0 ms"),
    (0.00004, "<0.1 ms"),
    (-0.00004, "<0.1 ms"),
    (0.00005, "0.1 ms"),
    (0.0004, "0.4 ms"),
    (0.00042, "0.4 ms"),
    (0.001, "1.0 ms"),
    (0.0042, "4.2 ms"),
    (0.00425, "4.3 ms"),
    (0.00999, "10 ms"),
    (0.0125, "13 ms"),
    (0.4, "400 ms"),
    (0.9994, "999 ms"),
    # Rounds to 1000 ms: shown in seconds, never as "1000 ms".
    (0.9995, "1.00 s"),
    (1, "1.00 s"),
    (1.125, "1.13 s"),
    (1.2345, "1.23 s"),
    (59.994, "59.99 s"),
    # Rounds to 60.00 s: shown in minutes, never as "60.00 s".
    (59.999, "1 min 0 s"),
    (61.4, "1 min 1 s"),
    (252, "4 min 12 s"),
    (3599.4, "59 min 59 s"),
    (3599.6, "1 h 0 min"),
    (3600, "1 h 0 min"),
    (7500, "2 h 5 min"),
    (-0.25, "-250 ms"),
    (-1.5, "-1.50 s"),
    (-0.0025, "-2.5 ms"),
    (-90, "-1 min 30 s"),
    (999_999.994, "277 h 47 min"),
    (1e6, "> 1e6 s"),
    (1.7e12, "> 1e6 s"),
    (-1e300, "< -1e6 s"),
]


@pytest.mark.parametrize("seconds, shown", DURATIONS, ids=repr)
def test_durations_read_by_one_rule(seconds, shown):
    assert filters.fmt_duration(seconds) == shown


def _js_literal(value) -> str:
    # NaN and Infinity are no JSON: spell them as JavaScript does.
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return json.dumps(value)


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run duration.js")
def test_the_browser_reads_durations_by_the_same_rule():
    script = Path(__file__).parents[2] / "templates" / "static" / "duration.js"
    values = "[" + ",".join(_js_literal(seconds) for seconds, _ in DURATIONS) + "]"
    program = "globalThis.window = globalThis;\n" + script.read_text()
    program += f"\nconsole.log(JSON.stringify({values}.map(fmtDuration)));"
    out = subprocess.run(["node", "-e", program], capture_output=True, text=True, timeout=30, check=True)
    assert json.loads(out.stdout) == [shown for _, shown in DURATIONS]


@pytest.mark.parametrize("x, rounded", [(0.5, 1), (1.5, 2), (2.5, 3), (-0.5, 0), (-2.5, -2), (-2.6, -3), (2.4999, 2)])
def test_halves_round_up_as_javascript_rounds_them(x, rounded):
    assert filters.round_half_up(x) == rounded


@pytest.mark.parametrize(
    "query, name",
    [
        ({"limit": "abc"}, "limit"),
        ({"offset": "1e3"}, "offset"),
        ({"limit": "1.5"}, "limit"),
    ],
)
def test_a_bad_integer_names_the_parameter(query, name):
    with pytest.raises(params.BadParameter) as caught:
        params.window(query, 50, 1000)
    assert caught.value.name == name and str(caught.value).startswith(f"{name} must be an integer, got ")


def test_integers_are_clamped_and_empty_means_the_default():
    assert params.window({"limit": "99999999999999999999", "offset": "-4"}, 50, 1000) == params.Window(1000, 0)
    assert params.window({"limit": "", "offset": ""}, 50, 1000) == params.Window(50, 0)
    assert params.window({"limit": "0"}, 10, 10, min_limit=1).limit == 1


def test_page_numbers_become_offsets_and_garbage_is_the_first_page():
    assert params.window({"page": "3"}, 50, 1000) == params.Window(50, 100)
    assert params.window({"page": "3", "limit": "10"}, 50, 1000) == params.Window(10, 20)
    assert params.window({"page": "abc"}, 50, 1000).offset == 0
    assert params.window({"page": "-5"}, 50, 1000).offset == 0
    # An explicit offset wins over a page.
    assert params.window({"page": "3", "offset": "7"}, 50, 1000).offset == 7


def test_trace_filters():
    parsed = params.trace_filters({"user": " ada ", "has_errors": "on", "min_duration_ms": "250"})
    assert parsed == {
        "user": "ada",
        "environment": "",
        "release": "",
        "sdk": "",
        "has_errors": True,
        "min_duration_ms": 250.0,
    }
    assert params.trace_filters({"has_errors": "0", "min_duration_ms": ""})["has_errors"] is False
    with pytest.raises(params.BadParameter, match="min_duration_ms must be a number of milliseconds, got 'slow'"):
        params.trace_filters({"min_duration_ms": "slow"})


def test_since():
    assert params.since({}, "1h", now=10_000) == 10_000 - 3600
    assert params.since({"since": "30m"}, "1h", now=10_000) == 10_000 - 1800
    assert params.since({}, "", now=10_000) is None
    with pytest.raises(params.BadParameter) as caught:
        params.since({"since": "yesterday"}, "1h")
    assert caught.value.name == "since" and caught.value.value == "yesterday"


def test_the_pager_keeps_filters_and_the_chosen_limit():
    links = pager({"user": "ada", "page": "2", "limit": "5"}, params.Window(5, 5), has_next=True)
    assert links["page"] == 2 and links["filtered"] is True
    assert (links["newer"], links["older"]) == ("?user=ada&limit=5&page=1", "?user=ada&limit=5&page=3")
    first = pager({}, params.Window(50, 0), has_next=False)
    assert first == {"page": 1, "newer": None, "older": None, "filtered": False}


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run trace.js's hash")
def test_a_service_has_one_colour_in_the_list_and_the_waterfall():
    keys = ["backend · sentry.python.fastapi", "web · sentry.javascript.browser", "mobile · sentry.cocoa", "é · ü"]
    source = (Path(__file__).parents[2] / "templates" / "static" / "trace.js").read_text()
    hash_function = source[source.index("  function colourOf") : source.index("  function computeVisible")]
    program = (
        "const text = (v) => String(v);\n"
        + hash_function
        + f"\nconsole.log(JSON.stringify({json.dumps(keys)}.map(colourOf)));"
    )
    out = subprocess.run(["node", "-e", program], capture_output=True, text=True, timeout=30, check=True)
    assert json.loads(out.stdout) == [filters.service_colour(k) for k in keys]
    assert len({filters.service_colour(k) for k in keys}) > 1

"""The noise rules: the Python test (live feed, tail) and the SQL one (the
lists) must hide exactly the same names."""

import sqlite3

import pytest

from collector.read.noise import Noise

NAMES = {
    "/health": True,
    "GET /health": True,
    "GET /healthz?probe=1": True,
    "/health/db": True,
    "GET /ready/": True,
    "OPTIONS /api/orders": True,
    "GET /metrics": True,
    "/healthcheck": False,
    "GET /api/health-report": False,
    "GET /api/orders": False,
    "pageload /": False,
    "/": False,
    "": False,
    "GET": False,
}


@pytest.mark.parametrize(("name", "hidden"), NAMES.items())
def test_python_and_sql_agree_on_each_name(name, hidden):
    noise = Noise()
    assert noise.hides(name) is hidden
    condition, args = noise.sql("name")
    conn = sqlite3.connect(":memory:")
    shown = conn.execute(f"SELECT {condition} FROM (SELECT ? AS name)", [*args, name]).fetchone()[0]
    assert bool(shown) is not hidden


def test_added_routes_hide_more_and_nothing_hides_a_missing_name():
    noise = Noise().with_routes(["/internal/*", "/ping"])
    assert noise.hides("GET /internal/cache") and noise.hides("/ping")
    assert not noise.hides(None) and not noise.hides(["/health"])
    condition, args = noise.sql("name")
    shown = sqlite3.connect(":memory:").execute(f"SELECT {condition} FROM (SELECT NULL AS name)", args).fetchone()[0]
    assert shown == 1

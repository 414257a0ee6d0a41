"""`collector serve` and `collector doctor` options: flags, their environment
variables, which wins, and what --help says; no server is started."""

import pytest
from click.testing import CliRunner

from collector import cli
from collector.cli import serve as serve_module

ENV_NAMES = [
    "COLLECTOR_HOST",
    "COLLECTOR_PORT",
    "COLLECTOR_DB",
    "COLLECTOR_ALLOWED_HOSTS",
    "COLLECTOR_KEEP_BODIES",
    "COLLECTOR_DURABILITY",
    "COLLECTOR_MAX_CONNECTIONS",
    "COLLECTOR_HIDE_ROUTES",
]


@pytest.fixture
def served(monkeypatch):
    """Runs `collector serve ARGS` with `env`; returns (result, the ServeOptions it would serve with)."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    seen = []

    async def record(options):
        seen.append(options)

    monkeypatch.setattr(serve_module, "run_server", record)

    def serve(*args, env=None):
        result = CliRunner().invoke(cli.main, ["serve", *args], env=env)
        return result, (seen[-1] if seen else None)

    return serve


def test_defaults(served):
    result, options = served()
    assert result.exit_code == 0, result.output
    assert options == cli.ServeOptions("127.0.0.1", 8969, "collector.db", (), False, "normal", 1000)


def test_every_option_reads_its_environment_variable(served):
    env = {
        "COLLECTOR_HOST": "0.0.0.0",
        "COLLECTOR_PORT": "9000",
        "COLLECTOR_DB": "other.db",
        "COLLECTOR_ALLOWED_HOSTS": "box.lan, phone.lan,",
        "COLLECTOR_KEEP_BODIES": "1",
        "COLLECTOR_DURABILITY": "full",
        "COLLECTOR_MAX_CONNECTIONS": "5",
    }
    result, options = served(env=env)
    assert result.exit_code == 0, result.output
    assert options == cli.ServeOptions("0.0.0.0", 9000, "other.db", ("box.lan", "phone.lan"), True, "full", 5)


def test_flags_win_over_the_environment(served):
    env = {"COLLECTOR_PORT": "9000", "COLLECTOR_DB": "env.db", "COLLECTOR_ALLOWED_HOSTS": "env.lan"}
    flags = ["--port", "9100", "--db", "flag.db", "--allow-host", "a.lan", "--allow-host", "b.lan"]
    result, options = served(*flags, env=env)
    assert result.exit_code == 0, result.output
    assert (options.port, options.db, options.allow_hosts) == (9100, "flag.db", ("a.lan", "b.lan"))


@pytest.mark.parametrize("value", ["0", "false", ""])
def test_keep_bodies_off_in_the_environment(served, value):
    result, options = served(env={"COLLECTOR_KEEP_BODIES": value})
    assert result.exit_code == 0, result.output
    assert options.keep_bodies is False


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["--durability", "sometimes"], {}, "--durability"),
        ([], {"COLLECTOR_DURABILITY": "sometimes"}, "COLLECTOR_DURABILITY"),
        ([], {"COLLECTOR_PORT": "eighty"}, "COLLECTOR_PORT"),
        (["--port", "70000"], {}, "--port"),
        ([], {"COLLECTOR_KEEP_BODIES": "maybe"}, "COLLECTOR_KEEP_BODIES"),
    ],
)
def test_a_bad_value_is_a_usage_error_naming_its_source(served, args, env, named):
    result, options = served(*args, env=env)
    assert result.exit_code == 2
    assert options is None
    assert named in result.output


def test_help_names_every_environment_variable(served):
    result = CliRunner().invoke(cli.main, ["serve", "--help"], terminal_width=200)
    assert result.exit_code == 0
    for name in ENV_NAMES:
        assert f"env var: {name}" in result.output, name
    assert "default: 8969" in result.output


def test_doctor_without_a_database_exits_2_and_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("COLLECTOR_DB", str(tmp_path / "missing.db"))
    result = CliRunner().invoke(cli.main, ["doctor"])
    assert result.exit_code == 2
    assert f"no database at {tmp_path / 'missing.db'}" in result.output
    assert "run `collector serve` first" in result.output


def test_doctor_bad_window_exits_2(tmp_path):
    db = tmp_path / "c.db"
    db.touch()
    result = CliRunner().invoke(cli.main, ["doctor", "--db", str(db), "--since", "yesterday"])
    assert result.exit_code == 2
    assert result.output.startswith("error: since must look like")


def test_hidden_routes_come_from_flags_or_the_environment(served):
    _, options = served("--hide-route", "/internal/*", "--hide-route", "/status")
    assert options.hide_routes == ("/internal/*", "/status")
    _, options = served(env={"COLLECTOR_HIDE_ROUTES": "/a,/b/*,"})
    assert options.hide_routes == ("/a", "/b/*")

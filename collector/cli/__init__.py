"""The `collector` command: `collector serve`, `collector doctor` and the
commands beside them, one module each.

Every option can also be set in the environment (`--help` names each
variable); a flag on the command line wins over the environment.
"""

from __future__ import annotations

import logging

import click

DEFAULT_DB = "collector.db"


def option(*names: str, envvar: str | None = None, **settings):
    """A click option that names its environment variable and default in `--help`."""
    settings.setdefault("show_default", True)
    return click.option(*names, envvar=envvar, show_envvar=envvar is not None, **settings)


class HostName(click.ParamType):
    """A Host name (or a route); COLLECTOR_ALLOWED_HOSTS (COLLECTOR_HIDE_ROUTES) lists several, comma-separated."""

    name = "name"
    envvar_list_splitter = ","

    def convert(self, value, param, ctx) -> str:
        return value.strip()


db_option = option("--db", envvar="COLLECTOR_DB", default=DEFAULT_DB, metavar="PATH", help="SQLite file.")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
def main() -> None:
    """A local, Sentry-compatible envelope collector."""
    logging.basicConfig(level=logging.WARNING, format="collector: %(levelname)s %(name)s: %(message)s")


# Each module adds its command to `main`.
from . import doctor, serve  # noqa: E402
from . import export as export  # noqa: E402
from . import importer as importer  # noqa: E402
from . import mcp as mcp  # noqa: E402
from . import purge as purge  # noqa: E402
from . import run as run  # noqa: E402
from . import tail as tail  # noqa: E402
from .serve import ServeOptions  # noqa: E402

__all__ = ["DEFAULT_DB", "ServeOptions", "db_option", "doctor", "main", "option", "serve"]

"""`collector mcp`: the MCP tools over stdio, for a coding agent to start.

It reads the SQLite file read-only, beside a running `collector serve` or
without one (WAL: it never blocks the writer). The file may not exist yet:
the agent starts this server when it starts, maybe before the collector, so
each call checks again and, until the file is there, answers what to do.
"""

from __future__ import annotations

import os

from ..mcp.tools import NoData, build_server
from ..storage.reader import Reader
from . import db_option, main


class FileReads:
    """Reader.run on the file, opened once it exists."""

    def __init__(self, path: str):
        self.path = path
        self._reader: Reader | None = None

    async def run(self, fn, *args):
        if self._reader is None:
            if not os.path.exists(self.path):
                raise NoData(
                    f"no collector data at {os.path.abspath(self.path)}: start `collector serve` (or `make run`) "
                    "first, or give `collector mcp --db PATH` the file it writes"
                )
            self._reader = Reader(self.path, threads=2)
        return await self._reader.run(fn, *args)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()


@main.command("mcp")
@db_option
def mcp_command(db: str) -> None:
    """Serve the collector's traces, errors, logs, doctor and users to a coding agent (MCP over stdio).

    Add it to the agent as a stdio server running `collector mcp --db PATH`; the running collector
    also serves the same tools over HTTP at /mcp.
    """
    reads = FileReads(db)
    try:
        build_server(reads.run).run("stdio")
    finally:
        reads.close()

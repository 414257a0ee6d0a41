"""Noticing the database file deleted or replaced while the collector runs.

Both sides check: the writer process before every commit (rows must not go
to a file nobody will read), the server once a second (so pages say so even
when nothing is being sent).
"""

from __future__ import annotations

import os


def file_identity(path: str) -> tuple[int, int] | None:
    """Which file a path names now (device, inode), or None when it is gone:
    a database deleted or replaced while the collector runs has a new one."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino)


def replaced_reason(path: str) -> str:
    return (
        f"the database file {path} was deleted or replaced while the collector was running, so nothing more is "
        "stored: restart the collector to open the file now at that path"
    )

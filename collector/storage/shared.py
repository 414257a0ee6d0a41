"""One writer process for several server processes (`serve --workers N`).

The primary server, which holds the database's lock file and starts the
writer process, also listens on a unix socket; the writer process accepts
the other servers there (peers.py). The socket lives in a fresh directory
only this user can enter (a short path, whatever the database's path, and
no other user can connect), and is removed when the primary stops.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile

from . import wire

# Connections waiting to be accepted: every worker may reconnect at once
# while the writer process restarts.
BACKLOG = 64


class Listener:
    """The unix socket the other server processes connect to."""

    def __init__(self):
        self._directory = tempfile.mkdtemp(prefix="collector-")
        self.address = os.path.join(self._directory, "writer.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.address)
        os.chmod(self.address, 0o600)
        self.sock.listen(BACKLOG)

    def close(self) -> None:
        self.sock.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.address)
        with contextlib.suppress(OSError):
            os.rmdir(self._directory)


def connect(address: str, timeout: float) -> socket.socket:
    """A connection to the writer process once it has said the database is
    open (its hello), non-blocking for the event loop. OSError or EOFError
    when it cannot be reached."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(address)
        # While the primary restarts the writer, a connection waits in the
        # backlog until the new process accepts it and says hello.
        wire.receive(sock)
    except BaseException:
        sock.close()
        raise
    sock.setblocking(False)
    return sock

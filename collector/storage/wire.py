"""What passes between the server and the writer process, and how.

The server sends one `Packet` per batch as soon as the batch is made, and
None to say "stop". The writer process answers each group of packets it
committed with one `Answer`. Both travel over a socket pair as frames: a
4-byte length, then a pickle. Packets hold plain tuples, not dicts, because
a packet is pickled on the event loop and unpickled by the writer for every
request: the cheaper it is to send, the more requests a second.
"""

from __future__ import annotations

import copyreg
import dataclasses
import operator
import pickle
import socket
import struct
from typing import TYPE_CHECKING, NamedTuple

from . import schema
from .summaries import TraceSummary

if TYPE_CHECKING:
    # Only the server reads with asyncio; the writer process does without it.
    import asyncio


# Rows travel to the writer process as tuples in these column orders. The
# process adds what only it knows: an envelope's id, first in `envelopes`
# and last (`envelope_id`) in every table holding rows of an envelope.
def _row_columns(table: str) -> list[str]:
    return [c for c in schema.columns(table) if c != "envelope_id" and not (table == "envelopes" and c == "id")]


ROW_COLUMNS = {table: _row_columns(table) for table in schema.TABLES}
# A row holding every column is read by one C call; one lacking some (a
# column left out means NULL) by a lookup per column.
_GETTERS = {table: operator.itemgetter(*columns) for table, columns in ROW_COLUMNS.items() if len(columns) > 1}


def values(table: str, row: dict) -> tuple:
    """A row as it travels: its values in ROW_COLUMNS order."""
    try:
        return _GETTERS[table](row)
    except KeyError:
        return tuple(map(row.get, ROW_COLUMNS[table]))


class Packet(NamedTuple):
    """One batch, as the writer process takes it."""

    # The envelope's own row (ROW_COLUMNS["envelopes"]), or None for rows
    # that came without one (a rejection).
    envelope: tuple | None
    # Rows by table, each in its ROW_COLUMNS order.
    rows: dict[str, list[tuple]]
    # What the rows add to each trace's summary, by trace id.
    traces: dict[str, TraceSummary]


class Raw(NamedTuple):
    """A batch for the writer process to make into a Packet itself, with the
    `prepare` function it was started with (process.command): the server
    sends what it received, and the parsing runs on the writer's core."""

    args: tuple


class Chore(NamedTuple):
    """Work on what is stored rather than new rows (delete old traces, mark
    forwarded envelopes delivered): the writer process owns the only write
    connection, so such work travels to it like a packet, in order with
    them, and is answered like one. `name` is a key of `chores.CHORES`."""

    name: str
    args: tuple = ()


class Answer(NamedTuple):
    """The writer process's answer to one group of packets, or to one chore."""

    # One per packet, in the order they were sent: None once its rows are
    # committed, else why they were not stored.
    errors: list[str | None]
    # Why the database file is gone (deleted or replaced), if it is.
    gone: str | None
    # A chore's result (one, beside its one error); empty for packets.
    results: tuple = ()


# A slotted dataclass pickles through copyreg's generic state path, which
# cost as much as all of a 20-span packet's rows: its fields go plainly, in
# order (a field added to TraceSummary travels too).
_SUMMARY_FIELDS = operator.attrgetter(*(f.name for f in dataclasses.fields(TraceSummary)))


def _reduce_summary(t: TraceSummary):
    return TraceSummary, _SUMMARY_FIELDS(t)


copyreg.pickle(TraceSummary, _reduce_summary)

LENGTH = struct.Struct("!I")


def frame(message) -> bytes:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return LENGTH.pack(len(data)) + data


def send(sock: socket.socket, message) -> None:
    sock.sendall(frame(message))


def receive(sock: socket.socket):
    """One message from a blocking socket."""
    (length,) = LENGTH.unpack(_read_exactly(sock, LENGTH.size))
    return pickle.loads(_read_exactly(sock, length))


async def read(reader: asyncio.StreamReader):
    """One message from the event loop's end of the socket."""
    (length,) = LENGTH.unpack(await reader.readexactly(LENGTH.size))
    return pickle.loads(await reader.readexactly(length))


def _read_exactly(sock: socket.socket, n: int) -> bytearray:
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        read = sock.recv_into(view[got:])
        if not read:
            raise EOFError("the other process closed the connection")
        got += read
    return buf


class Frames:
    """Messages from a socket, as many at a time as have arrived: one read
    takes everything waiting, however many packets that is."""

    def __init__(self, sock: socket.socket):
        self._sock = sock
        self._buffer = bytearray()

    def waiting(self, limit: int) -> list:
        """At least one message (blocking until one is complete), at most `limit`."""
        while True:
            messages = self._complete(limit)
            if messages:
                return messages
            chunk = self._sock.recv(1 << 20)
            if not chunk:
                raise EOFError("the server closed the connection")
            self._buffer += chunk

    def _complete(self, limit: int) -> list:
        buffer, at, messages = self._buffer, 0, []
        with memoryview(buffer) as view:
            while len(messages) < limit and len(buffer) - at >= LENGTH.size:
                (length,) = LENGTH.unpack_from(view, at)
                end = at + LENGTH.size + length
                if end > len(buffer):
                    break
                messages.append(pickle.loads(view[at + LENGTH.size : end]))
                at = end
        # Deleting from the front also gives back the memory of a large
        # upload: bytearray shrinks once less than half of it is in use.
        del buffer[:at]
        return messages

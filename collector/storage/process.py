"""The writer process: a program of its own that owns the write connection.

The server starts it (`command`) with one end of a socket pair. It opens the
database, says whether that worked, then takes every packet waiting in its
socket as one group, commits the group, and answers for it; until the server
says stop, or is gone. With `serve --workers N` the other server processes
connect too (peers.py): a group then holds what each of them sent. With one
server, envelopes come raw (wire.Raw) and this process makes their rows
first, with the function the server named in `command`.

Why a process and not a thread: parsing requests and writing SQLite then run
on two cores instead of taking turns on one interpreter lock (`make bench`).
Why a fresh interpreter and not multiprocessing: the server runs threads, so
forking it is unsafe; and multiprocessing's other ways of starting a process
run the main script again in the child, which fails for any script that
imports the collector without an `if __name__ == "__main__":` guard.
"""

from __future__ import annotations

import gc
import importlib
import os
import signal
import socket
import sqlite3
import sys
from collections.abc import Callable

from . import wire
from .peers import Peer, Peers
from .store import Store


def command(fd: int, path: str, durability: str, listener: int | None = None, prepare: str | None = None) -> list[str]:
    """How the server starts the writer process, handing it the socket `fd`
    (and the listening socket other server processes connect to, if any).
    `prepare` names the function ("module:function") that makes a Packet of
    each wire.Raw message, or why it cannot: the layer that sends them
    (ingest) names it, so this one need not import it.
    -P: no working directory first on the import path (see `environment`)."""
    optional = [str(listener) if listener is not None else NONE, prepare or NONE]
    return [sys.executable, "-P", "-m", __name__, str(fd), path, durability, *optional]


# An optional argument left out of `command`.
NONE = "-"


def environment() -> dict[str, str]:
    """The server's environment, with the server's import path first: the
    writer process imports the same collector as the server, wherever that
    came from (a checkout beside a script, another in the working directory)."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}


def tune_gc() -> None:
    """Garbage collection for the server and writer processes: what exists
    at startup (modules, the app) is never collected, so it is frozen out of
    every later pass; and collections wait for 50,000 new objects, not 700.
    A request or a 10,000-span trace page allocates tens of thousands of
    dicts that reference counting frees anyway; collecting every 700 took a
    third of that page's time."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 10)


def serve(
    path: str,
    sock: socket.socket,
    durability: str = "normal",
    listener: socket.socket | None = None,
    prepare: Callable[[tuple], wire.Packet | str] | None = None,
) -> None:
    """Commit each group the sockets bring, answer one error (or None) per
    packet on the connection that sent it. Ends when told to (a None packet
    from the server that started it), or when that server is gone (its
    socket closes). `listener`, with `serve --workers N`, is where the
    other server processes connect."""
    try:
        store = Store(path, durability)
    except (sqlite3.Error, OSError) as e:
        wire.send(sock, open_failure(path, e))
        return
    wire.send(sock, None)
    peers = Peers(sock, listener)
    try:
        stopping = False
        while not stopping:
            try:
                inbox = peers.receive()
                stopping = None in inbox.get(peers.primary, ())
                if stopping:
                    inbox[peers.primary] = [m for m in inbox[peers.primary] if m is not None]
                peers.answer(_turn(store, inbox, prepare))
            except (EOFError, OSError):
                # The server is gone: what was committed stays committed.
                break
    finally:
        peers.close()
        store.close()


def _turn(store: Store, inbox: dict[Peer, list], prepare=None) -> dict[Peer, list[wire.Answer]]:
    """The answers to one turn's messages, by connection. Every connection's
    packets up to its first chore are committed as one group (the more
    servers, the larger the group); the rest of each is answered in order."""
    leading, rest = {}, {}
    for peer, messages in inbox.items():
        cut = next((i for i, m in enumerate(messages) if isinstance(m, wire.Chore)), len(messages))
        leading[peer], rest[peer] = messages[:cut], messages[cut:]
    answers: dict[Peer, list[wire.Answer]] = {peer: [] for peer in inbox}
    group = [packet for packets in leading.values() for packet in packets]
    if group:
        committed = _commit(store, group, prepare)
        at = 0
        for peer, packets in leading.items():
            if packets:
                answers[peer].append(wire.Answer(committed.errors[at : at + len(packets)], committed.gone))
                at += len(packets)
    for peer, messages in rest.items():
        answers[peer].extend(_answers(store, messages, prepare))
    return answers


def _answers(store: Store, group: list, prepare=None):
    """Packets are committed together, up to each chore, which runs alone
    in its place: everything is answered in the order it was sent."""
    packets = []
    for message in group:
        if isinstance(message, wire.Chore):
            if packets:
                yield _commit(store, packets, prepare)
                packets = []
            yield store.chore(message)
        else:
            packets.append(message)
    if packets:
        yield _commit(store, packets, prepare)


def _commit(store: Store, messages: list, prepare) -> wire.Answer:
    """Commits packets as one group, each wire.Raw made a Packet first; one
    that `prepare` cannot make is answered with why, in its place."""
    packets, failed = [], {}
    for i, message in enumerate(messages):
        if isinstance(message, wire.Raw):
            message = prepare(message.args) if prepare else NO_PREPARE
            if isinstance(message, str):
                failed[i] = message
                continue
        packets.append(message)
    if not failed:
        return store.commit(packets)
    committed = store.commit(packets) if packets else wire.Answer([], None)
    errors = iter(committed.errors)
    return wire.Answer([failed[i] if i in failed else next(errors) for i in range(len(messages))], committed.gone)


NO_PREPARE = "the writer process was started without a function to prepare envelopes with"


def open_failure(path: str, error: Exception) -> str:
    if isinstance(error, sqlite3.OperationalError) and "locked" in str(error):
        return (
            f"another program holds a write lock on {path} ({error}): close the sqlite3 shell or database tool "
            "with an open write transaction on it, and the collector starts writing again"
        )
    return f"cannot open the database {path}: {error}"


def _function(name: str):
    module, _, function = name.partition(":")
    return getattr(importlib.import_module(module), function)


def main(argv: list[str]) -> None:
    fd, path, durability, shared, prepare = argv
    # Ctrl-C reaches the whole process group; the server stops this process
    # itself once it has drained the queue.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    prepare_function = _function(prepare) if prepare != NONE else None
    tune_gc()
    listener = socket.socket(fileno=int(shared)) if shared != NONE else None
    with socket.socket(fileno=int(fd)) as sock:
        serve(path, sock, durability, listener, prepare_function)


if __name__ == "__main__":
    main(sys.argv[1:])

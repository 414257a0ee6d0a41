"""The writer process's connections: one per server process.

The server that started the writer (the primary) holds a socket pair to it;
with `serve --workers N` the other server processes connect to a unix
socket the primary listens on (`shared.Listener`) and the writer accepts
them. Each turn takes what every connection has waiting, never blocking on
one while another has packets, and answers each on its own connection, in
the order it sent them. A connection that answers nothing this turn is told
that something was committed (an Answer with no errors): its live feed
reads the news, as the sender's does on its answer.
"""

from __future__ import annotations

import logging
import selectors
import socket

from . import wire

log = logging.getLogger(__name__)

# How many messages one connection adds to a turn; bounds the latency of
# the first packet in a burst.
MAX_GROUP = 512


class _DontWait:
    """The socket as `wire.Frames` reads it: a read that never blocks and
    raises BlockingIOError when nothing is waiting. The socket itself stays
    blocking, so answers are sent whole."""

    __slots__ = ("_sock",)

    def __init__(self, sock: socket.socket):
        self._sock = sock

    def recv(self, size: int) -> bytes:
        return self._sock.recv(size, socket.MSG_DONTWAIT)


class Peer:
    """One server process's connection."""

    __slots__ = ("frames", "sock")

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.frames = wire.Frames(_DontWait(sock))


class Peers:
    def __init__(self, primary: socket.socket, listener: socket.socket | None = None):
        self.primary = Peer(primary)
        self._others: list[Peer] = []
        self._listener = listener
        self._selector = selectors.DefaultSelector()
        self._selector.register(primary, selectors.EVENT_READ)
        if listener is not None:
            # Another server may give up on a connection before it is
            # accepted: accept() must not wait for the next one.
            listener.setblocking(False)
            self._selector.register(listener, selectors.EVENT_READ)

    def receive(self) -> dict[Peer, list]:
        """The messages waiting, by connection (at least one message in all).
        EOFError or OSError when the primary is gone; another server gone
        is dropped (its requests failed with it)."""
        while True:
            if self._listener is not None:
                # Each turn, not only when idle: a busy primary must not
                # keep a worker waiting for its hello.
                self._accept()
            inbox = {}
            for peer in (self.primary, *self._others):
                try:
                    messages = peer.frames.waiting(MAX_GROUP)
                except BlockingIOError:
                    continue
                except (EOFError, OSError):
                    if peer is self.primary:
                        raise
                    self._drop(peer)
                    continue
                inbox[peer] = messages
            if inbox:
                return inbox
            # Wakes for packets and for connections to accept alike.
            self._selector.select()

    def answer(self, answers: dict[Peer, list[wire.Answer]]) -> None:
        """Sends each connection its answers; those with none this turn hear
        that something was committed. OSError when the primary is gone."""
        sent = [a for out in answers.values() for a in out]
        news = [wire.Answer([], sent[-1].gone)] if sent else []
        for peer in (self.primary, *self._others):
            out = answers.get(peer) or (news if self._others else ())
            if not out:
                continue
            try:
                peer.sock.sendall(b"".join(map(wire.frame, out)))
            except OSError:
                if peer is self.primary:
                    raise
                self._drop(peer)

    def close(self) -> None:
        for peer in self._others:
            peer.sock.close()
        self._selector.close()

    def _accept(self) -> None:
        try:
            sock, _ = self._listener.accept()
        except BlockingIOError:
            return
        sock.setblocking(True)
        try:
            # The same hello the primary had: the database is open.
            wire.send(sock, None)
        except OSError:
            sock.close()
            return
        self._others.append(Peer(sock))
        self._selector.register(sock, selectors.EVENT_READ)

    def _drop(self, peer: Peer) -> None:
        self._others.remove(peer)
        self._selector.unregister(peer.sock)
        peer.sock.close()

"""The wire's outer framing: every message is a 2-byte big-endian length, then that many bytes.

One reader per connection keeps its own buffer, so a message split over many TCP segments (or
many messages in one) is reassembled here and nowhere else. A connection that ends mid-message
is :class:`Closed`, like one that ends between messages: a partial message is never handed on.
"""

from __future__ import annotations

import socket

MAX_MESSAGE = 65535
_READ = 1 << 18


class Closed(ConnectionError):
    """The peer closed the connection (or it broke); ``partial`` says whether mid-message."""

    def __init__(self, message: str = "the connection was closed", partial: bool = False):
        super().__init__(message)
        self.partial = partial


def encode(message: bytes) -> bytes:
    """``message`` with its length prefix; ValueError when it is over 65535 bytes."""
    if len(message) > MAX_MESSAGE:
        raise ValueError(f"a message of {len(message)} bytes is over the {MAX_MESSAGE}-byte limit")
    return len(message).to_bytes(2, "big") + message


class Wire:
    """Length-prefixed messages over one connected socket."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self._buf = bytearray()

    def send(self, message: bytes) -> None:
        self.sock.sendall(encode(message))

    def send_many(self, messages: list[bytes]) -> None:
        self.sock.sendall(b"".join(encode(m) for m in messages))

    def buffered(self) -> bool:
        """Whether a whole message is already waiting in the buffer (no read needed)."""
        buf = self._buf
        return len(buf) >= 2 and len(buf) >= 2 + int.from_bytes(buf[:2], "big")

    def _fill(self) -> None:
        data = self.sock.recv(_READ)
        if not data:
            raise Closed(partial=bool(self._buf))
        self._buf += data

    def recv(self) -> bytes:
        """The next message; :class:`Closed` when the connection ends first."""
        buf = self._buf
        while len(buf) < 2:
            self._fill()
        size = int.from_bytes(buf[:2], "big")
        while len(buf) < 2 + size:
            self._fill()
        message = bytes(buf[2:2 + size])
        del buf[:2 + size]
        return message

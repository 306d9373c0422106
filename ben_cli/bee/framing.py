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
        self._pos = 0  # where the next message starts in _buf (consumed bytes are cut off in batches)

    def send(self, message: bytes) -> None:
        self.sock.sendall(encode(message))

    def send_many(self, messages: list[bytes]) -> None:
        self.sock.sendall(b"".join(encode(m) for m in messages))

    def buffered(self) -> bool:
        """Whether a whole message is already waiting in the buffer (no read needed)."""
        buf, pos = self._buf, self._pos
        return len(buf) - pos >= 2 and len(buf) - pos >= 2 + int.from_bytes(buf[pos:pos + 2], "big")

    def _fill(self) -> None:
        if self._pos:
            del self._buf[:self._pos]
            self._pos = 0
        data = self.sock.recv(_READ)
        if not data:
            raise Closed(partial=bool(self._buf))
        self._buf += data

    def recv(self) -> bytes:
        """The next message; :class:`Closed` when the connection ends first."""
        while len(self._buf) - self._pos < 2:
            self._fill()
        size = int.from_bytes(self._buf[self._pos:self._pos + 2], "big")
        while len(self._buf) - self._pos < 2 + size:
            self._fill()
        start = self._pos + 2
        self._pos = start + size
        return bytes(self._buf[start:self._pos])

"""Where a bee listens or connects: ``HOST:PORT``, ``:PORT`` (loopback), or a Unix socket.

A Unix socket is written ``unix:PATH`` or as any path holding a ``/``. A bare port or ``:PORT``
means 127.0.0.1: a listener is reachable from other hosts only when its address says so
(``0.0.0.0:7400``, ``[::]:7400``).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

from ben_cli.errors import UsageError


@dataclass(frozen=True)
class Address:
    family: int
    target: str | tuple[str, int]

    def __str__(self) -> str:
        if self.family == socket.AF_UNIX:
            return f"unix:{self.target}"
        assert isinstance(self.target, tuple)
        host, port = self.target
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def connect(self, timeout: float) -> socket.socket:
        sock = socket.socket(self.family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(self.target)
            sock.settimeout(None)
            if self.family != socket.AF_UNIX:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            sock.close()
            raise
        return sock

    def listen(self, backlog: int = 128) -> socket.socket:
        sock = socket.socket(self.family, socket.SOCK_STREAM)
        if self.family == socket.AF_UNIX:
            assert isinstance(self.target, str)
            if os.path.exists(self.target):
                os.unlink(self.target)  # a socket file left by a listener that was killed
        else:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(self.target)
        except OSError as exc:
            sock.close()
            raise UsageError(f"cannot listen on {self}: {exc.strerror}") from None
        sock.listen(backlog)
        return sock


def parse(text: str) -> Address:
    """The address ``text`` names; :class:`UsageError` saying what a good one looks like."""
    if text.startswith("unix:") or "/" in text:
        path = text[5:] if text.startswith("unix:") else text
        if not path:
            raise UsageError("unix: needs a socket path (unix:/run/ben/bee.sock)")
        return Address(socket.AF_UNIX, path)
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "", text
    host = host.strip("[]") or "127.0.0.1"
    # ASCII digits only: str.isdigit() also takes '¹' and '١', which int() refuses or reads as digits
    if not (port.isascii() and port.isdigit()) or not 0 <= int(port) <= 65535:
        raise UsageError(f"{text!r} is not an address: give HOST:PORT, :PORT or unix:PATH")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return Address(family, (host, int(port)))

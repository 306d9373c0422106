"""``ben ingest --listen``: a streaming service that decodes what clients send.

One thread and one ``selectors`` loop serve a TCP or Unix stream socket (many clients, each a
line-delimited stream with its own decoder and line numbers) or a UDP socket (syslog: one
message per datagram). Records from all clients go to one output, whole lines only.

Memory stays bounded whatever the clients and the consumer do:

- each client's buffer holds at most one partial line (``max_line_bytes``; a longer line is
  rejected and skipped to its end) plus one receive block;
- output is written synchronously: when stdout is slow, writing blocks, the loop stops reading,
  the kernel's socket buffers fill and TCP pushes back on the senders;
- a NUL byte ends a line as a newline does (the framing of Python's ``SysLogHandler`` over TCP);
- at most ``max_clients`` connections are served; further ones wait in the listen backlog;
- UDP has no backpressure: datagrams the kernel drops because ben fell behind are counted
  (Linux's ``SO_RXQ_OVFL``) and reported as ``dropped`` in the summary.

SIGTERM or SIGINT stops accepting, reads what connected clients had already sent, decodes it,
flushes the output and returns. Only loopback addresses are served unless ``allow_remote``.
"""

from __future__ import annotations

import ipaddress
import os
import selectors
import signal
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from ben_cli import registry
from ben_cli.errors import Busy, UsageError
from ben_cli.ingest.core import Ingester
from ben_cli.ingest.options import IngestOptions
from ben_cli.ingest.sniff import SNIFF_BYTES, choose_format
from ben_cli.ingest.summary import IngestSummary
from ben_cli.ndjson import Writer
from ben_cli.rejects import Rejects

RECV_BYTES = 1 << 16
SO_RXQ_OVFL = getattr(socket, "SO_RXQ_OVFL", 40)  # Linux: count of datagrams dropped before this one
BACKLOG = 128


@dataclass(frozen=True)
class Address:
    kind: str  # tcp, udp or unix
    host: str = ""
    port: int = 0
    path: str = ""

    def __str__(self) -> str:
        return f"unix:{self.path}" if self.kind == "unix" else f"{self.kind}://{self.host}:{self.port}"

    def is_loopback(self) -> bool:
        if self.kind == "unix":
            return True
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def parse_address(text: str) -> Address:
    """``tcp://HOST:PORT``, ``udp://HOST:PORT`` or ``unix:PATH``; a :class:`UsageError` otherwise."""
    if text.startswith("unix:"):
        path = text[5:]
        if path.startswith("//"):
            path = path[2:]
        if not path:
            raise UsageError("unix: needs a socket path, e.g. unix:/tmp/ben.sock")
        return Address("unix", path=path)
    parts = urlsplit(text)
    if parts.scheme not in ("tcp", "udp"):
        raise UsageError(f"{text!r}: use tcp://HOST:PORT, udp://HOST:PORT or unix:PATH")
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None:
        raise UsageError(f"{text!r}: needs a host and a port, e.g. {parts.scheme}://127.0.0.1:5140")
    return Address(parts.scheme, parts.hostname, port)


class _Client:
    """One stream connection: its buffer and its decoding core (made at its first line)."""

    __slots__ = ("sock", "peer", "buf", "core", "skipping")

    def __init__(self, sock: socket.socket, peer: str):
        self.sock, self.peer = sock, peer
        self.buf = b""
        self.core: Ingester | None = None
        self.skipping = False  # inside a line that went over the limit: drop bytes to its newline


class Listener:
    def __init__(self, address: Address, writer: Writer, rejects: Rejects, summary: IngestSummary,
                 options: IngestOptions):
        self.address, self.writer, self.rejects, self.summary = address, writer, rejects, summary
        self.fixed = None if options.format == "auto" else registry.formats.get(options.format)
        self.options, self.max_line_bytes = options, options.max_line_bytes
        self.sel = selectors.DefaultSelector()
        self.clients: dict[int, _Client] = {}
        self.stopping = False
        self.dropped = 0
        self.accepting = False
        self.sock = self._bind()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self.sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._udp: _Client | None = None
        if address.kind == "udp":
            self.sel.register(self.sock, selectors.EVENT_READ, "udp")
        else:
            self._accept_on()

    @property
    def bound(self) -> str:
        if self.address.kind == "unix":
            return str(self.address)
        host, port = self.sock.getsockname()[:2]
        return f"{self.address.kind}://{host}:{port}"

    def _bind(self) -> socket.socket:
        a = self.address
        if a.kind == "unix":
            if os.path.exists(a.path):
                probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    probe.connect(a.path)
                except OSError:
                    os.unlink(a.path)  # a socket file left by a run that ended without cleaning up
                else:
                    probe.close()
                    raise Busy(f"{a.path}: another server is listening there")
                probe.close()
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.bind(a.path)
        else:
            infos = socket.getaddrinfo(a.host, a.port, type=socket.SOCK_DGRAM if a.kind == "udp" else socket.SOCK_STREAM)
            family, kind, proto, _, sockaddr = infos[0]
            sock = socket.socket(family, kind, proto)
            if a.kind == "tcp":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            else:
                try:
                    sock.setsockopt(socket.SOL_SOCKET, SO_RXQ_OVFL, 1)
                except OSError:
                    pass  # not Linux: drops go uncounted
            sock.bind(sockaddr)
        if a.kind != "udp":
            sock.listen(BACKLOG)
        sock.setblocking(False)
        return sock

    def _accept_on(self) -> None:
        if not self.accepting and not self.stopping:
            self.sel.register(self.sock, selectors.EVENT_READ, "accept")
            self.accepting = True

    def _accept_off(self) -> None:
        if self.accepting:
            self.sel.unregister(self.sock)
            self.accepting = False

    def request_stop(self, *_: object) -> None:
        self.stopping = True
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass

    # -- the loop ---------------------------------------------------------------------------

    def serve(self) -> None:
        while not self.stopping:
            events = self.sel.select(timeout=1.0)
            for key, _ in events:
                tag = key.data
                if tag == "accept":
                    self._accept()
                elif tag == "udp":
                    self._read_datagrams()
                elif tag == "wake":
                    try:
                        self._wake_r.recv(64)
                    except BlockingIOError:
                        pass
                else:
                    self._read_client(tag)
            self.writer.flush()  # nothing more ready: let the consumer see what came
        self._shutdown()

    def _accept(self) -> None:
        while len(self.clients) < self.options.max_clients:
            try:
                conn, addr = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            conn.setblocking(False)
            peer = f"{addr[0]}:{addr[1]}" if isinstance(addr, tuple) else f"unix:{self.address.path}#{conn.fileno()}"
            client = _Client(conn, peer)
            self.clients[conn.fileno()] = client
            self.sel.register(conn, selectors.EVENT_READ, client)
        self._accept_off()  # at the limit: the kernel's backlog holds the rest

    def _read_client(self, client: _Client) -> None:
        try:
            data = client.sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._close(client)
            return
        self._feed(client, data)

    def _feed(self, client: _Client, data: bytes) -> None:
        if b"\x00" in data:  # NUL ends a message in the stdlib SysLogHandler's TCP framing
            data = data.replace(b"\x00", b"\n")
        if client.skipping:
            nl = data.find(b"\n")
            if nl < 0:
                return
            client.skipping = False  # the dropped line was numbered when it went over the limit
            data = data[nl + 1:]
        buf = client.buf + data if client.buf else data
        cut = buf.rfind(b"\n")
        if cut < 0:
            client.buf = buf
        else:
            client.buf = buf[cut + 1:]
            self._decode(client, buf[: cut + 1])
        if len(client.buf) > self.max_line_bytes:
            self._too_long(client, client.buf[:256], "line")
            client.buf = b""
            client.skipping = True

    def _core(self, client: _Client, sample: bytes) -> Ingester:
        """The client's core, made for the format named or sniffed from its first bytes."""
        if client.core is None:
            fmt = choose_format(self.fixed, sample[:SNIFF_BYTES], client.peer, self.options.on_format)
            client.core = Ingester(fmt, self.options.decode, peer=client.peer, on_error=self.rejects.add,
                                   max_line_bytes=self.max_line_bytes)
        return client.core

    def _too_long(self, client: _Client, raw: bytes, what: str) -> None:
        """A line or datagram dropped for its length: it takes a line number and is rejected."""
        reader = self._core(client, raw).reader
        reader.lineno += 1
        reader.reject(f"{what} is over the {self.max_line_bytes}-byte limit", raw)
        self.summary.add(client.core.format.name, 1, 0, 1)  # type: ignore[union-attr]

    def _decode(self, client: _Client, block: bytes) -> None:
        core = self._core(client, block)
        self._emit(core, core.feed(block.splitlines(keepends=True)))

    def _end(self, client: _Client) -> None:
        if client.core is not None:
            self._emit(client.core, client.core.flush())

    def _emit(self, core: Ingester, records: Iterator[dict]) -> None:
        emitted, rejected, read = self.writer.count, self.rejects.count, core.read
        write = self.writer.write
        for rec in records:
            write(rec)
        self.summary.add(core.format.name, core.read - read, self.writer.count - emitted,
                         self.rejects.count - rejected)

    def _close(self, client: _Client) -> None:
        """The client is gone: its last line counts even without a newline."""
        if client.buf and not client.skipping:
            self._decode(client, client.buf)
            client.buf = b""
        self._end(client)
        self.sel.unregister(client.sock)
        del self.clients[client.sock.fileno()]
        client.sock.close()
        self._accept_on()

    def _read_datagrams(self) -> None:
        for _ in range(256):  # then give the loop a turn
            try:
                data, anc, _flags, addr = self.sock.recvmsg(self.max_line_bytes + 1, socket.CMSG_SPACE(4))
            except (BlockingIOError, InterruptedError):
                return
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == SO_RXQ_OVFL and len(payload) >= 4:
                    self.dropped = struct.unpack("I", payload[:4])[0]
            self._datagram(data, addr)

    def _datagram(self, data: bytes, addr: object) -> None:
        peer = f"{addr[0]}:{addr[1]}" if isinstance(addr, tuple) else "udp"
        if self._udp is None:
            self._udp = _Client(self.sock, "udp")
        client = self._udp
        if client.core is None:
            client.peer = peer
        if len(data) > self.max_line_bytes:
            self._too_long(client, data[:256], "datagram")
            return
        self._decode(client, data.rstrip(b"\x00\n") + b"\n")  # the stdlib SysLogHandler ends datagrams with NUL

    def _shutdown(self) -> None:
        """Stop accepting, take in what clients already sent, decode it, flush."""
        self._accept_off()
        if self.address.kind == "udp":
            self._read_datagrams()
        for client in list(self.clients.values()):
            while client.sock.fileno() in self.clients:
                try:
                    data = client.sock.recv(RECV_BYTES)
                except (BlockingIOError, InterruptedError):
                    self._close(client)
                    break
                except OSError:
                    data = b""
                if not data:
                    self._close(client)
                    break
                self._feed(client, data)
        if self._udp is not None:
            self._end(self._udp)
        self.writer.flush()
        self.sel.close()
        self.sock.close()
        self._wake_r.close()
        self._wake_w.close()
        if self.address.kind == "unix":
            try:
                os.unlink(self.address.path)
            except FileNotFoundError:
                pass
        if self.dropped:
            self.summary.extra["dropped"] = self.dropped


def serve(writer: Writer, rejects: Rejects, options: IngestOptions, summary: IngestSummary) -> None:
    """Serve ``options.listen`` until SIGTERM or SIGINT, writing decoded records to ``writer``."""
    assert options.listen is not None
    where = parse_address(options.listen)
    if not options.allow_remote and not where.is_loopback():
        raise UsageError(f"{where} is not a loopback address; add --allow-remote to serve other hosts")
    listener = Listener(where, writer, rejects, summary, options)
    old_term = signal.signal(signal.SIGTERM, listener.request_stop)
    old_int = signal.signal(signal.SIGINT, listener.request_stop)
    try:
        if options.on_ready is not None:
            options.on_ready(listener.bound)
        listener.serve()
    finally:
        signal.signal(signal.SIGTERM, old_term)
        signal.signal(signal.SIGINT, old_int)

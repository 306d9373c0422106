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

No client can hold the service (``timed out``, ``refused`` and ``cut`` in the summary count
what these did):

- fair reading: each turn of the loop takes at most one receive block (64 KiB) from each client
  that has data, so a client streaming at full speed gets its share and no more;
- ``line_timeout``: a line begun but not finished within it (a client sending a byte a second,
  or stuck mid-line) is rejected with the text received and the connection closed;
- ``idle_timeout``: a connection that sends nothing for that long is closed;
- ``max_per_address``: at most that many connections from one IP address (from one user id on
  a Unix socket); further ones are accepted and closed at once, so they never wait in the backlog
  ahead of other clients.

A client counts as slow or idle only when it has nothing waiting in the kernel: time ben spends
blocked on a slow consumer is never charged to the clients.

SIGTERM or SIGINT stops accepting (connections not yet accepted are reset) and drains, within
``drain_timeout``: from each connected client ben reads what the kernel had already received from
it when the signal came, and no more, decodes it, flushes the output and returns. A client that
had finished sending (nothing more from it within ``SETTLE``) has its unfinished last line decoded
as at the end of a connection; a client
still sending has the line it was in rejected (``cut``), and what it sends after the signal is
refused with the connection. Writing still waits for a consumer that is not reading (that is the
backpressure); a second SIGTERM or SIGINT ends ben at once, drain or no drain.
Only loopback addresses are served unless ``allow_remote``.
"""

from __future__ import annotations

import fcntl
import ipaddress
import os
import selectors
import signal
import socket
import stat
import struct
import termios
import time
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
SETTLE = 0.05  # on SIGTERM, how long to wait for the rest of a line a client was in the middle of


@dataclass(frozen=True)
class Address:
    kind: str  # tcp, udp or unix; grpc or http for the OTLP service (otlp_service.py)
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
    """``tcp://HOST:PORT``, ``udp://HOST:PORT``, ``unix:PATH``, or the OTLP service's ``grpc://HOST:PORT``
    and ``http://HOST:PORT``; a :class:`UsageError` otherwise."""
    if text.startswith("unix:"):
        path = text[5:]
        if path.startswith("//"):
            path = path[2:]
        if not path:
            raise UsageError("unix: needs a socket path, e.g. unix:/tmp/ben.sock")
        return Address("unix", path=path)
    parts = urlsplit(text)
    if parts.scheme in ("https", "grpcs"):
        raise UsageError(f"{text!r}: write {parts.scheme[:-1]}:// and give --tls-cert and --tls-key for TLS")
    if parts.scheme not in ("tcp", "udp", "grpc", "http"):
        raise UsageError(f"{text!r}: use tcp://HOST:PORT, udp://HOST:PORT, unix:PATH, "
                         "or for OTLP grpc://HOST:PORT or http://HOST:PORT")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username is not None:
        raise UsageError(f"{text!r}: only a host and a port, e.g. {parts.scheme}://127.0.0.1:4317")
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None:
        example = {"grpc": 4317, "http": 4318}.get(parts.scheme, 5140)
        raise UsageError(f"{text!r}: needs a host and a port, e.g. {parts.scheme}://127.0.0.1:{example}")
    return Address(parts.scheme, parts.hostname, port)


class _Client:
    """One stream connection: its buffer and its decoding core (made at its first line), and
    the times its last bytes came and its unfinished line began."""

    __slots__ = ("sock", "peer", "origin", "buf", "core", "skipping", "last", "line_since")

    def __init__(self, sock: socket.socket, peer: str, origin: str = "", now: float = 0.0):
        self.sock, self.peer, self.origin = sock, peer, origin  # origin: the address (or uid) capped
        self.buf = b""
        self.core: Ingester | None = None
        self.skipping = False  # inside a line that went over the limit: drop bytes to its newline
        self.last = self.line_since = now


def _waiting(sock: socket.socket) -> int:
    """Bytes the kernel holds for ``sock`` that ben has not read yet."""
    try:
        return struct.unpack("i", fcntl.ioctl(sock, termios.FIONREAD, b"\0\0\0\0"))[0]
    except OSError:
        return 0


def seconds(value: float) -> str:
    """A duration as the options spell it: ``30s``, ``500ms``, ``5m``."""
    if value >= 60 and value % 60 == 0:
        return f"{value / 60:g}m"
    return f"{value:g}s" if value >= 1 else f"{value * 1000:g}ms"


class Listener:
    def __init__(self, address: Address, writer: Writer, rejects: Rejects, summary: IngestSummary,
                 options: IngestOptions):
        self.address, self.writer, self.rejects, self.summary = address, writer, rejects, summary
        self.fixed = None if options.format == "auto" else registry.formats.get(options.format)
        self.options, self.max_line_bytes = options, options.max_line_bytes
        self.sel = selectors.DefaultSelector()
        self.clients: dict[int, _Client] = {}
        self.per_origin: dict[str, int] = {}
        self.stopping = False
        self.dropped = self.timed_out = self.refused = self.cut = 0
        self.accepting = False
        # how often the loop looks for slow and idle clients: a quarter of the shorter timeout
        self.tick = max(0.01, min(1.0, options.line_timeout / 4, options.idle_timeout / 4))
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
        if self.stopping:
            raise KeyboardInterrupt  # a second signal: stop draining (or waiting on the consumer), end now
        self.stopping = True
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass

    # -- the loop ---------------------------------------------------------------------------

    def serve(self) -> None:
        sweep_at = time.monotonic() + self.tick
        while not self.stopping:
            events = self.sel.select(timeout=self.tick)
            now = time.monotonic()
            served: set[_Client] = set()
            for key, _ in events:  # one receive per ready client per turn: fair shares
                tag = key.data
                if tag == "accept":
                    self._accept(now)
                elif tag == "udp":
                    self._read_datagrams()
                elif tag == "wake":
                    try:
                        self._wake_r.recv(64)
                    except BlockingIOError:
                        pass
                else:
                    served.add(tag)
                    self._read_client(tag, now)
            self.writer.flush()  # nothing more ready: let the consumer see what came
            if now >= sweep_at:
                self._sweep(served)
                sweep_at = now + self.tick
        self._shutdown()

    def _origin(self, conn: socket.socket, addr: object) -> str:
        """What the per-address cap counts: the client's IP address, or its user id on a Unix socket."""
        if isinstance(addr, tuple):
            return str(addr[0])
        try:
            _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                                  struct.calcsize("3i")))
        except (OSError, AttributeError):
            return "unix"
        return f"uid {uid}"

    def _accept(self, now: float) -> None:
        while len(self.clients) < self.options.max_clients:
            try:
                conn, addr = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            origin = self._origin(conn, addr)
            if self.per_origin.get(origin, 0) >= self.options.max_per_address:
                self.refused += 1  # over the cap: closed at once, so it waits in no one's way
                conn.close()
                continue
            self.per_origin[origin] = self.per_origin.get(origin, 0) + 1
            conn.setblocking(False)
            peer = f"{addr[0]}:{addr[1]}" if isinstance(addr, tuple) else f"unix:{self.address.path}#{conn.fileno()}"
            client = _Client(conn, peer, origin, now)
            self.clients[conn.fileno()] = client
            self.sel.register(conn, selectors.EVENT_READ, client)
        self._accept_off()  # at the limit: the kernel's backlog holds the rest

    def _read_client(self, client: _Client, now: float) -> None:
        try:
            data = client.sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._close(client)
            return
        self._feed(client, data, now)

    def _feed(self, client: _Client, data: bytes, now: float) -> None:
        client.last = now
        if b"\x00" in data:  # NUL ends a message in the stdlib SysLogHandler's TCP framing
            data = data.replace(b"\x00", b"\n")
        if client.skipping:
            nl = data.find(b"\n")
            if nl < 0:
                return
            client.skipping = False  # the dropped line was numbered when it went over the limit
            data = data[nl + 1:]
            client.line_since = now
        elif not client.buf:
            client.line_since = now
        buf = client.buf + data if client.buf else data
        cut = buf.rfind(b"\n")
        if cut < 0:
            client.buf = buf
        else:
            client.buf = buf[cut + 1:]
            client.line_since = now  # the unfinished line, if any, began in this block
            self._decode(client, buf[: cut + 1])
        if len(client.buf) > self.max_line_bytes:
            self._too_long(client, client.buf[:256], "line")
            client.buf = b""
            client.skipping = True

    def _sweep(self, served: set[_Client]) -> None:
        """Close the clients that left a line unfinished past ``line_timeout`` or sent nothing for
        ``idle_timeout``. One with bytes waiting in the kernel is read instead: it is not slow,
        ben was (busy, or blocked on its consumer)."""
        line_timeout, idle_timeout = self.options.line_timeout, self.options.idle_timeout
        for client in list(self.clients.values()):
            if client in served:
                continue
            now = time.monotonic()
            open_line = bool(client.buf) or client.skipping
            if open_line and now - client.line_since > line_timeout:
                reason = f"line unfinished after {seconds(line_timeout)} (--line-timeout): connection closed"
            elif now - client.last > idle_timeout:
                reason = f"connection idle for {seconds(idle_timeout)} (--idle-timeout): closed mid-line"
            else:
                continue
            if _waiting(client.sock):
                self._read_client(client, now)
                continue
            self.timed_out += 1
            self._close_cut(client, reason)

    def _close_cut(self, client: _Client, reason: str) -> None:
        """Close a client ben stops serving: its unfinished line, if any, is rejected, not decoded
        (it is not known to be whole)."""
        if client.buf and not client.skipping:
            self._core(client, client.buf).reader.lineno += 1
            assert client.core is not None
            client.core.reader.reject(reason, client.buf)
            self.summary.add(client.core.format.name, 1, 0, 1)
        client.buf = b""
        client.skipping = True  # nothing more to decode
        self._close(client)

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
        left = self.per_origin[client.origin] - 1
        if left:
            self.per_origin[client.origin] = left
        else:
            del self.per_origin[client.origin]
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
        """Stop accepting, take in what clients had sent when told to stop (and no more, for at
        most ``drain_timeout``), decode it, flush."""
        self._accept_off()
        deadline = time.monotonic() + self.options.drain_timeout
        if self.address.kind == "udp":
            self._read_datagrams()  # at most one turn's worth: what had come
        self.sock.close()  # connections still in the backlog are reset, not left waiting
        budgets = [(client, _waiting(client.sock)) for client in self.clients.values()]
        unfinished = [client for client, budget in budgets if not self._take(client, budget, deadline)]
        # a client mid-line whose next bytes were on their way: wait a moment, once for all, to see
        settle = min(SETTLE, deadline - time.monotonic())
        if settle > 0 and any(client.buf and not _waiting(client.sock) for client in unfinished):
            waiting = selectors.DefaultSelector()
            for client in unfinished:
                waiting.register(client.sock, selectors.EVENT_READ)
            waiting.select(settle)
            waiting.close()
        for client in unfinished:
            if _waiting(client.sock):
                self.cut += 1
                self._close_cut(client, "line cut off: the client was still sending when ben stopped")
            else:
                self._close(client)  # it had stopped sending: its last line counts, as at its end
        if self._udp is not None:
            self._end(self._udp)
        self.writer.flush()
        self.sel.close()
        self._wake_r.close()
        self._wake_w.close()
        if self.address.kind == "unix":
            try:
                os.unlink(self.address.path)
            except FileNotFoundError:
                pass
        for name, count in (("dropped", self.dropped), ("timed out", self.timed_out), ("refused", self.refused),
                            ("cut", self.cut)):
            if count:
                self.summary.extra[name] = count

    def _take(self, client: _Client, budget: int, deadline: float) -> bool:
        """Read ``budget`` bytes (what had come when ben was told to stop) from ``client``; True
        when the client closed its end meanwhile (it is then closed here too)."""
        while budget > 0 and time.monotonic() < deadline:
            try:
                data = client.sock.recv(min(RECV_BYTES, budget))
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                data = b""
            if not data:
                self._close(client)
                return True
            budget -= len(data)
            self._feed(client, data, time.monotonic())
        return False


def serve(writer: Writer, rejects: Rejects, options: IngestOptions, summary: IngestSummary) -> None:
    """Serve ``options.listen`` until SIGTERM or SIGINT, writing decoded records to ``writer``."""
    assert options.listen is not None
    where = parse_address(options.listen)
    if not options.allow_remote and not where.is_loopback():
        raise UsageError(f"{where} is not a loopback address; add --allow-remote to serve other hosts")
    otlp = where.kind in ("grpc", "http")
    if not otlp:
        for flag, given in (("--tls-cert", options.tls_cert), ("--tls-key", options.tls_key),
                            ("--tls-client-ca", options.tls_client_ca), ("--token-file", options.token_file)):
            if given is not None:
                raise UsageError(f"{flag} applies to --listen grpc:// and http:// only")
    else:
        from ben_cli.ingest import otlp_service

        try:
            otlp_service.serve(where, writer, rejects, options, summary)
        except KeyboardInterrupt:
            _abandon(writer)
            raise
        return
    for flag, value in (("--idle-timeout", options.idle_timeout), ("--line-timeout", options.line_timeout)):
        if not value > 0:
            raise UsageError(f"{flag} must be longer than 0s")
    listener = Listener(where, writer, rejects, summary, options)
    old_term = signal.signal(signal.SIGTERM, listener.request_stop)
    old_int = signal.signal(signal.SIGINT, listener.request_stop)
    try:
        if options.on_ready is not None:
            options.on_ready(listener.bound)
        listener.serve()
    except KeyboardInterrupt:
        if listener.stopping:
            _abandon(writer)
        raise
    finally:
        signal.signal(signal.SIGTERM, old_term)
        signal.signal(signal.SIGINT, old_int)


def _abandon(writer: Writer) -> None:
    """Told to stop twice: the consumer is not reading, so what is still buffered for a pipe is
    dropped (the pipe now goes to /dev/null) rather than waited for at exit."""
    try:
        fd = writer.target.fileno()
        if stat.S_ISREG(os.fstat(fd).st_mode):
            return
        null = os.open(os.devnull, os.O_WRONLY)
    except (AttributeError, OSError, ValueError):
        return
    os.dup2(null, fd)
    os.close(null)

"""The sender: stdin's lines, numbered and streamed; reconnects until every one is acknowledged.

One thread, one ``select`` over stdin and the socket. Lines read are numbered (from 1 within the
stream), kept in the window (:mod:`.window`: memory, or a spool fsynced first), and sent as DATA
frames of whole lines up to a Noise message. An ACK forgets what it covers. When the connection
breaks (refused, cut, a message that does not authenticate) the sender waits (exponential
backoff with full jitter, from 50 ms to ``backoff_max``), connects again, says HELLO with the same
stream id, reads the ACK and resends from the next number. At the end of stdin it sends CLOSE
with the last number and is done when the ACK for it arrives: the exit status 0 means every
record is in the listener's output.

A listener that refuses this sender (its certificate, an ERROR frame) is not retried: that does
not heal by waiting. Nor is a listener whose certificate this sender refuses.
"""

from __future__ import annotations

import os
import random
import select
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ben_cli import acks
from ben_cli.bee import frames
from ben_cli.bee.address import Address
from ben_cli.bee.framing import Closed, Wire
from ben_cli.bee.handshake import Credentials, PeerRefused, initiate
from ben_cli.bee.noise import CipherState, HandshakeFailed
from ben_cli.bee.window import Window, blocks_of
from ben_cli.crypto import primitives as p
from ben_cli.errors import BenError

_READ = 1 << 20
WINDOW_BYTES = 64 << 20  # stop reading stdin while this much is unacknowledged
_BATCH = 32  # DATA frames written per turn of the loop


class Refused(BenError):
    """The listener refused this sender, or this sender the listener: retrying will not help."""


@dataclass
class Options:
    connect_timeout: float = 5.0
    backoff_max: float = 5.0
    give_up: float = 0.0  # seconds of failing to connect after which the sender gives up; 0: never


@dataclass
class Stats:
    records: int = 0
    too_long: int = 0
    connections: int = 0
    resent: int = 0
    already: int = 0  # --ack: records ingest read again that the spool held, dropped
    failures: list[str] = field(default_factory=list)


class Sender:
    def __init__(self, creds: Credentials, address: Address, source: int, window: Window,
                 options: Options | None = None, log: Callable[[str], None] = lambda message: None):
        self.creds = creds
        self.address = address
        self.fd = source
        self.window = window
        self.options = options or Options()
        self.log = log
        self.stats = Stats()
        self.eof = False
        self._partial = b""

    # --- stdin -------------------------------------------------------------------------------

    def _read_input(self) -> None:
        data = os.read(self.fd, _READ)
        unended = b""  # the last line, which came without its newline
        if not data:
            self.eof = True
            unended, self._partial = (self._partial + b"\n" if self._partial.strip() else b""), b""
        else:
            data, self._partial = self._partial + data, b""
            cut = data.rfind(b"\n") + 1
            data, self._partial = data[:cut], data[cut:]
        data = self.window.fresh(data)  # --ack: records ingest read again that the spool holds
        if unended:  # sent either way (a line cut short reaches the collector's rejects), held only whole
            data += self.window.fresh(unended) if acks.whole_record(unended) else unended
        blocks, too_long = blocks_of(data, frames.MAX_DATA)
        if too_long:
            self.stats.too_long += too_long
            self.log(f"{too_long} line(s) over the {frames.MAX_DATA}-byte limit of a frame; skipped")
        if blocks:
            self.window.append(blocks)
            self.stats.records += sum(count for _, count in blocks)

    # --- the run -------------------------------------------------------------------------------

    def run(self) -> Stats:
        """Stream stdin to the listener; return once every record is acknowledged."""
        delay, failing_since = 0.05, None
        while True:
            try:
                if self._session():
                    return self.stats
                delay, failing_since = 0.05, None
            except (OSError, Closed, HandshakeFailed, frames.BadFrame, p.DecryptionFailed) as exc:
                reason = str(exc) or type(exc).__name__
                if not self.stats.failures or self.stats.failures[-1] != reason:
                    self.log(f"connection to {self.address}: {reason}; retrying")
                self.stats.failures.append(reason)
                now = time.monotonic()
                failing_since = failing_since or now
                if self.options.give_up and now - failing_since >= self.options.give_up:
                    raise BenError(f"gave up on {self.address} after {self.options.give_up:g} s: {reason}") from None
                time.sleep(random.uniform(0, delay))
                delay = min(delay * 2, self.options.backoff_max)
                while not self.eof and self.window.bytes < WINDOW_BYTES and _readable(self.fd):
                    self._read_input()  # keep taking input (into the spool) while the listener is away

    def _session(self) -> bool:
        sock = self.address.connect(self.options.connect_timeout)
        try:
            sock.settimeout(self.options.connect_timeout)
            wire = Wire(sock)
            try:
                _, hs = initiate(wire, self.creds)
            except PeerRefused as exc:
                raise Refused(f"{self.address}: {exc}") from None
            assert hs.send is not None and hs.receive is not None
            send, receive = hs.send, hs.receive
            wire.send(send.encrypt(frames.hello(self.window.stream)))
            first = self._frame(wire, receive)
            if first.kind != frames.ACK:
                raise Closed(f"the listener answered HELLO with {first.name}, not ACK")
            sock.settimeout(None)
            self.stats.connections += 1
            return self._stream(sock, wire, send, receive, first.number)
        finally:
            sock.close()

    def _frame(self, wire: Wire, receive: CipherState) -> frames.Frame:
        frame = frames.parse(receive.decrypt(wire.recv()))
        if frame.kind == frames.ERROR:
            raise Refused(f"the listener {self.address} refused: {frame.body.decode('utf-8', 'replace')}")
        return frame

    def _acked(self, number: int) -> None:
        if number > self.window.last:
            raise Refused(f"the listener acknowledges record {number} of a stream of {self.window.last}: another "
                          "sender uses this stream id (a copied spool?)")
        self.window.ack(number)

    def _stream(self, sock: socket.socket, wire: Wire, send: CipherState, receive: CipherState, acked: int) -> bool:
        window = self.window
        if acked < window.acked:
            raise Refused(f"the listener has handed on {acked} records of this stream but {window.acked} were "
                          "acknowledged before: it lost its state (run it with --state)")
        self._acked(acked)
        next_send = acked + 1
        if window.last >= next_send and self.stats.connections > 1:
            self.stats.resent += window.last - next_send + 1
        close_sent = 0
        while True:
            if next_send <= window.last:
                messages, next_send = self._frames(next_send)
                wire.send_many([send.encrypt(m) for m in messages])
            elif self.eof and not close_sent:
                wire.send(send.encrypt(frames.close(window.last)))
                close_sent = 1
            pending = next_send <= window.last
            want = [sock] + ([self.fd] if not self.eof and window.bytes < WINDOW_BYTES else [])
            ready = select.select(want, [], [], 0 if pending else None)[0]
            if sock in ready or wire.buffered():
                self._take_acks(wire, receive)
                if close_sent and self.eof and window.acked == window.last:
                    return True
            if self.fd in ready:
                self._read_input()

    def _take_acks(self, wire: Wire, receive: CipherState) -> None:
        """Read one frame, and every other one already buffered: each must be an ACK."""
        while True:
            frame = self._frame(wire, receive)
            if frame.kind != frames.ACK:
                raise Closed(f"unexpected {frame.name} frame from the listener")
            self._acked(frame.number)
            if not wire.buffered():
                return

    def _frames(self, first: int) -> tuple[list[bytes], int]:
        """Up to :data:`_BATCH` DATA frames from record ``first``; and the next number to send."""
        blocks = self.window.since(first, _BATCH)
        out = [frames.data(number, data) for number, _, data in blocks]
        return out, (blocks[-1][0] + blocks[-1][1] if blocks else first)


def _readable(fd: int) -> bool:
    return bool(select.select([fd], [], [], 0)[0])

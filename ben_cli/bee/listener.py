"""The listener: many senders at once, every record handed on once, whoever reconnects.

One thread per connection. A connection is handshaken under a timeout and a cap on concurrent
handshakes from one source address (a flood of half-open handshakes costs the flooder a
connection each, and the listener at most that many threads), then must say HELLO. The
high-water mark of each (peer's static key, stream id) lives in :class:`Marks`: the highest
sequence number written to the output. A DATA frame's records at or below it are dropped; one
that starts past it + 1 is a gap (records would be lost) and ends the connection with ERROR.

The order that makes the ACK honest: write the records, flush the output, save the marks (with
``--state``), then send the ACK. A listener killed after the flush and before the save writes
those records again on the sender's retry: at-least-once to the output across a killed
listener, exactly once across everything else (cut connections, killed senders).

With ``--ack-from STATE`` (:mod:`.committed`) the output is a ``ben sink --ack STATE`` on this host
and an ACK means more: every record up to it is durable in that sink. Records are stamped with
their stream's position, the marks above say only what was written (to drop a resent record
once), and the ACK follows the sink's acknowledgements file. Exactly once across a killed
listener or sink too: what died in the pipe was not acknowledged, so it comes again, and the
sink drops what it already holds.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import orjson

from ben_cli.atomic import write_atomic
from ben_cli.bee import frames
from ben_cli.bee.committed import POLL, Committed, stream_input
from ben_cli.bee.framing import Closed, Wire
from ben_cli.bee.handshake import Credentials, Peer, PeerRefused, respond, settimeout
from ben_cli.bee.noise import CipherState, HandshakeFailed
from ben_cli.crypto import primitives as p
from ben_cli.errors import BadRecord, BenError, StateError
from ben_cli.policy.enforce import Gate
from ben_cli.policy.evaluate import Evaluator
from ben_cli.rejects import Rejects

ACK_WITHIN = 0.1  # the protocol's bound on an unacknowledged written record
_ACK_AFTER = 0.05  # coalesce ACKs while the sender keeps sending, up to this long
POLICIES = ("lanes", "none")


class Marks:
    """High-water marks per (static key, stream id), saved atomically to ``path`` when given."""

    def __init__(self, path: Path | None = None):
        self.path = path
        self.marks: dict[tuple[bytes, bytes], int] = {}
        self.dirty = False
        if path is not None and path.exists():
            try:
                data = orjson.loads(path.read_bytes())
                self.marks = {(bytes.fromhex(k.split("/")[0]), bytes.fromhex(k.split("/")[1])): int(v)
                              for k, v in data["marks"].items()}
            except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
                raise StateError(f"{path}: not a ben bee state file ({exc})") from None

    def get(self, key: tuple[bytes, bytes]) -> int:
        return self.marks.get(key, 0)

    def set(self, key: tuple[bytes, bytes], value: int) -> None:
        self.marks[key] = value
        self.dirty = True

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        body = {"version": 1, "marks": {f"{k[0].hex()}/{k[1].hex()}": v for k, v in sorted(self.marks.items())}}
        write_atomic(self.path, orjson.dumps(body, option=orjson.OPT_APPEND_NEWLINE))
        self.dirty = False


@dataclass
class Counts:
    connections: int = 0
    refused: int = 0
    dropped: int = 0  # ended by a bad message, a gap, a revocation, a newer connection
    records: int = 0
    duplicates: int = 0
    rejected: int = 0
    alerts: int = 0  # policy.alert records written


@dataclass
class Options:
    policy: str = "lanes"
    handshake_timeout: float = 5.0
    handshakes_per_source: int = 8
    max_peers: int = 1024


@dataclass(eq=False)
class _Conn:
    sock: socket.socket
    source: str
    peer: Peer | None = None
    key: tuple[bytes, bytes] | None = None
    ended: bool = False
    refused: bool = False  # refused in the handshake: closed so the ERROR frame is read

    def kill(self) -> None:
        self.ended = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)


LINGER = 0.5  # seconds a refused connection is read and dropped after the ERROR frame


def _close_after_refusal(sock: socket.socket) -> None:
    """End a refused connection so that the peer reads the ERROR frame telling it why.

    A sender writes its HELLO right after its last handshake message; closing with that unread
    makes the kernel answer with a reset, which can reach the sender before the ERROR frame and
    turns "refused (revoked)" into "connection reset, retrying". So: our side's FIN first, then
    what the peer still sends is read and dropped until it closes too, for at most LINGER seconds.
    """
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(LINGER)
        end = time.monotonic() + LINGER
        while time.monotonic() < end and sock.recv(1 << 16):
            pass


def _via(peer: Peer) -> dict[str, object]:
    """What the listener vouches for on each record: the peer's certificate name, the hash of
    that certificate, and its groups when it has any (what a policy's ``group`` tests read)."""
    via: dict[str, object] = {"peer": peer.name, "cert": peer.cert_hex}
    if peer.certificate.groups:
        via["groups"] = list(peer.certificate.groups)
    return via


def _reader_gone(out: BinaryIO) -> bool:
    """Whether ``out`` is a pipe whose reading end was closed (poll says POLLERR on the writer)."""
    try:
        fd = out.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        return False
    poller = select.poll()
    poller.register(fd, 0)
    return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))


class Gap(Exception):
    pass


class OutputFailed(BenError):
    """Writing the output or saving the marks failed (a full disk, a closed pipe): the listener
    stops, acknowledging nothing it could not hand on."""


@dataclass
class Listener:
    creds: Credentials
    out: BinaryIO
    marks: Marks = field(default_factory=Marks)
    options: Options = field(default_factory=Options)
    rejects: Rejects = field(default_factory=lambda: Rejects(stage="bee"))
    log: Callable[[str], None] = lambda message: None
    gate: Gate | None = None  # --policy-file: each record judged with its peer's name and groups
    committed: Committed | None = None  # --ack-from: ACK only what the sink downstream holds

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.counts = Counts()
        self.live: dict[tuple[bytes, bytes], _Conn] = {}
        self.conns: set[_Conn] = set()
        self.handshaking: dict[str, int] = {}
        self.stopping = threading.Event()
        self.failure: BaseException | None = None
        # --ack-from: per stream, the DATA frames handed on and not yet known committed, as
        # (sequence number of the last record written, or 0 for none; the frame's last number)
        self.unsettled: dict[tuple[bytes, bytes], deque[tuple[int, int]]] = {}
        self.settled: dict[tuple[bytes, bytes], int] = {}  # and the furthest number found settled
        self.inputs: dict[tuple[bytes, bytes], str] = {}  # --ack-from: each stream's input id

    # --- accepting -----------------------------------------------------------------------

    def serve(self, server: socket.socket) -> None:
        """Accept connections until :meth:`stop`; then end every connection and save the marks."""
        threads: list[threading.Thread] = []
        server.settimeout(0.2)
        try:
            while not self.stopping.is_set():
                try:
                    sock, addr = server.accept()
                except TimeoutError:
                    if self.committed is not None and _reader_gone(self.out):
                        # --ack-from: a dead sink is noticed even when no record is on its way, so
                        # the collector's pipeline ends (and its supervisor restarts it)
                        self.failure = OutputFailed("the sink downstream is gone (its end of the pipe closed)")
                        break
                    continue
                except OSError:
                    if self.stopping.is_set():
                        break
                    raise
                source = addr[0] if isinstance(addr, tuple) else "unix"
                if isinstance(addr, tuple):  # small frames (ACKs, handshake messages) go out at once
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                conn = _Conn(sock, source)
                with self.lock:
                    too_many = len(self.conns) >= self.options.max_peers or \
                        self.handshaking.get(source, 0) >= self.options.handshakes_per_source
                    if not too_many:
                        self.conns.add(conn)
                        self.handshaking[source] = self.handshaking.get(source, 0) + 1
                if too_many:
                    self.counts.refused += 1
                    sock.close()
                    continue
                thread = threading.Thread(target=self._run, args=(conn,), daemon=True)
                thread.start()
                threads = [t for t in threads if t.is_alive()] + [thread]
        finally:
            with self.lock:
                for conn in list(self.conns):
                    conn.kill()
            for thread in threads:
                thread.join(timeout=5)
            with self.lock:
                self._flush()
        if self.failure is not None:
            raise self.failure

    def stop(self) -> None:
        self.stopping.set()

    def reload_crl(self, path: Path) -> int:
        """Reread the revocation list; drop every connected peer it revokes. Returns how many."""
        self.creds.load_crl(path)
        dropped = 0
        with self.lock:
            for conn in list(self.conns):
                if conn.peer is not None and self.creds.revoked(conn.peer):
                    self.log(f"dropping {conn.peer.name}: its certificate is revoked by the reloaded list")
                    conn.kill()
                    dropped += 1
        return dropped

    def reload_policy(self, path: Path) -> str:
        """Reread the policy file; the next record is judged by it. A policy that no longer checks
        raises, and the one in force stays. Returns the policy's name and version, for the log."""
        from ben_cli.policy.check import load

        if self.gate is None:
            raise StateError("the listener was started without --policy-file")
        policy, _warnings = load(path)
        evaluator = Evaluator(policy)
        with self.lock:
            self.gate.swap(evaluator)
        return f"{policy.name} version {policy.version}"

    # --- one connection --------------------------------------------------------------------

    def _run(self, conn: _Conn) -> None:
        try:
            self._connection(conn)
        except (Closed, OSError):
            pass
        except OutputFailed as exc:  # the output broke: the listener cannot go on
            self.failure = exc
            self.stop()
        except Exception as exc:  # anything a peer can cause ends its connection, never the listener
            self.counts.dropped += 1
            self.log(f"dropped a connection from {conn.source}: {type(exc).__name__}: {exc}")
        finally:
            with self.lock:
                self.conns.discard(conn)
                if conn.key is not None and self.live.get(conn.key) is conn:
                    del self.live[conn.key]
                if conn.peer is None:
                    self._handshake_done(conn)
            if conn.refused:
                _close_after_refusal(conn.sock)
            with contextlib.suppress(OSError):
                conn.sock.close()

    def _handshake_done(self, conn: _Conn) -> None:
        left = self.handshaking.get(conn.source, 1) - 1
        if left:
            self.handshaking[conn.source] = left
        else:
            self.handshaking.pop(conn.source, None)

    def _connection(self, conn: _Conn) -> None:
        wire = Wire(conn.sock)
        settimeout(conn.sock, self.options.handshake_timeout)
        try:
            peer, hs = respond(wire, self.creds)
        except (PeerRefused, HandshakeFailed) as exc:
            conn.refused = True
            self.counts.refused += 1
            self.log(f"refused {conn.source}: {exc}")
            return
        except TimeoutError:
            self.counts.refused += 1
            self.log(f"refused {conn.source}: no handshake within {self.options.handshake_timeout:g} s")
            return
        assert hs.send is not None and hs.receive is not None
        send, receive = hs.send, hs.receive
        with self.lock:
            conn.peer = peer
            self._handshake_done(conn)
            self.counts.connections += 1
        settimeout(conn.sock, None)
        try:
            first = self._frame(wire, receive)
        except frames.BadFrame as exc:
            self._refuse(wire, send, f"{peer.name}: {exc}")
            return
        if first.kind != frames.HELLO:
            self._refuse(wire, send, f"the first frame must be HELLO, not {first.name}")
            return
        key = (peer.static, first.body)
        with self.lock:
            older = self.live.get(key)
            if older is not None:
                self.log(f"{peer.name}: stream {first.body.hex()} reconnected; closing its older connection")
                older.kill()
                self.counts.dropped += 1
            self.live[key] = conn
            conn.key = key
            mark = self.marks.get(key)
            if self.committed is not None:  # resend from what the sink holds; drop what was handed on
                self.inputs[key] = stream_input(*key)
                mark = self._committed(key)
                if mark > self.marks.get(key):
                    self.marks.set(key, mark)
        wire.send(send.encrypt(frames.ack(mark)))
        self._stream(conn, wire, send, receive, key, peer, mark)

    def _frame(self, wire: Wire, receive: CipherState) -> frames.Frame:
        message = wire.recv()
        try:
            plaintext = receive.decrypt(message)
        except p.CryptoError:
            self.counts.dropped += 1
            raise Closed("a transport message did not authenticate") from None
        return frames.parse(plaintext)

    def _refuse(self, wire: Wire, send: CipherState, reason: str) -> None:
        self.counts.dropped += 1
        self.log(reason)
        with contextlib.suppress(OSError):
            wire.send(send.encrypt(frames.error(reason)))

    def _stream(self, conn: _Conn, wire: Wire, send: CipherState, receive: CipherState,
                key: tuple[bytes, bytes], peer: Peer, acked: int) -> None:
        last_ack = time.monotonic()
        via = orjson.dumps(_via(peer))
        lanes = None if self.options.policy == "none" else frozenset(peer.certificate.lanes)
        while True:
            if self.committed is not None:
                acked = self._await(conn, wire, send, key, acked)
            elif acked != self.marks.get(key) and not wire.buffered():
                wait = max(0.0, ACK_WITHIN - _ACK_AFTER - (time.monotonic() - last_ack))
                if time.monotonic() - last_ack >= _ACK_AFTER or not select.select([conn.sock], [], [], wait)[0]:
                    acked = self._ack(wire, send, key)
                    last_ack = time.monotonic()
            try:
                frame = self._frame(wire, receive)
            except frames.BadFrame as exc:
                self._refuse(wire, send, f"{peer.name}: {exc}")
                return
            if conn.ended:
                return
            if frame.kind == frames.DATA:
                try:
                    self._data(conn, key, frame, via, lanes, peer)
                except Gap as exc:
                    self._ack(wire, send, key)  # what was handed on is acknowledged before the refusal
                    self._refuse(wire, send, str(exc))
                    return
            elif frame.kind == frames.CLOSE:
                if self.committed is not None:
                    self._settle(conn, wire, send, key, acked)
                else:
                    self._ack(wire, send, key)
                return
            elif frame.kind == frames.ERROR:
                self.log(f"{peer.name} sent ERROR: {frame.body.decode('utf-8', 'replace')}")
                return
            else:
                self._refuse(wire, send, f"{peer.name}: unexpected {frame.name} frame in a stream")
                return

    def _ack(self, wire: Wire, send: CipherState, key: tuple[bytes, bytes]) -> int:
        if self.committed is not None:
            with self.lock:
                self._flush()
                mark = self._committed(key)
        else:
            with self.lock:
                self._flush()
                mark = self.marks.get(key)
        wire.send(send.encrypt(frames.ack(mark)))
        return mark

    # --- --ack-from: acknowledging what the sink committed ----------------------------------

    def _committed(self, key: tuple[bytes, bytes]) -> int:
        """The number to acknowledge: every record up to it was committed by the sink, or was not
        handed on (rejected, denied, a duplicate), so none is left to lose. Called with the lock."""
        assert self.committed is not None
        try:
            done = self.committed.get(self.inputs[key])
        except (OSError, StateError) as exc:
            raise OutputFailed(f"cannot read the sink's acknowledgements {self.committed.path}: {exc}") from None
        queue = self.unsettled.get(key)
        if queue:
            done = max(done, self.settled.get(key, 0))
            while queue and queue[0][0] <= done:
                done = max(done, queue.popleft()[1])
            self.settled[key] = done
        return max(done, self.settled.get(key, 0))

    def _await(self, conn: _Conn, wire: Wire, send: CipherState, key: tuple[bytes, bytes], acked: int) -> int:
        """Until a frame can be read: hand what was written to the sink, and acknowledge what it
        commits (looking every POLL seconds). Returns the number acknowledged last."""
        flushed = False
        while True:
            with self.lock:
                done = self._committed(key)
            if done > acked:
                wire.send(send.encrypt(frames.ack(done)))
                acked = done
            if wire.buffered() or select.select([conn.sock], [], [], 0)[0]:
                return acked
            if not flushed:  # nothing more to read now: the sink gets what was written
                with self.lock:
                    self._flush()
                flushed = True
            waiting = self.marks.get(key) > acked  # records handed on, not yet acknowledged
            if select.select([conn.sock], [], [], POLL if waiting else None)[0]:  # an idle stream sleeps
                return acked
            if conn.ended or self.stopping.is_set():
                raise Closed("the listener is stopping")

    def _settle(self, conn: _Conn, wire: Wire, send: CipherState, key: tuple[bytes, bytes], acked: int) -> None:
        """CLOSE: acknowledge as the sink commits, until everything handed on is committed."""
        with self.lock:
            self._flush()
        while True:
            with self.lock:
                done, end = self._committed(key), self.marks.get(key)
            if done >= end:  # CLOSE is always answered, even when this number went out before
                wire.send(send.encrypt(frames.ack(done)))
                return
            if done > acked:
                wire.send(send.encrypt(frames.ack(done)))
                acked = done
            if conn.ended or self.stopping.is_set():
                raise Closed("the listener is stopping")
            time.sleep(POLL)

    def _flush(self) -> None:
        try:
            self.out.flush()
        except OSError as exc:
            raise OutputFailed(f"cannot write the output: {exc.strerror or exc}") from None
        try:
            self.marks.save()
        except OSError as exc:
            raise OutputFailed(f"cannot save the marks to {self.marks.path}: {exc.strerror or exc}") from None

    def _data(self, conn: _Conn, key: tuple[bytes, bytes], frame: frames.Frame, via: bytes,
              lanes: frozenset[str] | None, peer: Peer) -> None:
        lines = frame.body.split(b"\n")[:-1]
        with self.lock:
            if self.live.get(key) is not conn:
                raise Closed("a newer connection took the stream")
            mark = self.marks.get(key)
            if frame.number > mark + 1:
                raise Gap(f"{peer.name}: DATA from record {frame.number} but only {mark} were handed on: records "
                          f"{mark + 1} to {frame.number - 1} would be lost (the listener's state was lost?)")
            skip = mark + 1 - frame.number
            if skip > 0:
                self.counts.duplicates += min(skip, len(lines))
            out: list[bytes] = []
            written = 0  # the number of the last record handed on
            where = self.inputs.get(key) if self.committed is not None else None
            for offset, line in enumerate(lines[max(skip, 0):], start=max(skip, 0)):
                stamped = self._stamp(line, via, lanes, frame.number + offset, peer, where)
                if stamped is not None:
                    out.append(stamped)
                    written = frame.number + offset
            self.counts.records += len(out)
            if self.gate is not None and self.gate.evaluator.alerts:  # policy.alert records, raised on the way
                alerts = self.gate.evaluator.alerts
                out.extend(orjson.dumps(alert, option=orjson.OPT_APPEND_NEWLINE) for alert in alerts)
                self.counts.alerts += len(alerts)
                alerts.clear()
            if out:
                try:
                    self.out.write(b"".join(out))
                except OSError as exc:
                    raise OutputFailed(f"cannot write the output: {exc.strerror or exc}") from None
            end = frame.number + len(lines) - 1
            if end > mark:
                self.marks.set(key, end)
                if where is not None:
                    self.unsettled.setdefault(key, deque()).append((written, end))

    def _stamp(self, line: bytes, via: bytes, lanes: frozenset[str] | None, number: int, peer: Peer,
               where: str | None = None) -> bytes | None:
        """The line with ``via`` added and nothing else changed; None when it is rejected. With
        ``where`` (``--ack-from``), also the stream's position: ``_ingest`` names it, the record's
        own mark moves to ``_ingest.from``."""
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            return self._reject(line, number, peer, f"not JSON: {exc}")
        if type(record) is not dict:
            return self._reject(line, number, peer, "not a JSON object")
        if lanes is not None and record.get("lane") not in lanes:
            allowed = ", ".join(sorted(lanes)) or "none"
            return self._reject(line, number, peer, f"lane {record.get('lane')!r} is not allowed by the certificate "
                                                     f"(allowed: {allowed})")
        hop = "via" in record
        if self.gate is not None and not self._admit(record, line, via, number, peer):
            return None
        if where is not None:
            mark = record.get("_ingest")
            record["_ingest"] = {"format": "bee", "in": where, "at": number, "line": number,
                                 **({"from": mark} if mark is not None else {})}
        if hop or where is not None:  # a second hop: this listener vouches for the last one
            record["via"] = orjson.loads(via)
            return orjson.dumps(record) + b"\n"
        inner = line.rstrip()[:-1].rstrip()  # the object without its closing brace
        return inner + (b'"via":' if inner.endswith(b"{") else b',"via":') + via + b"}\n"

    def _admit(self, record: dict, line: bytes, via: bytes, number: int, peer: Peer) -> bool:
        """The policy file's judgement of one record, made with the ``via`` this listener vouches
        for (a ``via`` the sender wrote is replaced first, so no peer can speak for another). A
        denied record goes to the rejects with its rule, a rate-limited one is counted; both are
        still acknowledged (they were handled: a resend would be judged the same way)."""
        assert self.gate is not None
        record["via"] = orjson.loads(via)
        return self.gate.admit(record, line, peer.name, number)

    def _reject(self, line: bytes, number: int, peer: Peer, reason: str) -> bytes | None:
        """Count and keep a refused record; None, which is what :meth:`_stamp` hands on for it."""
        self.counts.rejected += 1
        self.rejects.add(BadRecord(number, reason, line, peer.name))
        return None

"""A small PKI for the bee tests: a CA, server and client certificates, key files, a CRL."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from ben_cli.ca import cert as c
from ben_cli.ca import crl as r
from ben_cli.crypto.keys import Identity, SigningKey

LANES = ("diag", "event")


@dataclass
class Node:
    cert: Path
    key: Path
    identity: Identity
    certificate: c.Certificate


class Pki:
    def __init__(self, folder: Path, name: str = "test-ca"):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.now = int(time.time())
        self.ca_key = SigningKey.generate()
        self.ca = c.issue(self.ca_key, name=name, groups=(), lanes=(), usage=("ca",),
                          noise_pub=Identity.generate().recipient.key, sign_pub=self.ca_key.public.key,
                          not_before=self.now - 3600, not_after=self.now + 86400)
        self.bundle = folder / f"{name}.bundle"
        self.bundle.write_text(self.ca.text)
        self.crl = folder / f"{name}.crl"
        self.crl_sequence = 0
        self.revoke()

    def node(self, name: str, usage: tuple[str, ...] = ("client",), *, lanes: tuple[str, ...] = LANES,
             identity: Identity | None = None, noise_pub: bytes | None = None, not_before: int | None = None,
             not_after: int | None = None, groups: tuple[str, ...] = ()) -> Node:
        identity = identity or Identity.generate()
        certificate = c.issue(self.ca_key, name=name, groups=groups, lanes=lanes, usage=usage,
                              noise_pub=noise_pub or identity.recipient.key, sign_pub=None,
                              not_before=self.now - 600 if not_before is None else not_before,
                              not_after=self.now + 3600 if not_after is None else not_after)
        cert = self.folder / f"{name}.cert"
        cert.write_text(certificate.text)
        key = self.folder / f"{name}.key"
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(identity.text + "\n")
        return Node(cert, key, identity, certificate)

    def revoke(self, *certificates: c.Certificate) -> None:
        self.crl_sequence += 1
        listed = r.build(self.ca_key, sequence=self.crl_sequence, issued=self.now, next_update=self.now + 86400,
                         ids=[each.id for each in certificates])
        self.crl.write_text(listed.text)


# --- a listener in a thread, a sender from a pipe, a proxy that breaks things ------------------

import contextlib  # noqa: E402
import io  # noqa: E402
import random  # noqa: E402
import socket  # noqa: E402
import threading  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402

from ben_cli.bee import address  # noqa: E402
from ben_cli.bee.handshake import Credentials  # noqa: E402
from ben_cli.bee.listener import Listener, Marks, Options  # noqa: E402
from ben_cli.bee.sender import Options as SendOptions  # noqa: E402
from ben_cli.bee.sender import Sender, Stats  # noqa: E402
from ben_cli.bee.window import Window  # noqa: E402


class Output(io.BytesIO):
    def lines(self) -> list[bytes]:
        return self.getvalue().splitlines()


def creds(pki: Pki, node: Node, crl: bool = True) -> Credentials:
    return Credentials.load(node.cert, node.key, pki.bundle, pki.crl if crl else None)


@contextlib.contextmanager
def running(listener: Listener) -> Iterator[int]:
    """The listener serving on a free loopback port (yielded) until the block ends."""
    server = address.parse("127.0.0.1:0").listen()
    thread = threading.Thread(target=listener.serve, args=(server,), daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        listener.stop()
        thread.join(timeout=10)
        server.close()


def listener(pki: Pki, node: Node, state: Path | None = None, **options: object) -> Listener:
    return Listener(creds(pki, node), Output(), Marks(state), Options(**options))  # type: ignore[arg-type]


def records(n: int, start: int = 1, lane: str = "diag") -> bytes:
    return b"".join(b'{"lane":"%s","name":"r","value":%d}\n' % (lane.encode(), i) for i in range(start, start + n))


def send(pki: Pki, node: Node, port: int, data: bytes, window: Window | None = None, log: Callable[[str], None] = print,
         **options: object) -> Stats:
    """Run a Sender over ``data`` (fed through a pipe by a thread) to 127.0.0.1:``port``."""
    read, write = os.pipe()

    def feed() -> None:
        with os.fdopen(write, "wb") as fh:
            fh.write(data)

    threading.Thread(target=feed, daemon=True).start()
    try:
        opts = SendOptions(**{"backoff_max": 0.05, "give_up": 20.0, **options})  # type: ignore[arg-type]
        return Sender(creds(pki, node, crl=False), address.parse(f"127.0.0.1:{port}"), read, window or Window(), opts,
                      log).run()
    finally:
        os.close(read)


class Proxy:
    """A TCP proxy to ``port`` that can cut connections or flip bytes, from the sender's side."""

    def __init__(self, port: int, mangle: Callable[[int, bytes], bytes | None]):
        self.port = port
        self.mangle = mangle  # (bytes so far on this connection, chunk) -> chunk to pass, or None to cut
        self.server = socket.create_server(("127.0.0.1", 0))
        self.listen_port = self.server.getsockname()[1]
        self.connections = 0
        self.cuts = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            try:
                upstream = socket.create_connection(("127.0.0.1", self.port))
            except OSError:  # the listener is down: the sender sees a closed connection and retries
                client.close()
                continue
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, outbound: bool) -> None:
        seen = 0
        try:
            while True:
                chunk = src.recv(65536)
                if not chunk:
                    break
                passed = self.mangle(seen, chunk) if outbound else chunk
                if passed is None:
                    self.cuts += 1
                    break
                seen += len(chunk)
                dst.sendall(passed)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

    def close(self) -> None:
        self.server.close()


def random_cuts(seed: int, cuts: int, span: int) -> Callable[[int, bytes], bytes | None]:
    """A mangle that cuts the first ``cuts`` connections at random byte counts below ``span``."""
    rng = random.Random(seed)
    left = [cuts]
    at = [rng.randrange(1, span)]

    def mangle(seen: int, chunk: bytes) -> bytes | None:
        if left[0] and seen + len(chunk) >= at[0]:
            left[0] -= 1
            at[0] = rng.randrange(1, span)
            return None
        return chunk

    return mangle


def free_port() -> int:
    """A loopback TCP port free now (a listener started soon after can bind it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

"""The handshake with certificates: who the peer is, proved before a byte of data moves.

Message 1 carries nothing; message 2 the responder's certificate file; message 3 the
initiator's. Each side refuses the peer unless its certificate verifies against the trust
bundle and the revocation list (:mod:`ben_cli.ca.verify`), carries the usage its role needs
(``server`` for the responder, ``client`` for the initiator), and its ``noise_pub`` is the
static key the handshake proved. The last check is what binds a name to the channel: without it
anyone holding a copy of a certificate (which is public) could present it over their own key.

The initiator checks the responder's certificate before it writes message 3, so a refused
listener never learns the sender's certificate; the responder checks the initiator's before it
reads a frame, and says why it refuses in an ERROR frame (the channel is already encrypted).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ben_cli.bee import frames
from ben_cli.bee.framing import Wire
from ben_cli.bee.noise import Handshake, HandshakeFailed
from ben_cli.ca import cert as c
from ben_cli.ca import verify
from ben_cli.crypto import keyfiles
from ben_cli.crypto import primitives as p
from ben_cli.errors import UsageError

PROLOGUE = b"ben-bee/1"


@dataclass(frozen=True)
class Peer:
    """The peer a handshake proved: its certificate and the static key it holds."""

    certificate: c.Certificate
    static: bytes

    @property
    def name(self) -> str:
        return self.certificate.name

    @property
    def cert_hex(self) -> str:
        """The certificate id (BLAKE2b-256 of its body), lowercase hex, as ``via.cert`` carries it."""
        return p.blake2b(self.certificate.body, 32).hex()


class PeerRefused(p.CryptoError):
    """The peer's certificate is not to be trusted for this connection; ``reason`` is the word."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


@dataclass
class Credentials:
    """This side's certificate and static key, and what it trusts (bundle, optional CRL)."""

    certificate: bytes
    static_secret: bytes
    verifier: verify.Verifier
    clock: Callable[[], float] = time.time
    static_public: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.static_public = p.x25519_keypair(self.static_secret)[1]

    @classmethod
    def load(cls, cert: Path, key: Path, bundle: Path, crl: Path | None = None) -> Credentials:
        certificate = _read(cert, "--cert")
        identities = keyfiles.load_identities(key)
        trust = verify.TrustBundle.parse(_read(bundle, "--bundle"))
        own = c.parse(certificate)
        secret = identities[0].secret
        if p.x25519_keypair(secret)[1] != own.noise_pub:  # checked once here, then kept
            raise UsageError(f"--key {key} does not hold the X25519 key the certificate {cert} binds (its noise_pub)")
        creds = cls(certificate, secret, verify.Verifier(trust))
        if crl is not None:
            creds.load_crl(crl)
        return creds

    def load_crl(self, path: Path) -> None:
        """Read (or reread, on SIGHUP) the revocation list; it must be signed by a CA of the bundle."""
        self.verifier = verify.Verifier(self.verifier.bundle,
                                        verify.check_crl(self.verifier.bundle, _read(path, "--crl"), int(self.clock())))

    def check_peer(self, payload: bytes, static: bytes, usage: str) -> Peer:
        """The peer if ``payload`` is a certificate trusted now for ``usage`` binding ``static``."""
        try:
            certificate = self.verifier.check(payload, int(self.clock()), verify.Requirements(usage=usage))
        except c.Refused as exc:
            raise PeerRefused(f"the peer's certificate is refused: {exc}", exc.reason) from None
        if not p.equal(certificate.noise_pub, static):
            raise PeerRefused(f"the peer's certificate {certificate.name} ({certificate.serial}) binds another key than "
                              "the one the handshake proved (a copied certificate)", "wrong-key")
        return Peer(certificate, static)

    def revoked(self, peer: Peer) -> bool:
        crl = self.verifier.crl
        return crl is not None and crl.revokes(peer.certificate) is not None


def _read(path: Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"{what} {path}: {exc.strerror}") from None


def initiate(wire: Wire, creds: Credentials) -> tuple[Peer, Handshake]:
    """The initiator's three messages; the responder is checked before message 3 is sent."""
    hs = Handshake(True, creds.static_secret, PROLOGUE, static_public=creds.static_public)
    wire.send(hs.write_message(b""))
    payload = hs.read_message(wire.recv())
    peer = creds.check_peer(payload, hs.remote_static, "server")
    wire.send(hs.write_message(creds.certificate))
    return peer, hs


def respond(wire: Wire, creds: Credentials) -> tuple[Peer, Handshake]:
    """The responder's side; a refused initiator is told why in an ERROR frame, then refused."""
    hs = Handshake(False, creds.static_secret, PROLOGUE, static_public=creds.static_public)
    if hs.read_message(wire.recv()):
        raise HandshakeFailed("the first handshake message carries a payload (ben-bee/1 sends it empty)")
    wire.send(hs.write_message(creds.certificate))
    payload = hs.read_message(wire.recv())
    try:
        peer = creds.check_peer(payload, hs.remote_static, "client")
    except PeerRefused as exc:
        assert hs.send is not None
        try:
            wire.send(hs.send.encrypt(frames.error(f"refused ({exc.reason}): {exc}")))
        except OSError:
            pass
        raise
    return peer, hs


def settimeout(sock: socket.socket, seconds: float | None) -> None:
    try:
        sock.settimeout(seconds)
    except OSError:
        pass

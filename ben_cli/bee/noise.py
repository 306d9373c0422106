"""The Noise handshake ``Noise_XX_25519_ChaChaPoly_BLAKE2b`` and its transport ciphers.

Written from the Noise Protocol Framework specification (revision 34), sections 5 (the
CipherState, SymmetricState and HandshakeState objects), 7 (the XX pattern) and 11.3 (rekey),
on :mod:`ben_cli.crypto.primitives` (libsodium through PyNaCl):

- DH is X25519; a low-order peer key is a failed handshake, never an all-zero secret;
- the cipher is ChaCha20-Poly1305 with the 96-bit nonce ``0x00000000 || n`` (little-endian n);
- the hash is BLAKE2b-512; HKDF is the spec's HMAC-BLAKE2b construction (5.1).

XX: ``-> e`` / ``<- e, ee, s, es`` / ``-> s, se``. Each side learns the other's static key
only in the handshake, so what it proves is *possession* of that key: binding it to a name is
the certificate's job (:mod:`.handshake`).

The one ben-specific rule is the rekey: after a transport message is encrypted or decrypted with
nonce n where (n + 1) mod 2^20 = 0, the CipherState calls ``Rekey()`` (spec 4.2: the key becomes
the first 32 bytes of ENCRYPT(k, 2^64 - 1, empty, 32 zero bytes)); n keeps counting.
"""

from __future__ import annotations

import hashlib

from ben_cli.crypto import primitives as p

PROTOCOL_NAME = b"Noise_XX_25519_ChaChaPoly_BLAKE2b"
HASHLEN = 64
DHLEN = 32
MAX_MESSAGE = 65535
REKEY_EVERY = 1 << 20
_MAX_NONCE = (1 << 64) - 1


class HandshakeFailed(p.CryptoError):
    """The handshake cannot go on: a message that does not authenticate, is the wrong size, or
    carries a low-order key, or a message out of turn."""


def _hash(data: bytes) -> bytes:
    return hashlib.blake2b(data).digest()


_IPAD = bytes.maketrans(bytes(range(256)), bytes(b ^ 0x36 for b in range(256)))
_OPAD = bytes.maketrans(bytes(range(256)), bytes(b ^ 0x5C for b in range(256)))


def _hmac(key: bytes, data: bytes) -> bytes:
    """HMAC-BLAKE2b (RFC 2104, block 128 bytes), written out: a third cheaper than ``hmac.new``
    for the short inputs of a handshake (the keys here are never over one block)."""
    padded = key.ljust(128, b"\x00")
    inner = hashlib.blake2b(padded.translate(_IPAD) + data).digest()
    return hashlib.blake2b(padded.translate(_OPAD) + inner).digest()


def hkdf(chaining_key: bytes, ikm: bytes, outputs: int) -> tuple[bytes, ...]:
    """The spec's HKDF (5.1): two or three HASHLEN outputs from the chaining key and ``ikm``."""
    temp = _hmac(chaining_key, ikm)
    first = _hmac(temp, b"\x01")
    second = _hmac(temp, first + b"\x02")
    if outputs == 2:
        return first, second
    return first, second, _hmac(temp, second + b"\x03")


def _nonce(n: int) -> bytes:
    return b"\x00\x00\x00\x00" + n.to_bytes(8, "little")


class CipherState:
    """A key and a nonce counter (spec 5.1), with ben-bee's rekey every 2^20 messages.

    ``rekey_every`` is a parameter only so that tests can watch the rule happen without a
    million messages; the protocol value is :data:`REKEY_EVERY`.
    """

    def __init__(self, key: bytes | None = None, rekey_every: int = REKEY_EVERY):
        self.key = key
        self.n = 0
        self.rekey_every = rekey_every

    def has_key(self) -> bool:
        return self.key is not None

    def _next(self) -> int:
        n = self.n
        if n >= _MAX_NONCE:
            raise HandshakeFailed("nonce exhausted: the connection has carried 2^64-1 messages")
        self.n = n + 1
        return n

    def encrypt_with_ad(self, ad: bytes, plaintext: bytes) -> bytes:
        if self.key is None:
            return plaintext
        n = self._next()
        out = p.chacha_seal(self.key, _nonce(n), plaintext, ad)
        return out

    def decrypt_with_ad(self, ad: bytes, ciphertext: bytes) -> bytes:
        if self.key is None:
            return ciphertext
        # the nonce advances only when the message authenticates (spec 5.1)
        out = p.chacha_open(self.key, _nonce(self.n), ciphertext, ad)
        self.n += 1
        return out

    def rekey(self) -> None:
        assert self.key is not None
        self.key = p.chacha_seal(self.key, _nonce(_MAX_NONCE), bytes(32))[:32]

    # transport messages: the same with the rekey rule
    def encrypt(self, plaintext: bytes) -> bytes:
        """A transport message (empty associated data), rekeying after nonce n with (n+1) % 2^20 == 0."""
        out = self.encrypt_with_ad(b"", plaintext)
        if self.n % self.rekey_every == 0:
            self.rekey()
        return out

    def decrypt(self, ciphertext: bytes) -> bytes:
        """The plaintext of a transport message; :class:`~ben_cli.crypto.primitives.DecryptionFailed`
        if it does not authenticate (then the connection must end: the nonce did not advance)."""
        out = self.decrypt_with_ad(b"", ciphertext)
        if self.n % self.rekey_every == 0:
            self.rekey()
        return out


class SymmetricState:
    """The chaining key and handshake hash (spec 5.2)."""

    def __init__(self, protocol_name: bytes = PROTOCOL_NAME):
        self.h = protocol_name.ljust(HASHLEN, b"\x00") if len(protocol_name) <= HASHLEN else _hash(protocol_name)
        self.ck = self.h
        self.cipher = CipherState()

    def mix_key(self, ikm: bytes) -> None:
        self.ck, temp = hkdf(self.ck, ikm, 2)
        self.cipher = CipherState(temp[:32])

    def mix_hash(self, data: bytes) -> None:
        self.h = _hash(self.h + data)

    def encrypt_and_hash(self, plaintext: bytes) -> bytes:
        out = self.cipher.encrypt_with_ad(self.h, plaintext)
        self.mix_hash(out)
        return out

    def decrypt_and_hash(self, ciphertext: bytes) -> bytes:
        try:
            out = self.cipher.decrypt_with_ad(self.h, ciphertext)
        except p.CryptoError as exc:
            raise HandshakeFailed(f"handshake message does not authenticate ({exc})") from None
        self.mix_hash(ciphertext)
        return out

    def split(self, rekey_every: int) -> tuple[CipherState, CipherState]:
        first, second = hkdf(self.ck, b"", 2)
        return CipherState(first[:32], rekey_every), CipherState(second[:32], rekey_every)


class Handshake:
    """One side of an XX handshake (spec 5.3 with the XX pattern written out).

    The initiator calls ``write_message``, ``read_message``, ``write_message``; the responder
    ``read_message``, ``write_message``, ``read_message``. After the third message ``complete``
    is true, ``remote_static`` holds the key the peer proved, and ``send``/``receive`` are the
    transport ciphers. ``ephemeral`` is for test vectors only: a real handshake makes a fresh one.
    """

    def __init__(self, initiator: bool, static_secret: bytes, prologue: bytes, *, ephemeral: bytes | None = None,
                 rekey_every: int = REKEY_EVERY, static_public: bytes | None = None):
        self.initiator = initiator
        # the public half may be passed in by a caller that derived it once (a listener's key)
        self.s, self.s_pub = (static_secret, static_public) if static_public else p.x25519_keypair(static_secret)
        self._ephemeral = ephemeral
        self.e = b""
        self.e_pub = b""
        self.re = b""
        self.remote_static = b""
        self.state = SymmetricState()
        self.state.mix_hash(prologue)
        self.step = 0
        self.rekey_every = rekey_every
        self.send: CipherState | None = None
        self.receive: CipherState | None = None

    @property
    def complete(self) -> bool:
        return self.step == 3

    @property
    def handshake_hash(self) -> bytes:
        return self.state.h

    def _my_turn(self) -> bool:
        return (self.step % 2 == 0) == self.initiator

    def _dh(self, secret: bytes, public: bytes) -> None:
        try:
            self.state.mix_key(p.x25519(secret, public))
        except p.LowOrderPoint:
            raise HandshakeFailed("the peer sent a low-order X25519 key") from None

    def _new_ephemeral(self) -> bytes:
        self.e, self.e_pub = p.x25519_keypair(self._ephemeral)
        self.state.mix_hash(self.e_pub)
        return self.e_pub

    def write_message(self, payload: bytes = b"") -> bytes:
        if self.complete or not self._my_turn():
            raise HandshakeFailed("handshake message written out of turn")
        st = self.state
        if self.step == 0:  # -> e
            out = self._new_ephemeral()
        elif self.step == 1:  # <- e, ee, s, es
            out = self._new_ephemeral()
            self._dh(self.e, self.re)
            out += st.encrypt_and_hash(self.s_pub)
            self._dh(self.s, self.re)
        else:  # -> s, se
            out = st.encrypt_and_hash(self.s_pub)
            self._dh(self.s, self.re)
        out += st.encrypt_and_hash(payload)
        if len(out) > MAX_MESSAGE:
            raise HandshakeFailed(f"handshake message of {len(out)} bytes is over the {MAX_MESSAGE}-byte limit")
        self._advance()
        return out

    def read_message(self, message: bytes) -> bytes:
        if self.complete or self._my_turn():
            raise HandshakeFailed("handshake message received out of turn")
        st = self.state
        rest = bytes(message)
        if self.step == 0:  # -> e
            rest = self._read_ephemeral(rest)
        elif self.step == 1:  # <- e, ee, s, es
            rest = self._read_ephemeral(rest)
            self._dh(self.e, self.re)
            rest = self._read_static(rest)
            self._dh(self.e, self.remote_static)
        else:  # -> s, se
            rest = self._read_static(rest)
            self._dh(self.e, self.remote_static)
        payload = st.decrypt_and_hash(rest)
        self._advance()
        return payload

    def _read_ephemeral(self, message: bytes) -> bytes:
        if len(message) < DHLEN:
            raise HandshakeFailed(f"handshake message of {len(message)} bytes is too short for a key")
        self.re = message[:DHLEN]
        self.state.mix_hash(self.re)
        return message[DHLEN:]

    def _read_static(self, message: bytes) -> bytes:
        size = DHLEN + (16 if self.state.cipher.has_key() else 0)
        if len(message) < size:
            raise HandshakeFailed(f"handshake message of {len(message)} bytes is too short for a static key")
        self.remote_static = self.state.decrypt_and_hash(message[:size])
        return message[size:]

    def _advance(self) -> None:
        self.step += 1
        if self.complete:
            first, second = self.state.split(self.rekey_every)
            self.send, self.receive = (first, second) if self.initiator else (second, first)
            self.e = b""  # the ephemeral secret is needed no longer

"""Key pairs, their fingerprints and key ids.

A fingerprint is the BLAKE2b-256 hash of the raw public key: anyone holding the public key can
recompute it, so two people can compare keys by reading eight groups of hex aloud. Ed25519 keys
also carry minisign's 8-byte key id, which signatures name so a verifier can tell at once that
a signature was made by a different key. ben derives the key id of the keys it generates from
the fingerprint (its first 8 bytes); keys made by minisign keep minisign's random id.

Secret key classes never show their secret in ``repr`` (so a traceback or a log line cannot leak
it); PyNaCl cannot wipe memory, so code keeps secret objects short-lived instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ben_cli.crypto import bech32
from ben_cli.crypto import primitives as p

AGE_RECIPIENT_HRP = "age"
AGE_IDENTITY_HRP = "age-secret-key-"
KEY_ID_BYTES = 8


def fingerprint(public: bytes) -> str:
    """BLAKE2b-256 of a public key as hex in groups of 8, e.g. ``9f1c2e07 44ab...``."""
    digest = p.blake2b(public, 32).hex()
    return " ".join(digest[i : i + 8] for i in range(0, 64, 8))


def derived_key_id(public: bytes) -> bytes:
    """The key id ben gives the keys it generates: the fingerprint's first 8 bytes."""
    return p.blake2b(public, 32)[:KEY_ID_BYTES]


def key_id_text(key_id: bytes) -> str:
    """minisign's spelling of a key id: the 8 bytes read as a little-endian integer, in hex."""
    return f"{int.from_bytes(key_id, 'little'):016X}"


@dataclass(frozen=True)
class VerifyKey:
    """An Ed25519 public key with its minisign key id."""

    key: bytes
    key_id: bytes

    def __post_init__(self) -> None:
        p.check_ed25519_public(self.key)
        p.require_length("key id", self.key_id, KEY_ID_BYTES)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.key)

    def verify(self, message: bytes, signature: bytes) -> None:
        p.ed25519_verify(self.key, message, signature)


@dataclass(frozen=True, repr=False)
class SigningKey:
    """An Ed25519 secret key (its 32-byte seed) with its key id."""

    seed: bytes
    key_id: bytes
    public: VerifyKey = field(init=False)

    def __post_init__(self) -> None:
        _, public = p.ed25519_keypair(self.seed)
        object.__setattr__(self, "public", VerifyKey(public, self.key_id))

    @classmethod
    def generate(cls) -> SigningKey:
        seed, public = p.ed25519_keypair()
        return cls(seed, derived_key_id(public))

    def sign(self, message: bytes) -> bytes:
        return p.ed25519_sign(self.seed, message)

    def __repr__(self) -> str:
        return f"SigningKey(key_id={key_id_text(self.key_id)}, secret=<hidden>)"


@dataclass(frozen=True)
class Recipient:
    """An X25519 public key: someone data can be sealed to. Written as age's ``age1...``."""

    key: bytes

    def __post_init__(self) -> None:
        p.require_length("X25519 public key", self.key, p.X25519_KEY)

    @classmethod
    def parse(cls, text: str) -> Recipient:
        try:
            hrp, data = bech32.decode(text.strip())
        except bech32.Bech32Error as exc:
            raise p.CryptoError(f"not an age recipient: {exc}") from None
        if hrp != AGE_RECIPIENT_HRP or text.strip() != text.strip().lower():
            raise p.CryptoError("not an age X25519 recipient (expected age1... in lower case)")
        return cls(p.require_length("X25519 public key", data, p.X25519_KEY))

    @property
    def text(self) -> str:
        return bech32.encode(AGE_RECIPIENT_HRP, self.key)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.key)


@dataclass(frozen=True, repr=False)
class Identity:
    """An X25519 secret key: what opens data sealed to its recipient. age's ``AGE-SECRET-KEY-1...``."""

    secret: bytes
    recipient: Recipient = field(init=False)

    def __post_init__(self) -> None:
        _, public = p.x25519_keypair(self.secret)
        object.__setattr__(self, "recipient", Recipient(public))

    @classmethod
    def generate(cls) -> Identity:
        return cls(p.random_bytes(p.X25519_KEY))

    @classmethod
    def parse(cls, text: str) -> Identity:
        text = text.strip()
        try:
            hrp, data = bech32.decode(text)
        except bech32.Bech32Error as exc:
            raise p.CryptoError(f"not an age identity: {exc}") from None
        if hrp != AGE_IDENTITY_HRP or text != text.upper():
            raise p.CryptoError("not an age X25519 identity (expected AGE-SECRET-KEY-1... in upper case)")
        return cls(p.require_length("X25519 secret key", data, p.X25519_KEY))

    @property
    def text(self) -> str:
        return bech32.encode(AGE_IDENTITY_HRP, self.secret).upper()

    def __repr__(self) -> str:
        return f"Identity(recipient={self.recipient.text}, secret=<hidden>)"

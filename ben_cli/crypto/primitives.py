"""Strict wrappers over libsodium (through PyNaCl) and the standard library.

Every other crypto module calls these instead of PyNaCl directly, so the checks live in one
place: lengths are verified before any call (a truncated key or signature is an error that says
so, not a libsodium exception), non-canonical Ed25519 signatures and public keys are refused,
and an X25519 exchange with a low-order point (all-zero shared secret) is a failure, never a key.

BLAKE2b comes from ``hashlib`` (the same function libsodium's ``crypto_generichash`` computes,
checked in the tests) because it is several times cheaper per call for the short inputs of a
record hash chain. HKDF-SHA256 (RFC 5869) is the two-line construction over ``hmac``.
"""

from __future__ import annotations

import hashlib
import hmac
import os

import nacl.bindings as sodium
import nacl.exceptions

from ben_cli.errors import BenError

ED25519_PUBLIC = 32
ED25519_SEED = 32
ED25519_SIGNATURE = 64
X25519_KEY = 32
CHACHA_KEY = 32
CHACHA_NONCE = 12
CHACHA_TAG = 16

# the order of the Ed25519 base point: a signature's S must be below it (RFC 8032, 5.1.7)
_L = 2**252 + 27742317777372353535851937790883648493


class CryptoError(BenError, ValueError):
    """A cryptographic check failed or an input was malformed; the message says which.

    A :class:`~ben_cli.errors.BenError` with exit status 1, so ``ben key`` lets it reach the root,
    which prints it on one line; still a ValueError for callers that catch bad values broadly."""


class Truncated(CryptoError):
    """An input is shorter (or longer) than its format requires."""


class BadSignature(CryptoError):
    """A signature does not verify."""


class NonCanonical(CryptoError):
    """An encoding that has a single valid form was given in another one."""


class InvalidPublicKey(CryptoError):
    """A public key is not a usable point (off the curve, small order, mixed order)."""


class LowOrderPoint(CryptoError):
    """An X25519 exchange produced the all-zero shared secret: the peer's point has low order."""


class DecryptionFailed(CryptoError):
    """An AEAD ciphertext did not authenticate (altered, truncated, or the wrong key)."""


def require_length(name: str, data: bytes, size: int) -> bytes:
    """``data`` unchanged if it is ``size`` bytes long, else :class:`Truncated` naming it."""
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"{name} must be bytes, not {type(data).__name__}")
    if len(data) != size:
        raise Truncated(f"{name} must be {size} bytes, got {len(data)}")
    return bytes(data)


def random_bytes(n: int) -> bytes:
    return os.urandom(n)


def equal(a: bytes, b: bytes) -> bool:
    """Constant-time comparison (for MACs, checksums and hashes an attacker can probe)."""
    return hmac.compare_digest(a, b)


# --- hashing -------------------------------------------------------------------------------


def blake2b(data: bytes, size: int = 32, key: bytes = b"", person: bytes = b"") -> bytes:
    """BLAKE2b of ``data``: a hash, or a MAC when ``key`` is given (up to 64 bytes)."""
    return hashlib.blake2b(data, digest_size=size, key=key, person=person).digest()


def blake2b_mac(key: bytes, data: bytes, size: int = 32) -> bytes:
    if not 16 <= len(key) <= 64:
        raise Truncated(f"BLAKE2b MAC key must be 16 to 64 bytes, got {len(key)}")
    return blake2b(data, size, key=key)


def verify_blake2b_mac(key: bytes, data: bytes, tag: bytes) -> None:
    """Raise :class:`BadSignature` unless ``tag`` is the MAC of ``data`` (compared in constant time)."""
    if not equal(blake2b_mac(key, data, len(tag) if 16 <= len(tag) <= 64 else 32), tag):
        raise BadSignature("MAC does not match: the data or the tag was altered, or the key is wrong")


def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int = 32) -> bytes:
    """HKDF-SHA256 (RFC 5869): extract with ``salt``, expand with ``info``."""
    if length > 255 * 32:
        raise ValueError("HKDF-SHA256 output is limited to 8160 bytes")
    prk = hmac.new(salt or bytes(32), ikm, hashlib.sha256).digest()
    out, block = b"", b""
    for counter in range(1, -(-length // 32) + 1):
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
    return out[:length]


def hmac_sha256(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


# --- Ed25519 -------------------------------------------------------------------------------


def ed25519_keypair(seed: bytes | None = None) -> tuple[bytes, bytes]:
    """(seed, public key) from a 32-byte seed, or from a fresh random one."""
    seed = require_length("Ed25519 seed", seed, ED25519_SEED) if seed is not None else random_bytes(32)
    public, _ = sodium.crypto_sign_seed_keypair(seed)
    return seed, public


def check_ed25519_public(public: bytes) -> bytes:
    """The key unchanged if it is a canonical point of prime order; :class:`InvalidPublicKey` if not.

    This is stricter than a bare verify, which would accept keys with a small-order component:
    no honest key generator makes one, so such a key is refused as soon as it is read.
    """
    require_length("Ed25519 public key", public, ED25519_PUBLIC)
    if not sodium.crypto_core_ed25519_is_valid_point(public):
        raise InvalidPublicKey(
            "Ed25519 public key is not a valid point (non-canonical, off the curve, or of small order)"
        )
    return public


def ed25519_sign(seed: bytes, message: bytes) -> bytes:
    """The 64-byte detached signature of ``message``."""
    _, secret = sodium.crypto_sign_seed_keypair(require_length("Ed25519 seed", seed, ED25519_SEED))
    return sodium.crypto_sign(message, secret)[:ED25519_SIGNATURE]


def ed25519_verify(public: bytes, message: bytes, signature: bytes, *, key_checked: bool = False) -> None:
    """Return if ``signature`` is a valid, canonical signature of ``message``; raise otherwise.

    ``key_checked`` skips the point check of ``public`` (nearly half the cost of a verification)
    for a caller that checked the key once when it was read and verifies many signatures with it.

    Refused with their own message: a signature of the wrong length (:class:`Truncated`), one whose
    S is not reduced modulo the group order (:class:`NonCanonical`, the malleable form), and a key
    that is not a prime-order point (:class:`InvalidPublicKey`). libsodium then refuses a small-order
    or non-canonical R and any signature that does not verify (:class:`BadSignature`).
    """
    if not key_checked:
        check_ed25519_public(public)
    require_length("Ed25519 signature", signature, ED25519_SIGNATURE)
    if int.from_bytes(signature[32:], "little") >= _L:
        raise NonCanonical("Ed25519 signature is not canonical (S is not below the group order)")
    try:
        sodium.crypto_sign_open(bytes(signature) + message, public)
    except nacl.exceptions.BadSignatureError:
        raise BadSignature("Ed25519 signature does not verify") from None


# --- X25519 --------------------------------------------------------------------------------


def x25519_keypair(secret: bytes | None = None) -> tuple[bytes, bytes]:
    """(secret scalar, public point) from a 32-byte secret, or from a fresh random one."""
    secret = require_length("X25519 secret key", secret, X25519_KEY) if secret is not None else random_bytes(32)
    return secret, sodium.crypto_scalarmult_base(secret)


def x25519(secret: bytes, public: bytes) -> bytes:
    """The shared secret of ``secret`` and the peer's ``public``; :class:`LowOrderPoint` if all-zero."""
    require_length("X25519 secret key", secret, X25519_KEY)
    require_length("X25519 public key", public, X25519_KEY)
    try:
        return sodium.crypto_scalarmult(secret, public)
    except nacl.exceptions.RuntimeError:
        # libsodium refuses to return the all-zero output that a low-order point produces
        raise LowOrderPoint("X25519 public key is a low-order point (the shared secret would be zero)") from None


# --- ChaCha20-Poly1305 (IETF, 96-bit nonce) --------------------------------------------------


def chacha_seal(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
    """Ciphertext with its 16-byte tag appended."""
    require_length("ChaCha20-Poly1305 key", key, CHACHA_KEY)
    require_length("ChaCha20-Poly1305 nonce", nonce, CHACHA_NONCE)
    return sodium.crypto_aead_chacha20poly1305_ietf_encrypt(plaintext, aad or None, nonce, key)


def chacha_open(key: bytes, nonce: bytes, ciphertext: bytes, aad: bytes = b"") -> bytes:
    """The plaintext if ``ciphertext`` (tag appended) authenticates; :class:`DecryptionFailed` if not."""
    require_length("ChaCha20-Poly1305 key", key, CHACHA_KEY)
    require_length("ChaCha20-Poly1305 nonce", nonce, CHACHA_NONCE)
    if len(ciphertext) < CHACHA_TAG:
        raise Truncated(f"ChaCha20-Poly1305 ciphertext is {len(ciphertext)} bytes, shorter than its 16-byte tag")
    try:
        return sodium.crypto_aead_chacha20poly1305_ietf_decrypt(ciphertext, aad or None, nonce, key)
    except nacl.exceptions.CryptoError:
        raise DecryptionFailed("ChaCha20-Poly1305 ciphertext does not authenticate") from None


# --- passphrase KDF (scrypt, as minisign and age use it) -------------------------------------


def scrypt(passphrase: bytes, salt: bytes, log_n: int, r: int, p: int, size: int) -> bytes:
    """scrypt with explicit parameters (N = 2**log_n), as age's passphrase stanza needs."""
    n = 1 << log_n
    maxmem = 128 * r * (n + p + 2) + (1 << 20)
    return sodium.crypto_pwhash_scryptsalsa208sha256_ll(passphrase, salt, n, r, p, dklen=size, maxmem=maxmem)


def scrypt_limits(passphrase: bytes, salt: bytes, opslimit: int, memlimit: int, size: int) -> bytes:
    """scrypt with libsodium's opslimit/memlimit, as minisign's secret key files name them."""
    import nacl.pwhash.scrypt

    try:
        return nacl.pwhash.scrypt.kdf(size, passphrase, salt, opslimit=opslimit, memlimit=memlimit)
    except nacl.exceptions.ValueError as exc:
        raise CryptoError(f"scrypt parameters out of range: {exc}") from None

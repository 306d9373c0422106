"""Keys and detached signatures in minisign's formats (https://jedisct1.github.io/minisign/).

A public key file is an untrusted comment line and the base64 of ``"Ed" || key id || key``.
A signature file is::

    untrusted comment: <anything; not covered by any signature>
    base64("ED" || key id || Ed25519(BLAKE2b-512(file)))
    trusted comment: <one line, covered by the global signature>
    base64(Ed25519(signature || trusted comment))

``ED`` signatures sign the BLAKE2b-512 hash of the file, so signing and verifying stream the
file in constant memory; legacy ``Ed`` signatures (the file itself) are still verified. The
secret key file is ``"Ed" || kdf || "B2" || salt || opslimit || memlimit || (key id || secret
|| checksum)``, the last part XOR-ed with an scrypt stream when a passphrase protects it, and
the checksum (BLAKE2b-256) tells a wrong passphrase from a right one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ben_cli.crypto import primitives as p
from ben_cli.crypto.keys import KEY_ID_BYTES, SigningKey, VerifyKey, key_id_text
from ben_cli.errors import UsageError

SIG_ALG = b"Ed"
SIG_ALG_HASHED = b"ED"
KDF_SCRYPT = b"Sc"
KDF_NONE = b"\x00\x00"
CHK_ALG = b"B2"
UNTRUSTED = "untrusted comment: "
TRUSTED = "trusted comment: "
SUFFIX = ".minisig"
_SECRET_LEN = 2 + 2 + 2 + 32 + 8 + 8 + KEY_ID_BYTES + 64 + 32

# scrypt cost levels: libsodium's named limits; "sensitive" is minisign's own default
COSTS = {
    "interactive": (524288, 16 << 20),
    "moderate": (4194304, 128 << 20),
    "sensitive": (33554432, 1 << 30),
}

PassphraseSource = Callable[[], bytes]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, what: str, size: int) -> bytes:
    try:
        data = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise p.CryptoError(f"{what} is not valid base64") from None
    if len(data) != size:
        raise p.Truncated(f"{what} is {len(data)} bytes, a minisign {what} is {size}")
    return data


def _lines(text: str, count: int, what: str) -> list[str]:
    lines = text.replace("\r\n", "\n").split("\n")
    if len(lines) < count or any(not line for line in lines[:count]):
        raise p.Truncated(f"{what} is truncated: it needs {count} lines")
    return lines[:count]


# --- public keys -----------------------------------------------------------------------------


def public_key_text(key: VerifyKey) -> str:
    return f"{UNTRUSTED}minisign public key {key_id_text(key.key_id)}\n{_b64(SIG_ALG + key.key_id + key.key)}\n"


def parse_public_key(text: str) -> VerifyKey:
    """A public key from a minisign ``.pub`` file's text or from its bare base64 line (``RW...``)."""
    text = text.strip()
    line = _lines(text, 2, "public key file")[1] if text.startswith(UNTRUSTED) else text
    data = _unb64(line, "public key", 2 + KEY_ID_BYTES + 32)
    if data[:2] != SIG_ALG:
        raise p.CryptoError(f"unsupported public key algorithm {data[:2]!r} (minisign keys start with 'Ed')")
    return VerifyKey(data[10:], data[2:10])


# --- secret keys -----------------------------------------------------------------------------


def _checksum(key_id: bytes, secret64: bytes) -> bytes:
    return p.blake2b(SIG_ALG + key_id + secret64, 32)


def secret_key_text(key: SigningKey, passphrase: bytes | None = None, cost: str = "moderate") -> str:
    """The secret key file's text; encrypted (scrypt) when a passphrase is given."""
    secret64 = key.seed + key.public.key
    keynum = key.key_id + secret64 + _checksum(key.key_id, secret64)
    if passphrase is None:
        head, salt, ops, mem = SIG_ALG + KDF_NONE + CHK_ALG, bytes(32), 0, 0
        comment = "minisign secret key (not encrypted)"
    else:
        ops, mem = COSTS[cost]
        salt = p.random_bytes(32)
        head = SIG_ALG + KDF_SCRYPT + CHK_ALG
        stream = p.scrypt_limits(passphrase, salt, ops, mem, len(keynum))
        keynum = bytes(a ^ b for a, b in zip(keynum, stream, strict=True))
        comment = "minisign encrypted secret key"
    blob = head + salt + struct.pack("<QQ", ops, mem) + keynum
    return f"{UNTRUSTED}{comment}\n{_b64(blob)}\n"


def secret_key_is_encrypted(text: str) -> bool:
    data = _unb64(_lines(text, 2, "secret key file")[1], "secret key", _SECRET_LEN)
    return data[2:4] == KDF_SCRYPT


def parse_secret_key(text: str, passphrase: PassphraseSource | None = None) -> SigningKey:
    """A signing key from a minisign secret key file; ``passphrase`` is asked only if it is encrypted."""
    data = _unb64(_lines(text, 2, "secret key file")[1], "secret key", _SECRET_LEN)
    if data[:2] != SIG_ALG or data[4:6] != CHK_ALG:
        raise p.CryptoError("unsupported minisign secret key (algorithm or checksum type)")
    salt, (ops, mem), keynum = data[6:38], struct.unpack("<QQ", data[38:54]), data[54:]
    if data[2:4] == KDF_SCRYPT:
        if passphrase is None:
            raise p.CryptoError("the secret key is encrypted and no passphrase was given")
        stream = p.scrypt_limits(passphrase(), salt, ops, mem, len(keynum))
        keynum = bytes(a ^ b for a, b in zip(keynum, stream, strict=True))
        wrong = "wrong passphrase for this key"
    elif data[2:4] == KDF_NONE:
        wrong = "secret key checksum does not match: the key file is damaged"
    else:
        raise p.CryptoError(f"unsupported key derivation {data[2:4]!r} in the secret key")
    key_id, secret64, checksum = keynum[:8], keynum[8:72], keynum[72:]
    # minisign leaves the checksum of an unencrypted key zero; any other value must be right
    if not (data[2:4] == KDF_NONE and checksum == bytes(32)) and not p.equal(checksum, _checksum(key_id, secret64)):
        raise p.CryptoError(wrong)
    key = SigningKey(secret64[:32], key_id)
    if not p.equal(key.public.key, secret64[32:]):
        raise p.CryptoError("secret key file is inconsistent (its public half does not match)")
    return key


# --- signatures ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    algorithm: bytes  # b"ED" (prehashed) or b"Ed" (legacy)
    key_id: bytes
    signature: bytes
    trusted_comment: str
    global_signature: bytes


def prehash(stream: BinaryIO) -> bytes:
    """BLAKE2b-512 of everything in ``stream``, read in 64 KiB blocks."""
    h = hashlib.blake2b(digest_size=64)
    for block in iter(lambda: stream.read(1 << 16), b""):
        h.update(block)
    return h.digest()


def sign(key: SigningKey, stream: BinaryIO, trusted_comment: str, untrusted_comment: str | None = None) -> str:
    """A minisign signature file (prehashed) of everything read from ``stream``."""
    if "\n" in trusted_comment or "\r" in trusted_comment:
        raise UsageError("a trusted comment is one line")
    signature = key.sign(prehash(stream))
    global_sig = key.sign(signature + trusted_comment.encode("utf-8"))
    untrusted = untrusted_comment or f"signature from minisign secret key {key_id_text(key.key_id)}"
    return (
        f"{UNTRUSTED}{untrusted}\n{_b64(SIG_ALG_HASHED + key.key_id + signature)}\n"
        f"{TRUSTED}{trusted_comment}\n{_b64(global_sig)}\n"
    )


def parse_signature(text: str) -> Signature:
    lines = _lines(text, 4, "signature file")
    if not lines[0].startswith(UNTRUSTED):
        raise p.CryptoError(f"signature file's first line must start with {UNTRUSTED!r}")
    if not lines[2].startswith(TRUSTED):
        raise p.CryptoError(f"signature file's third line must start with {TRUSTED!r}")
    data = _unb64(lines[1], "signature", 2 + KEY_ID_BYTES + 64)
    if data[:2] not in (SIG_ALG, SIG_ALG_HASHED):
        raise p.CryptoError(f"unsupported signature algorithm {data[:2]!r}")
    global_sig = _unb64(lines[3], "global signature", 64)
    return Signature(data[:2], data[2:10], data[10:], lines[2][len(TRUSTED) :], global_sig)


def verify(key: VerifyKey, stream: BinaryIO, signature_text: str) -> str:
    """Return the trusted comment if the signature holds for ``stream``; raise otherwise."""
    sig = parse_signature(signature_text)
    if sig.key_id != key.key_id:
        raise p.BadSignature(
            f"signature was made by key {key_id_text(sig.key_id)}, not by this key ({key_id_text(key.key_id)})"
        )
    message = prehash(stream) if sig.algorithm == SIG_ALG_HASHED else stream.read()
    try:
        key.verify(message, sig.signature)
    except p.BadSignature:
        raise p.BadSignature("signature does not match the file: the file or the signature was altered") from None
    try:
        key.verify(sig.signature + sig.trusted_comment.encode("utf-8"), sig.global_signature)
    except p.BadSignature:
        raise p.BadSignature("trusted comment signature does not verify: the comment was altered") from None
    return sig.trusted_comment


def default_trusted_comment(path: Path) -> str:
    """minisign's default: when, which file, and that the signature is prehashed."""
    return f"timestamp:{int(time.time())}\tfile:{path.name}\thashed"


def signature_path(path: Path) -> Path:
    return path.with_name(path.name + SUFFIX)


def sign_file(key: SigningKey, path: Path, trusted_comment: str | None = None) -> str:
    """The signature text for the file at ``path`` (the caller writes it to ``FILE.minisig``)."""
    with open(path, "rb") as fh:
        return sign(key, fh, trusted_comment if trusted_comment is not None else default_trusted_comment(path))


def verify_file(key: VerifyKey, path: Path, signature: Path | None = None) -> str:
    """The trusted comment if ``FILE.minisig`` (or ``signature``) verifies for the file at ``path``."""
    sig_path = signature or signature_path(path)
    try:
        sig_text = sig_path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise p.CryptoError(f"{sig_path}: not a minisign signature (not UTF-8 text: byte {exc.start})") from None
    with open(path, "rb") as fh:
        return verify(key, fh, sig_text)

"""Encryption in the age v1 format (https://age-encryption.org/v1), to X25519 recipients and
passphrases, so a file ben seals opens with ``age -d`` and a file ``age -r`` made opens with ben.

The format, in short::

    age-encryption.org/v1
    -> X25519 <ephemeral share, base64>          one stanza per recipient: the 16-byte file key,
    <wrapped file key, base64, 64 columns>       wrapped for that recipient
    --- <HMAC-SHA256 of the header, base64>      keyed from the file key: nobody without it can
    <16-byte nonce><payload>                     alter the header

The payload is ChaCha20-Poly1305 over 64 KiB chunks. Chunk ``i`` uses the 12-byte nonce
``i`` (11 bytes, big-endian) plus a last-chunk flag byte, so dropping, reordering or cutting
off chunks fails authentication. Only the final chunk may be short, and it may be empty only
when the whole payload is. Reading is strict in the way the age test kit demands (canonical
base64, exact line lengths, no stray whitespace): a lenient reader is a malleable one.

Decryption never hands out plaintext as if complete before the last chunk has authenticated:
:func:`decrypt_to` writes to a spool and copies to its destination only at the end.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from ben_cli.crypto import primitives as p
from ben_cli.crypto.keys import Identity, Recipient
from ben_cli.errors import UsageError

INTRO = b"age-encryption.org/v1\n"
CHUNK = 64 * 1024
FILE_KEY_BYTES = 16
NONCE_BYTES = 16
X25519_LABEL = b"age-encryption.org/v1/X25519"
SCRYPT_LABEL = b"age-encryption.org/v1/scrypt"
SCRYPT_MAX_LOG_N = 22  # age's own ceiling: a header may not make the reader spend more
MAX_HEADER_LINE = 4096
ARMOR_BEGIN = b"-----BEGIN AGE ENCRYPTED FILE-----"
ARMOR_END = b"-----END AGE ENCRYPTED FILE-----"
ARMOR_COLUMNS = 64
_ZERO_NONCE = bytes(12)
_WHITESPACE = b" \t\r\n"


class AgeError(p.CryptoError):
    """An age file could not be opened; the subclass says which part failed."""


class HeaderError(AgeError):
    """The header is malformed (or names a low-order X25519 share, or an excessive scrypt cost)."""


class MacError(AgeError):
    """The header does not match its MAC: it was altered after sealing."""


class PayloadError(AgeError):
    """The payload is truncated, altered, or has data after its final chunk."""


class ArmorError(AgeError):
    """The ASCII armor is malformed."""


class NoMatch(AgeError):
    """None of the given keys (or passphrases) opens any of the file's stanzas."""


@dataclass(frozen=True)
class Stanza:
    type: str
    args: tuple[str, ...]
    body: bytes

    def encode(self) -> bytes:
        text = b64encode(self.body)
        lines = [text[i : i + ARMOR_COLUMNS] for i in range(0, len(text), ARMOR_COLUMNS)]
        if not lines or len(lines[-1]) == ARMOR_COLUMNS:
            lines.append("")  # a stanza always ends with a short (possibly empty) line
        head = " ".join(("->", self.type, *self.args))
        return (head + "\n" + "\n".join(lines) + "\n").encode("ascii")


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


_B64_CHARS = re.compile(rb"[A-Za-z0-9+/]*")


def b64decode(text: bytes | str, what: str) -> bytes:
    """Unpadded standard base64, refusing padding, stray characters and non-canonical final bits."""
    raw = text.encode("ascii", "replace") if isinstance(text, str) else text
    if not _B64_CHARS.fullmatch(raw) or len(raw) % 4 == 1:
        raise HeaderError(f"{what} is not valid unpadded base64")
    data = base64.b64decode(raw + b"=" * (-len(raw) % 4))
    if b64encode(data).encode("ascii") != raw:
        raise HeaderError(f"{what} is not canonical base64")
    return data


# --- recipients and identities ---------------------------------------------------------------


def _wrap(key: bytes, file_key: bytes) -> bytes:
    return p.chacha_seal(key, _ZERO_NONCE, file_key)


def _unwrap(key: bytes, body: bytes) -> bytes | None:
    if len(body) != FILE_KEY_BYTES + p.CHACHA_TAG:
        raise HeaderError(f"stanza body is {len(body)} bytes, a wrapped file key is {FILE_KEY_BYTES + p.CHACHA_TAG}")
    try:
        return p.chacha_open(key, _ZERO_NONCE, body)
    except p.DecryptionFailed:
        return None


def x25519_stanza(recipient: Recipient, file_key: bytes) -> Stanza:
    ephemeral, share = p.x25519_keypair()
    shared = p.x25519(ephemeral, recipient.key)
    key = p.hkdf_sha256(shared, share + recipient.key, X25519_LABEL)
    return Stanza("X25519", (b64encode(share),), _wrap(key, file_key))


def x25519_unwrap(identity: Identity, stanza: Stanza) -> bytes | None:
    """The file key if the stanza is addressed to ``identity``; None if it is someone else's."""
    if stanza.type != "X25519":
        return None
    if len(stanza.args) != 1:
        raise HeaderError("X25519 stanza must have exactly one argument")
    share = b64decode(stanza.args[0], "X25519 share")
    if len(share) != p.X25519_KEY:
        raise HeaderError(f"X25519 share is {len(share)} bytes, not 32")
    try:
        shared = p.x25519(identity.secret, share)
    except p.LowOrderPoint as exc:
        raise HeaderError(str(exc)) from None
    key = p.hkdf_sha256(shared, share + identity.recipient.key, X25519_LABEL)
    return _unwrap(key, stanza.body)


@dataclass(frozen=True, repr=False)
class Passphrase:
    """A passphrase, usable both ways: age's scrypt stanza wraps the file key with it."""

    secret: bytes
    log_n: int = 18  # age's default work factor (256 MiB)

    def stanza(self, file_key: bytes) -> Stanza:
        salt = p.random_bytes(16)
        key = p.scrypt(self.secret, SCRYPT_LABEL + salt, self.log_n, 8, 1, 32)
        return Stanza("scrypt", (b64encode(salt), str(self.log_n)), _wrap(key, file_key))

    def unwrap(self, stanza: Stanza) -> bytes | None:
        if stanza.type != "scrypt":
            return None
        if len(stanza.args) != 2:
            raise HeaderError("scrypt stanza must have a salt and a work factor")
        salt = b64decode(stanza.args[0], "scrypt salt")
        if len(salt) != 16:
            raise HeaderError(f"scrypt salt is {len(salt)} bytes, not 16")
        if not re.fullmatch(r"[1-9][0-9]?", stanza.args[1]):
            raise HeaderError("scrypt work factor must be a decimal number from 1 to 22")
        log_n = int(stanza.args[1])
        if log_n > SCRYPT_MAX_LOG_N:
            raise HeaderError(f"scrypt work factor {log_n} is above the limit of {SCRYPT_MAX_LOG_N}")
        if len(stanza.body) != FILE_KEY_BYTES + p.CHACHA_TAG:
            raise HeaderError("scrypt stanza body is not a wrapped 16-byte file key")
        key = p.scrypt(self.secret, SCRYPT_LABEL + salt, log_n, 8, 1, 32)
        return _unwrap(key, stanza.body)


Key = Recipient | Passphrase
Opener = Identity | Passphrase


def _stanza_for(key: Key, file_key: bytes) -> Stanza:
    return key.stanza(file_key) if isinstance(key, Passphrase) else x25519_stanza(key, file_key)


def _unwrap_with(opener: Opener, stanza: Stanza) -> bytes | None:
    return opener.unwrap(stanza) if isinstance(opener, Passphrase) else x25519_unwrap(opener, stanza)


# --- header ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Header:
    stanzas: tuple[Stanza, ...]
    mac: bytes
    signed_bytes: bytes  # everything the MAC covers: up to and including "---"


def _header_mac(file_key: bytes, signed: bytes) -> bytes:
    return p.hmac_sha256(p.hkdf_sha256(file_key, b"", b"header"), signed)


def _is_vchar_arg(arg: bytes) -> bool:
    return bool(arg) and all(0x21 <= c <= 0x7E for c in arg)


def _readline(stream: BinaryIO) -> bytes:
    line = stream.readline(MAX_HEADER_LINE)
    if not line.endswith(b"\n"):
        raise HeaderError("header ends early or has an over-long line" if line else "file ends inside the header")
    return line


def read_header(stream: BinaryIO) -> Header:
    """Parse the header from ``stream``, leaving it positioned at the payload nonce."""
    first = stream.readline(MAX_HEADER_LINE)
    if first != INTRO:
        if first.startswith(b"age-encryption.org/"):
            raise HeaderError(f"unsupported age version {first.strip().decode('ascii', 'replace')!r}")
        raise HeaderError("not an age file (the first line is not age-encryption.org/v1)")
    signed = bytearray(first)
    stanzas: list[Stanza] = []
    line = _readline(stream)
    while line.startswith(b"-> "):
        signed += line
        args = line[3:-1].split(b" ")
        if not all(_is_vchar_arg(a) for a in args):
            raise HeaderError("stanza line has an empty argument or a character outside printable ASCII")
        body = bytearray()
        while True:
            body_line = _readline(stream)
            signed += body_line
            text = body_line[:-1]
            if len(text) > ARMOR_COLUMNS:
                raise HeaderError("stanza body line is longer than 64 columns")
            body += text
            if len(text) < ARMOR_COLUMNS:
                break
        stanzas.append(Stanza(args[0].decode(), tuple(a.decode() for a in args[1:]), b64decode(bytes(body), "stanza body")))
        line = _readline(stream)
    if not line.startswith(b"--- "):
        raise HeaderError("header line is neither a stanza (-> ...) nor the MAC line (--- ...)")
    signed += b"---"
    mac = b64decode(line[4:-1], "header MAC")
    if len(mac) != 32:
        raise HeaderError(f"header MAC is {len(mac)} bytes, not 32")
    return Header(tuple(stanzas), mac, bytes(signed))


def _file_key(header: Header, openers: Iterable[Opener]) -> bytes:
    scrypts = [s for s in header.stanzas if s.type == "scrypt"]
    if scrypts and len(header.stanzas) != 1:
        raise HeaderError("a scrypt (passphrase) stanza must be the only stanza in the header")
    openers = list(openers)
    for opener in openers:
        for stanza in header.stanzas:
            file_key = _unwrap_with(opener, stanza)
            if file_key is not None:
                if not p.equal(_header_mac(file_key, header.signed_bytes), header.mac):
                    raise MacError("header MAC does not match: the header was altered")
                return file_key
    raise NoMatch(_why_no_match(bool(scrypts), [o for o in openers if isinstance(o, Passphrase)], len(openers)))


def _why_no_match(sealed_to_passphrase: bool, passphrases: list[Passphrase], given: int) -> str:
    """Why nothing given opens the file, in the terms of what was given and what the file holds."""
    if sealed_to_passphrase:
        if passphrases:
            return "the passphrase is wrong (this file was sealed to a different passphrase)"
        return "this file was sealed to a passphrase, not to a key: open it with --passphrase"
    if len(passphrases) == given:
        return "this file was sealed to recipients' keys, not to a passphrase: open it with --key NAME.key"
    return "none of the given keys can open this file (it was sealed to other recipients)"


# --- payload ---------------------------------------------------------------------------------


def _chunk_nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def _read_full(stream: BinaryIO, size: int) -> bytes:
    parts, want = [], size
    while want:
        part = stream.read(want)
        if not part:
            break
        parts.append(part)
        want -= len(part)
    return b"".join(parts)


def _decrypt_payload(stream: BinaryIO, file_key: bytes) -> Iterator[bytes]:
    nonce = _read_full(stream, NONCE_BYTES)
    if len(nonce) != NONCE_BYTES:
        raise HeaderError("file ends before the 16-byte payload nonce")
    key = p.hkdf_sha256(file_key, nonce, b"payload")
    size = CHUNK + p.CHACHA_TAG
    chunk = _read_full(stream, size)
    counter = 0
    while True:
        if len(chunk) < p.CHACHA_TAG:
            raise PayloadError("payload is truncated (a chunk is shorter than its tag)")
        following = _read_full(stream, size) if len(chunk) == size else b""
        last = not following
        try:
            plain = p.chacha_open(key, _chunk_nonce(counter, last), chunk)
        except p.DecryptionFailed:
            what = "truncated or has no final chunk" if last else "altered"
            raise PayloadError(f"payload chunk {counter} does not authenticate: the file is {what}") from None
        if last and not plain and counter:
            raise PayloadError("final payload chunk is empty but the payload is not")
        yield plain
        if last:
            return
        chunk, counter = following, counter + 1


def _encrypt_payload(source: BinaryIO, sink: BinaryIO, file_key: bytes) -> None:
    nonce = p.random_bytes(NONCE_BYTES)
    key = p.hkdf_sha256(file_key, nonce, b"payload")
    sink.write(nonce)
    chunk = _read_full(source, CHUNK)
    counter = 0
    while True:
        following = _read_full(source, CHUNK) if len(chunk) == CHUNK else b""
        last = not following
        sink.write(p.chacha_seal(key, _chunk_nonce(counter, last), chunk))
        if last:
            return
        chunk, counter = following, counter + 1


# --- armor -----------------------------------------------------------------------------------


class _ArmorWriter(io.RawIOBase):
    """Base64 in 64-column lines between BEGIN and END markers, written as data arrives."""

    def __init__(self, sink: BinaryIO):
        self.sink, self.pending = sink, b""
        sink.write(ARMOR_BEGIN + b"\n")

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]  # narrower than RawIOBase's buffer
        self.pending += bytes(data)
        whole = len(self.pending) - len(self.pending) % 48
        self._emit(self.pending[:whole])
        self.pending = self.pending[whole:]
        return len(data)

    def _emit(self, data: bytes) -> None:
        text = base64.b64encode(data)
        for i in range(0, len(text), ARMOR_COLUMNS):
            self.sink.write(text[i : i + ARMOR_COLUMNS] + b"\n")

    def finish(self) -> None:
        self._emit(self.pending)
        self.sink.write(ARMOR_END + b"\n")


def dearmor(data: bytes) -> bytes:
    """The binary age file inside ASCII armor; :class:`ArmorError` unless it is well-formed."""
    lines = data.strip(_WHITESPACE).split(b"\n")
    lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
    if len(lines) < 2 or lines[0] != ARMOR_BEGIN:
        raise ArmorError("armor does not start with " + ARMOR_BEGIN.decode())
    if lines[-1] != ARMOR_END:
        raise ArmorError("armor does not end with " + ARMOR_END.decode())
    body = lines[1:-1]
    for i, line in enumerate(body):
        if len(line) > ARMOR_COLUMNS or (i < len(body) - 1 and len(line) != ARMOR_COLUMNS) or not line:
            raise ArmorError(f"armor line {i + 2} is not a full 64-column line (or the last, shorter one)")
    text = b"".join(body)
    try:
        decoded = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ArmorError("armor is not valid padded base64") from None
    if base64.b64encode(decoded) != text:
        raise ArmorError("armor base64 is not canonical")
    return decoded


def _binary_source(source: BinaryIO, armored: bool | None) -> BinaryIO:
    """``source`` itself for a binary age file, the decoded bytes for an armored one.
    ``armored=None`` tells them apart by the first bytes (after any whitespace)."""
    # typeshed wants a RawIOBase under a BufferedReader; any readable binary stream serves
    buffered: io.BufferedReader = source if isinstance(source, io.BufferedReader) else io.BufferedReader(source)  # type: ignore[arg-type]  # typeshed wants RawIOBase
    if armored is None:
        head = buffered.peek(len(INTRO) + 64)[: len(INTRO) + 64]
        armored = head.lstrip(_WHITESPACE).startswith(ARMOR_BEGIN[:11])
    return io.BytesIO(dearmor(buffered.read())) if armored else buffered


# --- the two directions ----------------------------------------------------------------------


def encrypt(source: BinaryIO, sink: BinaryIO, keys: Iterable[Key], armor: bool = False) -> None:
    """Seal everything read from ``source`` to every recipient in ``keys``, writing to ``sink``."""
    keys = list(keys)
    if not keys:
        raise UsageError("at least one recipient is needed: give --to RECIPIENT (or --passphrase)")
    if any(isinstance(k, Passphrase) for k in keys) and len(keys) > 1:
        raise UsageError("a passphrase cannot be combined with other recipients (age allows one scrypt stanza alone)")
    file_key = p.random_bytes(FILE_KEY_BYTES)
    header = INTRO + b"".join(_stanza_for(k, file_key).encode() for k in keys) + b"---"
    armored = _ArmorWriter(sink) if armor else None
    out: BinaryIO = armored if armored is not None else sink  # type: ignore[assignment]  # a RawIOBase that writes bytes
    out.write(header + b" " + b64encode(_header_mac(file_key, header)).encode("ascii") + b"\n")
    _encrypt_payload(source, out, file_key)
    if armored is not None:
        armored.finish()


def decrypt(source: BinaryIO, openers: Iterable[Opener], armored: bool | None = None) -> Iterator[bytes]:
    """Plaintext chunks as they authenticate. A consumer that must not act on a partial result
    uses :func:`decrypt_to`, which releases nothing until the final chunk has authenticated."""
    stream = _binary_source(source, armored)
    header = read_header(stream)
    file_key = _file_key(header, openers)
    yield from _decrypt_payload(stream, file_key)


def decrypt_to(
    source: BinaryIO, sink: BinaryIO, openers: Iterable[Opener], armored: bool | None = None, spool_bytes: int = 1 << 24
) -> int:
    """Decrypt all of ``source``, then copy the plaintext to ``sink``; return its size.

    Plaintext is held in memory up to ``spool_bytes`` and in an unnamed temporary file (mode
    0600, removed when closed) beyond; ``sink`` receives nothing if any part fails.
    """
    with tempfile.SpooledTemporaryFile(max_size=spool_bytes) as spool:
        size = 0
        for chunk in decrypt(source, openers, armored):
            spool.write(chunk)
            size += len(chunk)
        spool.seek(0)
        shutil.copyfileobj(spool, sink, CHUNK)
        return size


def encrypt_bytes(data: bytes, keys: Iterable[Key], armor: bool = False) -> bytes:
    out = io.BytesIO()
    encrypt(io.BytesIO(data), out, keys, armor)
    return out.getvalue()


def decrypt_bytes(data: bytes, openers: Iterable[Opener], armored: bool | None = None) -> bytes:
    return b"".join(decrypt(io.BufferedReader(io.BytesIO(data)), openers, armored))

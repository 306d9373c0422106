"""The HMAC key behind pseudonyms: a 0600 file under ``$BEN_HOME``, created once, never printed.

Pseudonyms are stable across runs and hosts exactly when they share this key, so it is created
on first use and then only read. Creation is race-free: the key is written to a private temporary
file (born 0600, fsynced) and hard-linked to its final name, which fails if another process got
there first; the loser then reads the winner's key. No reader can ever see a half-written key.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from ben_cli.atomic import fsync_dir
from ben_cli.errors import BenError
from ben_cli.units import ben_home

KEY_BYTES = 32
MIN_KEY_BYTES = 16


class HmacKeyError(BenError):
    """The pseudonym key file cannot be used (not the key format, too short, readable by others,
    unreadable): exit 1, since no pseudonym may be made with a key that is not private or not the
    one meant."""


def default_key_path() -> Path:
    return ben_home() / "scrub" / "hmac.key"


_HEX = frozenset(b"0123456789abcdefABCDEF")


def parse_key(data: bytes, path: Path) -> bytes:
    """The key held by the text ``data`` of the key file ``path``, in the one format it has.

    The format is what :func:`load_or_create_key` writes: hex digits (either case), an even number
    of them, at least ``MIN_KEY_BYTES`` bytes' worth, with optional surrounding whitespace (the
    trailing newline). Anything else is refused rather than read some other way: a key silently
    read as raw bytes would change every pseudonym without a word.
    """
    text = data.strip(b" \t\r\n")
    if not text:
        raise HmacKeyError(f"key file {path} is empty; it must hold the key as hex digits")
    bad = next((i for i, c in enumerate(text) if c not in _HEX), None)
    if bad is not None:
        char = text[bad : bad + 1]
        shown = repr(char.decode("latin-1")) if 0x20 <= char[0] < 0x7F else f"byte 0x{char[0]:02x}"
        raise HmacKeyError(f"key file {path} is not hex: {shown} at offset {bad}; it must hold the key as hex digits")
    if len(text) % 2:
        raise HmacKeyError(f"key file {path} has an odd number of hex digits ({len(text)}); each byte takes two")
    key = bytes.fromhex(text.decode("ascii"))
    if len(key) < MIN_KEY_BYTES:
        raise HmacKeyError(f"key file {path} holds {len(key)} bytes; at least {MIN_KEY_BYTES} are needed")
    return key


def read_key(path: Path) -> bytes:
    """The key in ``path`` (see :func:`parse_key`). Refused if group or others may read it."""
    try:
        st = path.stat()
        data = path.read_bytes()
    except OSError as exc:
        raise HmacKeyError(f"cannot read key file {path}: {exc.strerror}") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise HmacKeyError(f"key file {path} is readable by others (mode {stat.S_IMODE(st.st_mode):o}); chmod 600 it")
    return parse_key(data, path)


def load_or_create_key(path: Path | None = None) -> bytes:
    """Read the key, creating it (atomically, 0600) when it does not exist yet."""
    path = path or default_key_path()
    if path.exists():
        return read_key(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(KEY_BYTES).hex().encode() + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # fails if another process created the key first
        except FileExistsError:
            pass
        fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)
    return read_key(path)

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
    """The pseudonym key file cannot be used (too short, readable by others, unreadable): exit 1,
    since no pseudonym may be made with a key that is not private."""


def default_key_path() -> Path:
    return ben_home() / "scrub" / "hmac.key"


def read_key(path: Path) -> bytes:
    """The key in ``path`` (hex text or raw bytes). Refused if group or others may read it."""
    try:
        st = path.stat()
        data = path.read_bytes()
    except OSError as exc:
        raise HmacKeyError(f"cannot read key file {path}: {exc.strerror}") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise HmacKeyError(f"key file {path} is readable by others (mode {stat.S_IMODE(st.st_mode):o}); chmod 600 it")
    text = data.strip()
    try:
        key = bytes.fromhex(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        key = data
    if len(key) < MIN_KEY_BYTES:
        raise HmacKeyError(f"key file {path} holds {len(key)} bytes; at least {MIN_KEY_BYTES} are needed")
    return key


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

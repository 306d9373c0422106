"""Key files on disk: ``NAME.key`` (secret, mode 0600) and ``NAME.pub`` (public).

The formats are other tools', so keys move freely between them:

- Ed25519 (signing): ``NAME.key`` is a minisign secret key (``minisign -S -s NAME.key`` signs
  with it) and ``NAME.pub`` a minisign public key (``minisign -V -p NAME.pub`` verifies).
- X25519 (sealing): ``NAME.key`` is an age identity file (``age -d -i NAME.key`` opens with it),
  and ``NAME.pub`` holds its recipient ``age1...`` (``age -R NAME.pub`` seals to it).

A passphrase protects the secret file with scrypt: minisign's own encrypted key format for
Ed25519, and for X25519 the identity file sealed to the passphrase in (armored) age format,
which is how age itself protects identity files.

A secret file is created with mode 0600 from the first byte (``os.open`` with the mode, never a
chmod afterwards), never over an existing file, and never in a world-writable folder, where
another user could have planted a file or link under the name beforehand.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ben_cli.atomic import write_atomic
from ben_cli.crypto import age, minisign
from ben_cli.crypto import primitives as p
from ben_cli.crypto.keys import Identity, Recipient, SigningKey, VerifyKey, key_id_text
from ben_cli.errors import UsageError

KINDS = ("ed25519", "x25519")
COST_LEVELS = tuple(minisign.COSTS)
# age's scrypt work factors matching the minisign cost levels' memory (16 MiB, 128 MiB, 1 GiB)
AGE_LOG_N = {"interactive": 14, "moderate": 17, "sensitive": 20}

PassphraseSource = Callable[[], bytes]


class KeyFileError(p.CryptoError):
    """A key file cannot be written or read safely."""


def check_folder(folder: Path) -> None:
    """Refuse a world-writable folder (even sticky /tmp): names there can be pre-empted."""
    mode = folder.stat().st_mode
    if mode & stat.S_IWOTH:
        raise KeyFileError(f"refusing to write a secret key in {folder}: the folder is world-writable")


def write_secret(path: Path, data: bytes, force: bool = False) -> None:
    """Create ``path`` with mode 0600 and write ``data``; never follow a link or reuse a file."""
    folder = path.parent if str(path.parent) else Path(".")
    check_folder(folder)
    if force and path.exists():
        path.unlink()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{path} already exists (use --force to replace it)") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def write_public(path: Path, text: str, force: bool = False) -> None:
    if path.exists() and not force:
        raise KeyFileError(f"{path} already exists (use --force to replace it)")
    write_atomic(path, text.encode("utf-8"))


def read_secret(path: Path) -> str:
    """The text of a secret key file, refusing one that others can read (as ssh does)."""
    mode = path.stat().st_mode
    if mode & 0o077:
        raise KeyFileError(f"{path} can be read by others (mode {stat.S_IMODE(mode):o}); run chmod 600 {path}")
    return text_of(path)


def text_of(path: Path) -> str:
    """A key file's text; a file that is not UTF-8 is refused by name (it is no key file of ours)."""
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise KeyFileError(f"{path}: not a key file (not UTF-8 text: byte {exc.start})") from None


# --- generation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicInfo:
    """What ``ben key show`` prints: never anything secret."""

    kind: str
    public: str  # minisign's base64 line, or the age1... recipient
    fingerprint: str
    key_id: str | None = None

    def lines(self) -> list[str]:
        out = [f"type: {self.kind}", f"public key: {self.public}", f"fingerprint: {self.fingerprint}"]
        if self.key_id:
            out.append(f"key id: {self.key_id}")
        return out


def _info(key: VerifyKey | Recipient) -> PublicInfo:
    if isinstance(key, VerifyKey):
        line = minisign.public_key_text(key).splitlines()[1]
        return PublicInfo("ed25519", line, key.fingerprint, key_id_text(key.key_id))
    return PublicInfo("x25519", key.text, key.fingerprint)


def identity_file_text(identity: Identity) -> str:
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return f"# created: {created}\n# public key: {identity.recipient.text}\n{identity.text}\n"


def generate(
    kind: str, out: Path, passphrase: bytes | None = None, cost: str = "moderate", force: bool = False
) -> PublicInfo:
    """Write ``out.key`` and ``out.pub`` for a fresh key pair; return the public description."""
    if kind not in KINDS:
        raise UsageError(f"key type must be one of {', '.join(KINDS)}")
    secret_path, public_path = out.with_name(out.name + ".key"), out.with_name(out.name + ".pub")
    if not force:
        for path in (secret_path, public_path):
            if path.exists():
                raise KeyFileError(f"{path} already exists (use --force to replace it)")
    if kind == "ed25519":
        key = SigningKey.generate()
        secret = minisign.secret_key_text(key, passphrase, cost).encode("ascii")
        public = minisign.public_key_text(key.public)
        info = _info(key.public)
    else:
        identity = Identity.generate()
        secret = identity_file_text(identity).encode("ascii")
        if passphrase is not None:
            secret = age.encrypt_bytes(secret, [age.Passphrase(passphrase, AGE_LOG_N[cost])], armor=True)
        public = identity.recipient.text + "\n"
        info = _info(identity.recipient)
    write_secret(secret_path, secret, force)
    write_public(public_path, public, force)
    return info


# --- loading ---------------------------------------------------------------------------------


def _text_or_file(value: str) -> tuple[str, str]:
    """(text, where) for an argument that is either a key string or a path to a file holding one."""
    candidate = Path(value)
    if "\n" not in value and len(value) < 4096 and candidate.is_file():
        return text_of(candidate), str(candidate)
    return value, "the given string"


def load_verify_key(value: str) -> VerifyKey:
    """A minisign public key from a ``.pub`` file or from its base64 string."""
    text, where = _text_or_file(value)
    try:
        return minisign.parse_public_key(text)
    except p.CryptoError as exc:
        raise KeyFileError(f"{where}: {exc}") from None


def load_recipient(value: str) -> Recipient:
    """An age recipient from a file holding one (comments allowed) or from the ``age1...`` string."""
    text, where = _text_or_file(value)
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if len(lines) != 1:
        raise KeyFileError(f"{where}: expected exactly one age1... recipient, found {len(lines)} lines")
    try:
        return Recipient.parse(lines[0])
    except p.CryptoError as exc:
        raise KeyFileError(f"{where}: {exc}") from None


def _is_age_file(text: str) -> bool:
    return text.lstrip().startswith((age.ARMOR_BEGIN.decode(), age.INTRO.decode().strip()))


def load_signing_key(path: Path, passphrase: PassphraseSource | None = None) -> SigningKey:
    text = read_secret(path)
    try:
        return minisign.parse_secret_key(text, passphrase)
    except p.CryptoError as exc:
        raise KeyFileError(f"{path}: {exc}") from None


def load_identities(path: Path, passphrase: PassphraseSource | None = None) -> list[Identity]:
    """The identities in an age identity file (one per AGE-SECRET-KEY-1 line), decrypting it first
    if a passphrase protects it."""
    text = read_secret(path)
    try:
        if _is_age_file(text):
            if passphrase is None:
                raise p.CryptoError("the identity file is encrypted and no passphrase was given")
            try:
                text = age.decrypt_bytes(text.encode("utf-8"), [age.Passphrase(passphrase())]).decode("utf-8")
            except age.NoMatch:
                raise p.CryptoError("wrong passphrase for this key") from None
        lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
        if not lines:
            raise p.CryptoError("no AGE-SECRET-KEY-1... line in the identity file")
        return [Identity.parse(line) for line in lines]
    except p.CryptoError as exc:
        raise KeyFileError(f"{path}: {exc}") from None


def describe(value: str, passphrase: PassphraseSource | None = None) -> PublicInfo:
    """The public description of a key given as a ``.pub``/``.key`` file or as a public key string."""
    path = Path(value)
    if path.is_file() and path.suffix == ".key":
        text = read_secret(path)
        if text.startswith(minisign.UNTRUSTED):
            return _info(load_signing_key(path, passphrase).public)
        return _info(load_identities(path, passphrase)[0].recipient)
    text, where = _text_or_file(value)
    stripped = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if stripped and stripped[-1].strip().startswith("age1"):
        return _info(load_recipient(value))
    return _info(load_verify_key(value))

"""The CA's folder, ``$BEN_HOME/ca``: what is kept where, and the one lock that serialises writers.

::

    state.json          generation (which CA key is current), last revocation-list sequence
    ca-N.key, ca-N.pub  CA key of generation N: a passphrase-protected minisign key (0600)
    noise-N.key/.pub    its X25519 key (an age identity sealed to the same passphrase)
    ca-N.cert           its self-signed CA certificate (after a rotation, N-1's ends with the overlap)
    successor-N.cert    CA N's key certified by CA N-1's key (usage ca), so nodes can follow a rotation
    issued/SERIAL.cert  every certificate issued, one file each (created exclusively: never two alike)
    revoked.json        what is revoked: ids, serials, keys
    crl                 the current signed revocation list
    tokens.json         enrolment tokens (their hashes, never the secrets) and renewals done
    audit-N.ndjson      the audit log while key N was current, a signed hash chain

Every change happens under an exclusive ``flock`` on ``.write.lock`` that a second writer *waits* for
(two ``ben ca issue`` at once take turns, neither fails), and every file is replaced atomically,
so a crash leaves the old state or the new one. The folder is 0700.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ben_cli.atomic import exclusive_lock, write_atomic
from ben_cli.ca import cert as c
from ben_cli.crypto import keyfiles
from ben_cli.crypto.keys import SigningKey
from ben_cli.errors import StateError, UsageError
from ben_cli.units import ben_home


def default_root() -> Path:
    return ben_home() / "ca"


class Store:
    """One CA folder. Reading needs no lock; every write happens inside :meth:`locked`."""

    def __init__(self, root: Path | None = None):
        self.root = root if root is not None else default_root()

    # -- paths ---------------------------------------------------------------------------------

    def key_base(self, generation: int) -> Path:
        return self.root / f"ca-{generation}"

    def noise_base(self, generation: int) -> Path:
        return self.root / f"noise-{generation}"

    def cert_path(self, generation: int) -> Path:
        return self.root / f"ca-{generation}.cert"

    def successor_path(self, generation: int) -> Path:
        return self.root / f"successor-{generation}.cert"

    def audit_path(self, generation: int) -> Path:
        return self.root / f"audit-{generation}.ndjson"

    @property
    def issued_dir(self) -> Path:
        return self.root / "issued"

    @property
    def crl_path(self) -> Path:
        return self.root / "crl"

    # -- existence and locking -----------------------------------------------------------------

    def exists(self) -> bool:
        return (self.root / "state.json").exists()

    def require(self) -> None:
        if not self.exists():
            raise UsageError(f"no CA in {self.root}: run ben ca init first (or set BEN_HOME)")

    def create(self) -> None:
        if self.exists():
            raise UsageError(f"a CA already exists in {self.root}")
        if (self.root / "ca-1.key").exists():
            raise UsageError(f"{self.root} holds an unfinished CA (init was interrupted): remove the folder and run "
                             "ben ca init again")
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.root, 0o700)
        self.issued_dir.mkdir(exist_ok=True, mode=0o700)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """The CA's write lock, waited for (held only for the short write itself)."""
        with exclusive_lock(self.root / ".write", "another ben ca command", wait=True):
            yield

    # -- small JSON files ----------------------------------------------------------------------

    def read_json(self, name: str, default: dict | None = None) -> dict:
        path = self.root / name
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            if default is not None:
                return default
            raise StateError(f"{path} is missing: the CA folder is incomplete") from None
        except (OSError, ValueError) as exc:
            raise StateError(f"{path} cannot be read: {exc}") from None
        if not isinstance(values, dict):
            raise StateError(f"{path} is not a JSON object")
        return values

    def write_json(self, name: str, values: dict) -> None:
        write_atomic(self.root / name, json.dumps(values, indent=1, sort_keys=True).encode("utf-8") + b"\n", mode=0o600)

    @property
    def state(self) -> dict:
        return self.read_json("state.json")

    @property
    def generation(self) -> int:
        generation = self.state.get("generation")
        if type(generation) is not int or generation < 1:
            raise StateError(f"{self.root / 'state.json'} has no valid generation")
        if not self.cert_path(generation).exists():  # a state.json that names a CA this folder never had
            raise StateError(f"{self.root / 'state.json'} names generation {generation}, but "
                             f"{self.cert_path(generation).name} is missing: the CA folder is incomplete")
        return generation

    # -- CA keys and certificates --------------------------------------------------------------

    def signing_key(self, passphrase: keyfiles.PassphraseSource | None, generation: int | None = None) -> SigningKey:
        """The CA key of ``generation`` (the current one by default), unlocked."""
        return keyfiles.load_signing_key(self.key_base(generation or self.generation).with_suffix(".key"), passphrase)

    def ca_cert(self, generation: int | None = None) -> c.Certificate:
        path = self.cert_path(generation or self.generation)
        try:
            return c.parse(path.read_bytes())
        except FileNotFoundError:
            raise StateError(f"{path} is missing: the CA folder is incomplete") from None

    def ca_certs(self) -> list[c.Certificate]:
        """Every generation's CA certificate, oldest first."""
        return [self.ca_cert(g) for g in range(1, self.generation + 1)]

    # -- issued certificates -------------------------------------------------------------------

    def save_issued(self, certificate: c.Certificate) -> Path:
        path = self.issued_dir / f"{certificate.serial}.cert"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(certificate.text)
            fh.flush()
            os.fsync(fh.fileno())
        return path

    def issued(self) -> list[c.Certificate]:
        """Every certificate issued, in the order they were issued."""
        out = []
        for path in self.issued_dir.glob("*.cert"):
            try:
                out.append(c.parse(path.read_bytes()))
            except c.Refused as exc:
                raise StateError(f"{path}: {exc}") from None
        return sorted(out, key=lambda each: (each.not_before, each.serial))

    def find(self, serial: str) -> c.Certificate:
        path = self.issued_dir / f"{serial}.cert"
        if not c._SERIAL.fullmatch(serial) or not path.exists():
            raise UsageError(f"this CA issued no certificate with serial {serial}")
        return c.parse(path.read_bytes())

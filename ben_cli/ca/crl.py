"""Revocation lists, ``ben-crl-v1``: signed, sequence-numbered, framed as certificates are.

Three lines: ``ben-crl-v1``, a canonical JSON body, the CA's Ed25519 signature over
``ben-crl-v1\\n`` + body. The body holds ``version`` (1), ``issuer`` (the signing CA's key id),
``sequence`` (one more than the last list this CA published, across rotations), ``issued`` and
``next_update`` (RFC 3339 UTC), and what is revoked, three sorted lists: ``ids`` (certificate ids),
``serials`` and ``keys`` (base64url public keys: every certificate binding that key is revoked,
past and future, which is what a stolen node key calls for).

A verifier remembers the highest sequence it has accepted (:class:`SeenSequence`) and refuses a
lower one: an attacker who can replay files cannot roll revocations back by handing out an older
list. A list past its ``next_update`` (beyond the clock skew) is refused as stale: a verifier that
stopped hearing from its CA learns of it instead of trusting an old list for ever.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ben_cli.atomic import exclusive_lock, write_atomic
from ben_cli.ca import cert as c
from ben_cli.ca import jcs
from ben_cli.crypto.keys import SigningKey
from ben_cli.errors import StateError

MAGIC = "ben-crl-v1"
HEADER = b"ben-crl-v1\n"
_FIELDS = {"version", "issuer", "sequence", "issued", "next_update", "ids", "serials", "keys"}


@dataclass(frozen=True)
class Crl:
    issuer: str
    sequence: int
    issued: int
    next_update: int
    ids: frozenset[str]
    serials: frozenset[str]
    keys: frozenset[str]
    body: bytes
    signature: bytes

    @property
    def signed_bytes(self) -> bytes:
        return HEADER + self.body

    @property
    def text(self) -> str:
        return (self.signed_bytes + b"\n" + c.b64url(self.signature).encode("ascii") + b"\n").decode("utf-8")

    def revokes(self, certificate: c.Certificate) -> str | None:
        """How ``certificate`` is revoked by this list (``id``, ``serial`` or ``key``), or None."""
        if certificate.id in self.ids:
            return "id"
        if certificate.serial in self.serials:
            return "serial"
        if any(k in self.keys for k in certificate.keys()):
            return "key"
        return None


def _strings(values: dict, key: str) -> frozenset[str]:
    items = values[key]
    if not isinstance(items, list) or not all(isinstance(i, str) and i for i in items) or items != sorted(set(items)):
        raise c.Malformed(f"revocation list {key} is not a sorted list of distinct strings")
    return frozenset(items)


def parse(data: bytes | str) -> Crl:
    """A revocation list from its text, checked for form only (the signature is :mod:`.verify`'s)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    body, signature = c.split_document(data, MAGIC, "revocation list")
    values = c.canonical_body(body, "revocation list")
    if values.keys() != _FIELDS:
        raise c.Malformed(f"revocation list fields are {', '.join(sorted(values))}, not {', '.join(sorted(_FIELDS))}")
    if values["version"] != 1 or type(values["version"]) is not int:
        raise c.Malformed(f"revocation list version is {values['version']!r}, not 1")
    sequence = values["sequence"]
    if type(sequence) is not int or sequence < 1:
        raise c.Malformed("revocation list sequence is not a positive integer")
    c.from_b64url(values["issuer"], "revocation list issuer", 32)
    return Crl(issuer=values["issuer"], sequence=sequence, issued=c.parse_time(values["issued"], "revocation list issued"),
               next_update=c.parse_time(values["next_update"], "revocation list next_update"),
               ids=_strings(values, "ids"), serials=_strings(values, "serials"), keys=_strings(values, "keys"),
               body=body, signature=signature)


def build(key: SigningKey, *, sequence: int, issued: int, next_update: int, ids: Iterable[str] = (),
          serials: Iterable[str] = (), keys: Iterable[str] = ()) -> Crl:
    """A revocation list signed by ``key``."""
    body = jcs.canonical({
        "version": 1, "issuer": c.key_id(key.public.key), "sequence": sequence, "issued": c.format_time(issued),
        "next_update": c.format_time(next_update), "ids": sorted(set(ids)), "serials": sorted(set(serials)),
        "keys": sorted(set(keys)),
    })
    return parse(c.sign_document(key, HEADER, body))


class SeenSequence:
    """The highest revocation-list sequence a verifier has accepted, kept in a small JSON file
    (written atomically, under a lock) so that a lower one is refused on every later run."""

    def __init__(self, path: Path):
        self.path = path

    def read(self) -> int:
        try:
            values = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return 0
        except (OSError, ValueError) as exc:
            raise StateError(f"{self.path}: not a record of revocation lists seen: {exc}") from None
        seq = values.get("sequence") if isinstance(values, dict) else None
        if type(seq) is not int:
            raise StateError(f"{self.path}: not a record of revocation lists seen (no integer sequence)")
        return seq

    def check_and_raise(self, crl: Crl) -> None:
        """Refuse ``crl`` if a later list was seen; otherwise remember its sequence."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(self.path, "another ben ca verify", wait=True):
            seen = self.read()
            if crl.sequence < seen:
                raise c.Refused(f"revocation list sequence {crl.sequence} is older than sequence {seen} already seen: "
                                "a replayed list (revocations may have been rolled back)", "old-crl")
            if crl.sequence > seen:
                write_atomic(self.path, json.dumps({"sequence": crl.sequence}).encode("ascii") + b"\n")

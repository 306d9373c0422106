"""A small PKI for the bee tests: a CA, server and client certificates, key files, a CRL."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from ben_cli.ca import cert as c
from ben_cli.ca import crl as r
from ben_cli.crypto.keys import Identity, SigningKey

LANES = ("diag", "event")


@dataclass
class Node:
    cert: Path
    key: Path
    identity: Identity
    certificate: c.Certificate


class Pki:
    def __init__(self, folder: Path, name: str = "test-ca"):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.now = int(time.time())
        self.ca_key = SigningKey.generate()
        self.ca = c.issue(self.ca_key, name=name, groups=(), lanes=(), usage=("ca",),
                          noise_pub=Identity.generate().recipient.key, sign_pub=self.ca_key.public.key,
                          not_before=self.now - 3600, not_after=self.now + 86400)
        self.bundle = folder / f"{name}.bundle"
        self.bundle.write_text(self.ca.text)
        self.crl = folder / f"{name}.crl"
        self.crl_sequence = 0
        self.revoke()

    def node(self, name: str, usage: tuple[str, ...] = ("client",), *, lanes: tuple[str, ...] = LANES,
             identity: Identity | None = None, noise_pub: bytes | None = None, not_before: int | None = None,
             not_after: int | None = None) -> Node:
        identity = identity or Identity.generate()
        certificate = c.issue(self.ca_key, name=name, groups=(), lanes=lanes, usage=usage,
                              noise_pub=noise_pub or identity.recipient.key, sign_pub=None,
                              not_before=self.now - 600 if not_before is None else not_before,
                              not_after=self.now + 3600 if not_after is None else not_after)
        cert = self.folder / f"{name}.cert"
        cert.write_text(certificate.text)
        key = self.folder / f"{name}.key"
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(identity.text + "\n")
        return Node(cert, key, identity, certificate)

    def revoke(self, *certificates: c.Certificate) -> None:
        self.crl_sequence += 1
        listed = r.build(self.ca_key, sequence=self.crl_sequence, issued=self.now, next_update=self.now + 86400,
                         ids=[each.id for each in certificates])
        self.crl.write_text(listed.text)

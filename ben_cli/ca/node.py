"""The node's side of enrolment: its own keys, its certificate, and renewing it on time.

``$BEN_HOME/node`` holds ``noise.key``/``noise.pub`` (X25519, an age identity: the node's bridge
identity), ``sign.key``/``sign.pub`` (Ed25519, minisign format), both secrets 0600 and made here
(never copied from the CA), ``enrol.json`` (which CA the token named), ``bundle`` (the CA
certificates the node trusts) and ``cert`` (its certificate). The keys are made without a
passphrase: a node runs unattended; they are as safe as the account the node runs under.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ben_cli.atomic import write_atomic
from ben_cli.ca import cert as c
from ben_cli.ca import enrol, serve
from ben_cli.ca.authority import renew_due
from ben_cli.ca.verify import TrustBundle, Verifier, follow_rotation
from ben_cli.crypto import keyfiles
from ben_cli.crypto.keys import SigningKey
from ben_cli.errors import StateError, UsageError
from ben_cli.units import ben_home


def default_root() -> Path:
    return ben_home() / "node"


@dataclass
class Node:
    root: Path

    def _key(self, name: str) -> Path:
        return self.root / name

    def ensure_keys(self) -> tuple[bytes, bytes]:
        """(noise_pub, sign_pub), making the keys on first use and reusing them after."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not (self.root / "noise.key").exists():
            keyfiles.generate("x25519", self._key("noise"))
        if not (self.root / "sign.key").exists():
            keyfiles.generate("ed25519", self._key("sign"))
        return self.noise_pub(), self.signing_key().public.key

    def noise_pub(self) -> bytes:
        return keyfiles.load_recipient(str(self.root / "noise.pub")).key

    def signing_key(self) -> SigningKey:
        return keyfiles.load_signing_key(self.root / "sign.key")

    def enroll(self, token_text: str, now: int) -> bytes:
        """The enrolment request for ``token_text``, the node's keys made (or reused) locally."""
        token = enrol.Token.parse(token_text)
        noise_pub, sign_pub = self.ensure_keys()
        write_atomic(self.root / "enrol.json", json.dumps({"ca": token.ca, "token": token.id}).encode() + b"\n")
        request = enrol.enrol_request(token, noise_pub, sign_pub, now)
        write_atomic(self.root / "request", request)
        return request

    def certificate(self) -> c.Certificate:
        try:
            return c.parse((self.root / "cert").read_bytes())
        except FileNotFoundError:
            raise StateError(f"{self.root / 'cert'} is missing: enroll, then ben ca accept the certificate") from None

    def accept(self, data: bytes, bundle: bytes | None, now: int, pinned_only: bool = False) -> c.Certificate:
        """Keep ``data`` as the node's certificate once it verifies against the bundle, binds this
        node's keys, and comes from the CA the enrolment token named. With ``pinned_only`` (a
        bundle fetched over the network) only that CA of the bundle is kept: a bundle can be
        appended to in transit, a CA named by the token cannot be swapped."""
        if bundle is None:
            try:
                bundle = (self.root / "bundle").read_bytes()
            except FileNotFoundError:
                raise UsageError("give --bundle (the CA's trust bundle, from ben ca bundle)") from None
        trust = TrustBundle.parse(bundle)
        try:
            expected = json.loads((self.root / "enrol.json").read_text())["ca"]
        except FileNotFoundError:
            expected = None
        if pinned_only:
            if expected not in trust.cas:
                raise c.Refused(f"the CA's bundle does not hold the CA the enrolment token named ({expected})",
                                "unknown-issuer")
            trust = TrustBundle({expected: trust.cas[expected]})
        certificate = Verifier(trust).check(data, now)
        if certificate.noise_pub != self.noise_pub() or certificate.sign_pub != self.signing_key().public.key:
            raise c.Refused("the certificate does not bind this node's keys (it was issued for another node)",
                            "wrong-keys")
        if expected is not None and expected not in trust.cas:
            raise c.Refused(f"the trust bundle does not hold the CA the enrolment token named ({expected})",
                            "unknown-issuer")
        write_atomic(self.root / "bundle", trust.text.encode("utf-8"))
        write_atomic(self.root / "cert", certificate.text.encode("utf-8"))
        return certificate

    def renew(self, now: int, force: bool = False) -> tuple[bytes | None, int]:
        """(request, due): a renewal request once two thirds of the certificate's life has
        passed (or with ``force``), else None and when it will be due."""
        current = self.certificate()
        due = renew_due(current)
        if now < due and not force:
            return None, due
        request = enrol.renew_request(self.signing_key(), current, now)
        write_atomic(self.root / "request", request)
        return request, due

    def enroll_online(self, token_text: str, ca_url: str, now: int) -> c.Certificate:
        """Enrol against a listening CA: the request sent, the certificate accepted with the
        bundle the CA serves (only the CA the token names is kept from it)."""
        certificate = serve.submit(ca_url, self.enroll(token_text, now))
        return self.accept(certificate, serve.fetch_bundle(ca_url), now, pinned_only=True)

    def renew_online(self, ca_url: str, now: int, force: bool = False,
                     follow: bool = True) -> tuple[c.Certificate | None, int]:
        """Renew through a listening CA when due; the new certificate must verify against the
        bundle this node keeps, or, after a rotation, against the new CA that the old one vouched for."""
        request, due = self.renew(now, force)
        if request is None:
            return None, due
        certificate = serve.submit(ca_url, request)
        kept = TrustBundle.parse((self.root / "bundle").read_bytes())
        if follow and c.parse(certificate).issuer not in kept.cas:  # the CA rotated: follow if the old key vouches
            kept = follow_rotation(kept, serve.fetch_bundle(ca_url), serve.fetch_successors(ca_url), now)
        return self.accept(certificate, kept.text.encode("utf-8"), now), due

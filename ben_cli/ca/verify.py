"""Deciding whether to trust a certificate: the trust bundle, the revocation list, the clock.

A verifier holds a trust bundle (the CA certificates it trusts, one, or two during a rotation)
and optionally a revocation list. :meth:`Verifier.check` answers with the certificate, or raises
:class:`~ben_cli.ca.cert.Refused` whose ``reason`` says exactly why not, checked in this order:

``malformed`` / ``non-canonical``
    not three lines, bad fields, or a body that is not its own canonical JSON encoding;
``unknown-issuer``
    signed by a CA the bundle does not hold (the wrong CA);
``bad-signature``
    the signature does not verify: the body or the signature was altered;
``issuer-expired`` / ``issuer-not-yet-valid``
    the CA certificate that signed it is not valid now (after a rotation, the old CA's
    certificate in the bundle ends with the overlap: what it signed is refused after that);
``not-yet-valid`` / ``expired``
    outside ``not_before``..``not_after``, with :data:`SKEW` (60 s) of clock skew allowed and
    not a second more;
``revoked``
    the list names its id, its serial or one of its keys;
``wrong-usage`` / ``lane-not-allowed`` / ``group-not-allowed``
    used for what it was not issued for (a client certificate presented by a server).

The CA keys in a bundle are checked once, when the bundle is read, so that a check costs one
canonical re-encoding, one BLAKE2b and one Ed25519 verification (the bee listener runs one per
handshake).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ben_cli.ca import cert as c
from ben_cli.ca import crl as r
from ben_cli.crypto import primitives as p

SKEW = 60


def _signature_ok(public: bytes, message: bytes, signature: bytes) -> bool:
    """An Ed25519 check with a CA key already known to be a valid point (checked when the bundle
    was read, by :func:`self_signed_ca`)."""
    try:
        p.ed25519_verify(public, message, signature, key_checked=True)
    except p.CryptoError:
        return False
    return True


def self_signed_ca(certificate: c.Certificate) -> c.Certificate:
    """``certificate`` if it is a CA certificate: usage ``ca``, carrying its Ed25519 key, named as
    its own issuer and signed by that key; else :class:`~ben_cli.ca.cert.Refused`."""
    if not certificate.is_ca:
        raise c.Refused(f"certificate {certificate.name} ({certificate.serial}) is not a CA certificate (usage "
                        f"{','.join(certificate.usage)}, not ca)", "not-a-ca")
    if certificate.sign_pub is None or c.key_id(certificate.sign_pub) != certificate.issuer:
        raise c.Refused(f"CA certificate {certificate.name} is not self-signed: its issuer is not its own key", "not-a-ca")
    try:
        p.ed25519_verify(certificate.sign_pub, certificate.signed_bytes, certificate.signature)
    except p.CryptoError:
        raise c.Refused(f"CA certificate {certificate.name}: its self-signature does not verify (altered)",
                        "bad-signature") from None
    return certificate


@dataclass(frozen=True)
class TrustBundle:
    """CA certificates by key id. Where one key has two certificates (an old bundle merged with
    the one a rotation wrote), the one ending first counts: the overlap is never stretched."""

    cas: dict[str, c.Certificate]

    @classmethod
    def of(cls, certificates: Iterable[c.Certificate]) -> TrustBundle:
        cas: dict[str, c.Certificate] = {}
        for each in certificates:
            self_signed_ca(each)
            held = cas.get(each.issuer)
            if held is None or each.not_after < held.not_after:
                cas[each.issuer] = each
        if not cas:
            raise c.Malformed("the trust bundle holds no CA certificate")
        return cls(cas)

    @classmethod
    def parse(cls, data: bytes) -> TrustBundle:
        return cls.of(c.parse_many(data, "trust bundle"))

    @property
    def text(self) -> str:
        return "".join(ca.text for ca in sorted(self.cas.values(), key=lambda ca: ca.not_before))

    def ca_for(self, issuer: str, now: int | None, what: str) -> c.Certificate:
        """The CA certificate ``issuer`` names, if the bundle holds it and (unless ``now`` is
        None) it is valid at ``now``."""
        ca = self.cas.get(issuer)
        if ca is None:
            raise c.Refused(f"{what} was issued by CA {issuer}, which the trust bundle does not hold (wrong CA)",
                            "unknown-issuer")
        if now is not None:
            self.check_valid(ca, now, what)
        return ca

    @staticmethod
    def check_valid(ca: c.Certificate, now: int, what: str) -> None:
        """Refuse what ``ca`` signed if ``ca`` itself is not valid at ``now``."""
        issuer = ca.issuer
        if now > ca.not_after + SKEW:
            raise c.Refused(f"{what} was issued by CA {ca.name} ({issuer}), whose certificate expired at "
                            f"{c.format_time(ca.not_after)} (the end of its life, or of a rotation's overlap)", "issuer-expired")
        if now < ca.not_before - SKEW:
            raise c.Refused(f"{what} was issued by CA {ca.name}, whose certificate is not valid until "
                            f"{c.format_time(ca.not_before)}", "issuer-not-yet-valid")


def follow_rotation(trusted: TrustBundle, served: bytes, successors: bytes, now: int) -> TrustBundle:
    """``trusted`` plus the CAs of ``served`` (a CA's current bundle) that a CA already trusted
    vouched for: a successor certificate (usage ``ca``, binding the new CA's key) signed by a
    trusted CA, valid now. A CA in ``served`` nobody trusted vouched for is left out, so a bundle
    altered in transit cannot bring in a CA of its own."""
    added = dict(trusted.cas)
    vouched = c.parse_many(successors, "successor certificates") if successors else []
    for ca in TrustBundle.parse(served).cas.values():
        if ca.issuer in added:
            continue
        for cross in vouched:
            if cross.sign_pub != ca.sign_pub or not cross.is_ca or cross.issuer not in trusted.cas:
                continue
            voucher = trusted.ca_for(cross.issuer, now, "the successor certificate")
            assert voucher.sign_pub is not None
            if _signature_ok(voucher.sign_pub, cross.signed_bytes, cross.signature) and \
                    cross.not_before - SKEW <= now <= cross.not_after + SKEW:
                added[ca.issuer] = ca
                break
    return TrustBundle(added)


def check_crl(bundle: TrustBundle, data: bytes, now: int) -> r.Crl:
    """A revocation list signed by a CA of ``bundle`` and not stale; else :class:`~ben_cli.ca.cert.Refused`."""
    crl = r.parse(data)
    ca = bundle.ca_for(crl.issuer, None, "the revocation list")
    assert ca.sign_pub is not None
    if not _signature_ok(ca.sign_pub, crl.signed_bytes, crl.signature):
        raise c.Refused("the revocation list's signature does not verify: it was altered", "bad-signature")
    bundle.check_valid(ca, now, "the revocation list")
    if now > crl.next_update + SKEW:
        raise c.Refused(f"the revocation list (sequence {crl.sequence}) is stale: it was due to be replaced at "
                        f"{c.format_time(crl.next_update)}", "crl-stale")
    return crl


@dataclass(frozen=True)
class Requirements:
    """What the certificate is being used for: a usage it must carry, a lane and a group it must
    be allowed (None: not asked)."""

    usage: str | None = None
    lane: str | None = None
    group: str | None = None


class Verifier:
    """Checks certificates against one trust bundle and, optionally, one revocation list."""

    def __init__(self, bundle: TrustBundle, crl: r.Crl | None = None):
        self.bundle = bundle
        self.crl = crl

    def check(self, data: bytes | str, now: int, needs: Requirements = Requirements()) -> c.Certificate:
        """The certificate in ``data`` if it is to be trusted at ``now`` for ``needs``; else
        :class:`~ben_cli.ca.cert.Refused` naming the first reason it is not."""
        certificate = c.parse(data)
        what = f"certificate {certificate.name} ({certificate.serial})"
        ca = self.bundle.ca_for(certificate.issuer, None, what)
        assert ca.sign_pub is not None
        if not _signature_ok(ca.sign_pub, certificate.signed_bytes, certificate.signature):
            raise c.Refused(f"{what}: the signature does not verify: the body or the signature was altered",
                            "bad-signature")
        self.bundle.check_valid(ca, now, what)
        if now < certificate.not_before - SKEW:
            ahead = certificate.not_before - now
            raise c.Refused(f"{what} is not valid until {c.format_time(certificate.not_before)}: {ahead} s from now, "
                            f"beyond the {SKEW} s of clock skew allowed", "not-yet-valid")
        if now > certificate.not_after + SKEW:
            raise c.Refused(f"{what} expired at {c.format_time(certificate.not_after)} "
                            f"({now - certificate.not_after} s ago, beyond the {SKEW} s of clock skew allowed)", "expired")
        how = self.crl.revokes(certificate) if self.crl is not None else None
        if how is not None:
            assert self.crl is not None
            raise c.Refused(f"{what} is revoked (by {how}, revocation list sequence {self.crl.sequence})", "revoked")
        if needs.usage is not None and needs.usage not in certificate.usage:
            raise c.Refused(f"{what} is a {'/'.join(certificate.usage)} certificate, not for use as {needs.usage}",
                            "wrong-usage")
        if needs.lane is not None and needs.lane not in certificate.lanes:
            allowed = ", ".join(certificate.lanes) or "none"
            raise c.Refused(f"{what} may not use lane {needs.lane} (allowed: {allowed})", "lane-not-allowed")
        if needs.group is not None and needs.group not in certificate.groups:
            groups = ", ".join(certificate.groups) or "none"
            raise c.Refused(f"{what} is not in group {needs.group} (its groups: {groups})", "group-not-allowed")
        return certificate

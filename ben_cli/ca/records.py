"""One record signed on its own, by a key a ``ben ca`` certificate vouches for.

A contract's ``signed`` lane (the control lane: policy pushes, key rotations, revocations) holds
each record to a signature of its own, because such records are few, travel alone and must each
be trusted alone; the hash chain of ``ben key sign --stream`` signs a stream at checkpoints and
cannot vouch for one record taken out of it. The signer adds::

    "sig": {"cert": "<the signer's ben-cert-v1 certificate, three lines>", "ed25519": "<base64url>"}

The signature covers ``ben-record-sig-v1`` and a newline, then the record's canonical JSON
(RFC 8785, :mod:`ben_cli.ca.jcs`) without the fields stages add on the way (``sig``, ``_ingest``,
``via``, ``contract``, ``anomaly``, ``redacted``): the same record signs to the same bytes however
a producer spells its JSON. A record scrub has changed carries ``redacted``, and no longer verifies.

A verifier checks, in this order: the ``sig`` is there and well formed (``missing``,
``malformed``); the certificate against the trust bundle and revocation list with
:class:`ben_cli.ca.verify.Verifier` (``unknown-issuer``, ``expired``, ``revoked``; usage
``sign`` or ``wrong-usage``; the record's lane among the certificate's lanes or
``lane-not-allowed``); then the signature with the certificate's key (``bad-signature``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ben_cli.ca import cert as c
from ben_cli.ca import crl as r
from ben_cli.ca import jcs, verify
from ben_cli.crypto import primitives as p
from ben_cli.crypto.keys import SigningKey
from ben_cli.errors import BadRecord, UsageError
from ben_cli.ndjson import Reader, Writer
from ben_cli.rejects import Rejects, Summary

FIELD = "sig"
DOMAIN = b"ben-record-sig-v1\n"
SIGN_USAGE = "sign"
_CACHED = 64  # certificates a verifier keeps the answer for, within one second
# added to a record after it was signed: by ingest, the bridge, contracts, detect and scrub
UNSIGNED = frozenset({"sig", "_ingest", "via", "contract", "anomaly", "redacted"})


def signed_bytes(record: dict) -> bytes:
    """What the signature covers: the domain line and the record's canonical JSON without
    :data:`UNSIGNED` fields. :class:`ben_cli.ca.jcs.CanonicalError` for values JSON cannot hold."""
    return DOMAIN + jcs.canonical({k: v for k, v in record.items() if k not in UNSIGNED})


class RecordSigner:
    """Signs records with ``key``, whose certificate ``signer`` (usage ``sign``) travels in each ``sig``."""

    def __init__(self, key: SigningKey, signer: bytes | str):
        self.certificate = c.parse(signer)
        if self.certificate.sign_pub is None or not p.equal(self.certificate.sign_pub, key.public.key):
            raise UsageError(f"the key is not the signing key of certificate {self.certificate.name} "
                             f"({self.certificate.serial})")
        if SIGN_USAGE not in self.certificate.usage:
            raise UsageError(f"certificate {self.certificate.name} is a {'/'.join(self.certificate.usage)} "
                             f"certificate, not for use as {SIGN_USAGE}: verifiers will refuse its records")
        self.key = key

    def sign(self, record: dict) -> dict:
        """``record`` with its ``sig`` (a new dict; a ``sig`` it had is replaced)."""
        try:
            body = signed_bytes(record)
        except jcs.CanonicalError as exc:
            raise UsageError(f"the record cannot be signed: {exc}") from None
        out = {k: v for k, v in record.items() if k != FIELD}
        out[FIELD] = {"cert": self.certificate.text, "ed25519": c.b64url(self.key.sign(body))}
        return out


def sign_records(inputs: Sequence[str], writer: Writer, rejects: Rejects, key: SigningKey, cert: Path) -> Summary:
    """``ben key sign --cert``: each record of ``inputs`` with its own ``sig``; a record JSON
    cannot encode canonically (a huge integer) goes to ``rejects``."""
    try:
        signer = RecordSigner(key, cert.read_bytes())
    except OSError as exc:
        raise UsageError(f"cannot read the certificate {cert}: {exc.strerror}") from None
    except c.Refused as exc:
        raise UsageError(f"{cert}: not a certificate: {exc.detail}") from None
    reader = Reader(inputs, rejects.add)
    for raw, rec in reader.pairs():
        try:
            signed = signer.sign(rec)
        except UsageError as exc:
            rejects.add(BadRecord(reader.lineno, str(exc), raw, reader.file))
            continue
        writer.write(signed)
    writer.flush()
    return Summary("key sign", read=reader.read, written=writer.count, rejected=rejects.count)


class RecordVerifier:
    """Checks the ``sig`` of records against a trust bundle and revocation list. Called as
    ``verifier(record, lane)``: None when the signature is good, else ``(reason, message)``."""

    def __init__(self, trust: verify.TrustBundle, crl: r.Crl | None = None, clock: Callable[[], float] = time.time):
        self.certificates = verify.Verifier(trust, crl)
        self.clock = clock
        # the answer for a certificate depends only on its text and the second (trust and list are
        # fixed): kept for the second, a burst of records from one signer checks it once
        self._seen: dict[str, c.Certificate | c.Refused] = {}
        self._second = -1
        self._keys: set[bytes] = set()  # signers' keys already found to be valid points (half a verification)

    def _signer(self, text: str, lane: str) -> c.Certificate:
        now = int(self.clock())
        if now != self._second or len(self._seen) >= _CACHED:
            self._seen.clear()
            self._second = now
        key = lane + "\0" + text
        answer = self._seen.get(key)
        if answer is None:
            try:
                answer = self.certificates.check(text, now, verify.Requirements(usage=SIGN_USAGE, lane=lane))
            except c.Refused as exc:
                answer = exc
            self._seen[key] = answer
        if isinstance(answer, c.Refused):
            raise answer
        return answer

    def __call__(self, record: dict, lane: str) -> tuple[str, str] | None:
        try:
            self.check(record, lane)
        except c.Refused as exc:
            return exc.reason, exc.detail
        return None

    def check(self, record: dict, lane: str) -> c.Certificate:
        """The signer's certificate if ``record``'s signature is good; else :class:`~ben_cli.ca.cert.Refused`."""
        sig = record.get(FIELD)
        if sig is None:
            raise c.Refused("the record carries no sig", "missing")
        if type(sig) is not dict or type(sig.get("cert")) is not str or set(sig) != {"cert", "ed25519"}:
            raise c.Malformed("sig is not {\"cert\": CERTIFICATE, \"ed25519\": SIGNATURE} "
                              "(a stream's chained sig does not sign a record on its own)")
        signature = c.from_b64url(sig["ed25519"], "sig.ed25519", p.ED25519_SIGNATURE)
        signer = self._signer(sig["cert"], lane)
        assert signer.sign_pub is not None  # a sign certificate binds a signing key
        try:
            body = signed_bytes(record)
        except jcs.CanonicalError as exc:
            raise c.Malformed(f"the record has no canonical JSON form: {exc}") from None
        try:
            if signer.sign_pub not in self._keys:
                p.check_ed25519_public(signer.sign_pub)
                if len(self._keys) < _CACHED:
                    self._keys.add(signer.sign_pub)
            p.ed25519_verify(signer.sign_pub, body, signature, key_checked=True)
        except p.CryptoError:
            raise c.Refused(f"the signature does not verify with {signer.name}'s key: the record was altered",
                            "bad-signature") from None
        return signer


class DeferredVerifier:
    """A :class:`RecordVerifier` made by ``make`` at the first signed record it is asked about, so
    that a contract whose signed lane sees no signed record needs no CA here. When there is no
    trust to be had (no CA, no enrolled node, a stale list), every signed record is refused with
    reason ``no-trust`` and the message saying what to give."""

    def __init__(self, make: Callable[[], RecordVerifier]):
        self.make = make
        self.verifier: RecordVerifier | None = None
        self.why: str | None = None

    def __call__(self, record: dict, lane: str) -> tuple[str, str] | None:
        if self.verifier is None and self.why is None:
            try:
                self.verifier = self.make()
            except UsageError as exc:
                self.why = str(exc)
            except c.Refused as exc:
                self.why = f"the revocation list is refused ({exc.reason}): {exc.detail}"
        if self.verifier is None:
            return "no-trust", f"cannot check signatures: {self.why}"
        return self.verifier(record, lane)


__all__ = ["DOMAIN", "FIELD", "UNSIGNED", "DeferredVerifier", "RecordSigner", "RecordVerifier", "sign_records", "signed_bytes"]

"""Signed policy bundles: who may ship a policy, and how a node decides to run it.

A bundle is three lines, like a ``ben ca`` certificate::

    ben-policy-bundle-v1
    {"name":"edge","policy":"policy edge version 4 ...","signed":"2026-12-05T02:00:00Z","signer":"ben-cert-v1\\n...","version":4}
    <base64url Ed25519 signature over line 1, a newline and line 2>

The body is canonical JSON (RFC 8785), so one policy has one byte form. It carries the signer's
certificate; installing checks, in this order: the framing and canonical body; the signer's
certificate against the CA trust bundle and revocation list (usage ``sign``, group
``policy-admin``, valid now, not revoked), so a certificate of another CA, a revoked signer, an
expired certificate or a signer outside ``policy-admin`` is refused; the signature with the
certificate's key (an altered bundle is refused); the policy itself (it must parse and check, and
its ``version`` must be the bundle's); then the version against what is installed: an older
version is a rollback, refused without ``allow_rollback``; a version already installed with
other content is refused always (a version number means one policy).

Every refusal is a :class:`ben_cli.ca.cert.Refused` with a short ``reason``, as ``ben ca verify``'s.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from ben_cli.atomic import exclusive_lock, write_atomic
from ben_cli.ca import cert as c
from ben_cli.ca import crl as r
from ben_cli.ca import jcs, verify
from ben_cli.ca.local import load_trust  # the trust ben policy and ben contract verify against
from ben_cli.crypto import primitives as p
from ben_cli.crypto.keys import SigningKey
from ben_cli.errors import BenError, StateError, UsageError
from ben_cli.policy.check import load_text
from ben_cli.policy.errors import PolicyErrors
from ben_cli.policy.evaluate import Who
from ben_cli.policy.tree import Policy
from ben_cli.units import ben_home

MAGIC = "ben-policy-bundle-v1"
ADMIN_GROUP = "policy-admin"
SIGN_USAGE = "sign"


@dataclass(frozen=True)
class Verified:
    """A bundle that passed every check: its policy, parsed, and who signed it."""

    name: str
    version: int
    text: str
    policy: Policy
    signer: c.Certificate
    data: bytes

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def _policy(text: str, name: str) -> Policy:
    try:
        policy, _warnings = load_text(text, f"{name} (bundle)")
    except PolicyErrors as exc:
        raise c.Refused(f"the bundle's policy has faults: {exc.errors[0]}", "bad-policy") from None
    except BenError as exc:
        raise c.Refused(f"the bundle's policy has faults: {exc}", "bad-policy") from None
    if policy.contracts:
        raise c.Refused("a bundle's policy must name its personal fields itself ('personal from' reads a file "
                        "the bundle does not carry)", "bad-policy")
    return policy


def sign(text: str, key: SigningKey, signer: bytes, now: int) -> bytes:
    """The bundle of the policy ``text`` signed with ``key``, whose certificate is ``signer``.
    Refused when the policy has faults or the key is not the certificate's."""
    certificate = c.parse(signer)
    if certificate.sign_pub is None or not p.equal(certificate.sign_pub, key.public.key):
        raise UsageError(f"the key is not the signing key of certificate {certificate.name} ({certificate.serial})")
    if ADMIN_GROUP not in certificate.groups:  # the verifier refuses it anyway; say so before shipping it
        raise UsageError(f"certificate {certificate.name} is not in group {ADMIN_GROUP} "
                         f"(its groups: {', '.join(certificate.groups) or 'none'}): nodes will refuse its bundles")
    try:
        policy = _policy(text, "policy")
    except c.Refused as exc:
        raise UsageError(str(exc)) from None
    if policy.version < 1:
        raise UsageError("a signed policy needs a version (policy NAME version N ...): installs refuse older versions")
    body = jcs.canonical({"name": policy.name, "version": policy.version, "policy": text,
                          "signed": c.format_time(now), "signer": certificate.text})
    return c.sign_document(key, MAGIC.encode("ascii") + b"\n", body)


def verify_bundle(data: bytes, trust: verify.TrustBundle, crl: r.Crl | None, now: int) -> Verified:
    """The bundle's policy if every check passes; else :class:`~ben_cli.ca.cert.Refused`."""
    body, signature = c.split_document(data, MAGIC, "the policy bundle")
    values = c.canonical_body(body, "the policy bundle")
    fields = {"name": str, "version": int, "policy": str, "signed": str, "signer": str}
    for key, kind in fields.items():
        if type(values.get(key)) is not kind:
            raise c.Malformed(f"the policy bundle's {key} is missing or not a {kind.__name__}")
    if set(values) != set(fields):
        raise c.Malformed(f"the policy bundle has unknown fields: {', '.join(sorted(set(values) - set(fields)))}")
    signer = verify.Verifier(trust, crl).check(values["signer"].encode("utf-8"), now,
                                               verify.Requirements(usage=SIGN_USAGE, group=ADMIN_GROUP))
    assert signer.sign_pub is not None  # a sign certificate binds a signing key
    try:
        p.ed25519_verify(signer.sign_pub, MAGIC.encode("ascii") + b"\n" + body, signature)
    except p.CryptoError:
        raise c.Refused(f"the policy bundle's signature does not verify with {signer.name}'s key: "
                        "the bundle was altered", "bad-signature") from None
    policy = _policy(values["policy"], values["name"])
    if policy.version != values["version"] or policy.name != values["name"]:
        raise c.Refused("the bundle's name and version differ from its policy's", "malformed")
    return Verified(values["name"], values["version"], values["policy"], policy, signer, data)


# --- the trust this machine keeps, and the installed versions ---------------------------------------


def policy_home() -> Path:
    return ben_home() / "policy"


class Installed:
    """The versions of one policy installed here: ``NAME/vN.bundle`` and ``NAME/current.json``."""

    def __init__(self, name: str, root: Path | None = None):
        if not name or "/" in name or name.startswith("."):
            raise UsageError(f"not a policy name: {name!r}")
        self.name = name
        self.folder = (root or policy_home()) / name

    @property
    def current_path(self) -> Path:
        return self.folder / "current.json"

    def current(self) -> dict | None:
        """The record of the installed version (None before the first install). A record that is
        not one is refused with StateError naming it, never taken as "nothing installed": that
        would let an older, signed version in without --allow-rollback."""
        try:
            values = json.loads(self.current_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise StateError(f"{self.current_path}: cannot read the installed version ({exc})") from None
        version = values.get("version") if isinstance(values, dict) else None
        if type(version) is not int or version < 0:
            raise StateError(f"{self.current_path}: not a record of the installed version (no version number); "
                             "restore it, or move it away to install as if for the first time")
        return values

    def versions(self) -> list[int]:
        if not self.folder.is_dir():
            return []
        return sorted(int(f.stem[1:]) for f in self.folder.glob("v*.bundle") if f.stem[1:].isdigit())

    def bundle_path(self, version: int) -> Path:
        return self.folder / f"v{version}.bundle"

    def install(self, verified: Verified, allow_rollback: bool = False) -> str:
        """Keep ``verified`` and make it the current version; says what was done. A lower version
        than the current one is refused unless ``allow_rollback``."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        with exclusive_lock(self.folder / ".lock", "another ben policy install", wait=True):
            current = self.current()
            kept = self.bundle_path(verified.version)
            if kept.exists() and hashlib.sha256(kept.read_bytes()).hexdigest() != verified.digest:
                raise c.Refused(f"version {verified.version} of {self.name} is already installed with other content: "
                                "a version number names one policy; sign the change as a new version", "version-reused")
            if current is not None and verified.version < current["version"] and not allow_rollback:
                raise c.Refused(f"version {verified.version} is older than the installed version {current['version']}: "
                                "a rollback (give --allow-rollback to mean it)", "rollback")
            if current is not None and current["version"] == verified.version:
                return f"{self.name} version {verified.version} is already the installed version"
            write_atomic(kept, verified.data)
            write_atomic(self.current_path, json.dumps({
                "name": self.name, "version": verified.version, "sha256": verified.digest,
                "signer": verified.signer.name, "signer_serial": verified.signer.serial}, sort_keys=True).encode() + b"\n")
        verb = "rolled back to" if current is not None and verified.version < current["version"] else "installed"
        return f"{verb} {self.name} version {verified.version} (signed by {verified.signer.name})"

    def load_current(self, trust: verify.TrustBundle, crl: r.Crl | None, now: int) -> Verified:
        """The installed version, verified again (the files here could have been changed since)."""
        current = self.current()
        if current is None:
            raise UsageError(f"no policy named {self.name} is installed (ben policy install BUNDLE)")
        return verify_bundle(self.bundle_path(int(current["version"])).read_bytes(), trust, crl, now)


def sign_file(policy: Path, key: Path, cert: Path, out: Path | None, now: int) -> str:
    """``ben policy sign``: the bundle of ``policy`` to ``out`` (or stdout); says what was signed."""
    import sys

    from ben_cli.crypto import files, keyfiles

    try:
        text = policy.read_text(encoding="utf-8")
        signer = cert.read_bytes()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {exc.filename if isinstance(exc, OSError) else policy}: {exc}") from None
    data = sign(text, keyfiles.load_signing_key(key, files.passphrase_source()), signer, now)
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        write_atomic(out, data)
    values = json.loads(data.split(b"\n")[1])
    return f"signed {values['name']} version {values['version']}" + (f" into {out}" if out else "")


def install_file(path: Path, trust: Path | None, crl: Path | None, now: int, allow_rollback: bool = False) -> str:
    """``ben policy install``: verify the bundle at ``path`` and install it; says what was done."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read the bundle {path}: {exc.strerror}") from None
    verified = verify_bundle(data, *load_trust(trust, crl, now), now)
    return Installed(verified.name).install(verified, allow_rollback)




def who_from_certificate(path: Path, trust: Path | None, crl: Path | None, now: int, to: str | None = None) -> Who:
    """The sender named by a certificate (its name and groups), once it verifies against the CA
    trust bundle and revocation list: ``ben policy enforce --cert``."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read the certificate {path}: {exc.strerror}") from None
    certificate = verify.Verifier(*load_trust(trust, crl, now)).check(data, now)
    return Who(certificate.name, certificate.groups, to)


__all__ = ["ADMIN_GROUP", "MAGIC", "Installed", "Verified", "install_file", "load_trust", "sign", "sign_file",
           "verify_bundle", "who_from_certificate"]

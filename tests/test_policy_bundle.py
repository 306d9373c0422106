"""Signed policy bundles: a good one installs; each refusal the issue names is refused with its
reason (wrong signer group, revoked signer, altered bundle, older version, expired certificate),
and a few more (another CA, a key that is not the certificate's, a reused version number)."""

from __future__ import annotations

import time

import pytest

from ben_cli.ca import cert as c
from ben_cli.ca import crl as r
from ben_cli.ca.verify import TrustBundle
from ben_cli.crypto.keys import SigningKey
from ben_cli.crypto.primitives import x25519_keypair
from ben_cli.errors import UsageError
from ben_cli.policy.bundle import Installed, sign, verify_bundle

NOW = int(time.time())
DAY = 86400
CA_KEY, OTHER_CA_KEY, ADMIN_KEY = SigningKey.generate(), SigningKey.generate(), SigningKey.generate()


def ca_cert(key: SigningKey, name: str) -> c.Certificate:
    return c.issue(key, name=name, groups=(), lanes=(), usage=("ca",), noise_pub=x25519_keypair()[1],
                   sign_pub=key.public.key, not_before=NOW - DAY, not_after=NOW + 365 * DAY)


TRUST = TrustBundle.of([ca_cert(CA_KEY, "acme")])


def signer(groups: tuple[str, ...] = ("policy-admin",), ca: SigningKey = CA_KEY, not_after: int = NOW + DAY,
           key: SigningKey = ADMIN_KEY, usage: tuple[str, ...] = ("sign",)) -> c.Certificate:
    return c.issue(ca, name="alice", groups=groups, lanes=(), usage=usage, noise_pub=x25519_keypair()[1],
                   sign_pub=key.public.key, not_before=NOW - DAY, not_after=not_after)


def text(version: int) -> str:
    return f"policy edge version {version} default deny\nrule ops: allow if group ops\n"


def bundle(version: int = 3, cert: c.Certificate | None = None, key: SigningKey = ADMIN_KEY, now: int = NOW) -> bytes:
    return sign(text(version), key, (cert or signer()).text.encode(), now)


def refusal(data: bytes, crl: r.Crl | None = None, now: int = NOW) -> str:
    with pytest.raises(c.Refused) as caught:
        verify_bundle(data, TRUST, crl, now)
    return caught.value.reason


def test_a_good_bundle_verifies_and_carries_its_policy():
    verified = verify_bundle(bundle(), TRUST, None, NOW)
    assert (verified.name, verified.version, verified.signer.name) == ("edge", 3, "alice")
    assert [rule.name for rule in verified.policy.rules] == ["ops"]


def test_a_signer_outside_policy_admin_is_refused():
    other = signer(groups=("ops",))
    with pytest.raises(UsageError, match="not in group policy-admin"):
        bundle(cert=other)  # sign says so at once ...
    from ben_cli.ca import jcs  # ... and one made by hand is refused on install

    hand = c.sign_document(ADMIN_KEY, b"ben-policy-bundle-v1\n", jcs.canonical(
        {"name": "edge", "version": 3, "policy": text(3), "signed": c.format_time(NOW), "signer": other.text}))
    assert refusal(hand) == "group-not-allowed"


def test_a_revoked_signer_is_refused():
    cert = signer()
    revoked = r.build(CA_KEY, sequence=2, issued=NOW, next_update=NOW + DAY, serials=[cert.serial])
    assert refusal(bundle(cert=cert), revoked) == "revoked"
    untouched = r.build(CA_KEY, sequence=2, issued=NOW, next_update=NOW + DAY)
    assert verify_bundle(bundle(cert=cert), TRUST, untouched, NOW).version == 3


def test_an_altered_bundle_is_refused():
    data = bundle()
    assert refusal(data.replace(b"group ops", b"group all")) == "bad-signature"
    assert refusal(data.replace(b'"version":3', b'"version":9')) == "bad-signature"
    sig = data.rstrip(b"\n").rsplit(b"\n", 1)[1]
    flipped = data.replace(sig, (b"A" if sig[:1] != b"A" else b"B") + sig[1:])
    assert refusal(flipped) == "bad-signature"


def test_an_expired_signer_certificate_is_refused():
    cert = signer(not_after=NOW + 3600)
    data = bundle(cert=cert)
    assert verify_bundle(data, TRUST, None, NOW).version == 3
    assert refusal(data, now=NOW + 2 * 3600) == "expired"


def test_a_signer_of_another_ca_and_a_sign_usage_are_required():
    assert refusal(bundle(cert=signer(ca=OTHER_CA_KEY))) == "unknown-issuer"
    hand_key = SigningKey.generate()
    client = signer(usage=("client",), key=hand_key)
    from ben_cli.ca import jcs

    hand = c.sign_document(hand_key, b"ben-policy-bundle-v1\n", jcs.canonical(
        {"name": "edge", "version": 3, "policy": text(3), "signed": c.format_time(NOW), "signer": client.text}))
    assert refusal(hand) == "wrong-usage"


def test_sign_refuses_a_key_that_is_not_the_certificates():
    with pytest.raises(UsageError, match="not the signing key"):
        bundle(key=SigningKey.generate())


def test_a_policy_with_faults_or_no_version_is_not_signed():
    with pytest.raises(UsageError, match="faults"):
        sign("policy edge default deny\nrule x allow\n", ADMIN_KEY, signer().text.encode(), NOW)
    with pytest.raises(UsageError, match="needs a version"):
        sign("policy edge default deny\n", ADMIN_KEY, signer().text.encode(), NOW)


def test_install_keeps_versions_and_refuses_an_older_one(tmp_path):
    kept = Installed("edge", tmp_path)
    v3, v4 = verify_bundle(bundle(3), TRUST, None, NOW), verify_bundle(bundle(4), TRUST, None, NOW)
    assert kept.install(v3) == "installed edge version 3 (signed by alice)"
    assert kept.install(v4) == "installed edge version 4 (signed by alice)"
    with pytest.raises(c.Refused) as caught:
        kept.install(v3)
    assert caught.value.reason == "rollback" and kept.current()["version"] == 4
    assert kept.install(v3, allow_rollback=True) == "rolled back to edge version 3 (signed by alice)"
    assert kept.versions() == [3, 4] and kept.current()["version"] == 3
    assert kept.install(v3).endswith("already the installed version")


def test_a_version_number_means_one_policy(tmp_path):
    kept = Installed("edge", tmp_path)
    kept.install(verify_bundle(bundle(3), TRUST, None, NOW))
    other = sign(text(3).replace("ops", "web"), ADMIN_KEY, signer().text.encode(), NOW)
    with pytest.raises(c.Refused) as caught:
        kept.install(verify_bundle(other, TRUST, None, NOW), allow_rollback=True)
    assert caught.value.reason == "version-reused"


def test_the_installed_version_is_verified_again_when_loaded(tmp_path):
    kept = Installed("edge", tmp_path)
    kept.install(verify_bundle(bundle(3), TRUST, None, NOW))
    assert kept.load_current(TRUST, None, NOW).version == 3
    path = kept.bundle_path(3)
    path.write_bytes(path.read_bytes().replace(b"group ops", b"group all"))
    with pytest.raises(c.Refused) as caught:
        kept.load_current(TRUST, None, NOW)
    assert caught.value.reason == "bad-signature"

"""Signed policy bundles: a good one installs; each refusal the issue names is refused with its
reason (wrong signer group, revoked signer, altered bundle, older version, expired certificate),
and a few more (another CA, a key that is not the certificate's, a reused version number)."""

from __future__ import annotations

import json
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


def setup_home(tmp_path, monkeypatch):
    monkeypatch.setenv("BEN_HOME", str(tmp_path / "home"))
    trust = tmp_path / "trust"
    trust.write_text(TRUST.text)
    kept = Installed("edge")
    kept.install(verify_bundle(bundle(3), TRUST, None, NOW))
    return kept, trust


def enforce_from_pipe(feed, trust, tmp_path, notes: list[str] | None = None):
    """Run enforce --installed --watch in this process over a pipe that ``feed`` writes to."""
    import os
    import threading

    from ben_cli.ndjson import Writer
    from ben_cli.policy.enforce import PolicyOptions, enforce_installed
    from ben_cli.policy.evaluate import Who
    from ben_cli.rejects import Rejects

    read_fd, write_fd = os.pipe()
    started = threading.Event()  # the feed begins once the installed version was loaded
    notes = [] if notes is None else notes

    def note(message: str) -> None:
        notes.append(message)
        started.set()

    def fed(pipe):
        started.wait(30)
        feed(pipe)

    thread = threading.Thread(target=fed, args=(os.fdopen(write_fd, "wb", buffering=0),))
    thread.start()
    out = tmp_path / "out.ndjson"
    with open(out, "wb") as fh, Rejects(tmp_path / "rejects.ndjson") as bad:
        summary, _gate = enforce_installed("edge", [f"/dev/fd/{read_fd}"], Writer(fh), bad,
                                           PolicyOptions(Who("db", ("ops",))), trust, None, True, note)
    thread.join()
    os.close(read_fd)
    return summary, [json.loads(x) for x in out.read_bytes().splitlines()], notes


def test_watch_takes_up_a_newer_installed_version_without_dropping_records(tmp_path, monkeypatch):
    kept, trust = setup_home(tmp_path, monkeypatch)
    newer = sign("policy edge version 4 default deny\nrule ops: deny if group ops\n", ADMIN_KEY,
                 signer().text.encode(), NOW)

    def feed(pipe):
        for i in range(3):
            pipe.write(b'{"n": %d}\n' % i)
        kept.install(verify_bundle(newer, TRUST, None, NOW))
        for _ in range(300):  # taken up while no record arrives (looked at once a second)
            if any(n.startswith("now enforcing") for n in notes):
                break
            time.sleep(0.05)
        for i in range(3, 6):
            pipe.write(b'{"n": %d}\n' % i)
        pipe.close()

    notes: list[str] = []
    summary, passed, _ = enforce_from_pipe(feed, trust, tmp_path, notes)
    assert [r["n"] for r in passed] == [0, 1, 2]
    assert summary.read == 6 and summary.rejected == 3  # none dropped: passed or rejected, each of them
    assert notes == ["enforcing edge version 3 (signed by alice)", "now enforcing edge version 4 (signed by alice)"]


def test_a_pushed_policy_is_verified_installed_and_enforced_from_the_next_record(tmp_path, monkeypatch):
    kept, trust = setup_home(tmp_path, monkeypatch)
    v4 = sign("policy edge version 4 default deny\nrule ops: allow if group ops and not name secret\n",
              ADMIN_KEY, signer().text.encode(), NOW).decode()
    altered = v4.replace("not name secret", "not name public")
    older = bundle(2).decode()

    def push(body: str) -> bytes:
        return json.dumps({"lane": "control", "name": "policy.push", "body": body}).encode() + b"\n"

    def feed(pipe):
        pipe.write(b'{"name": "secret"}\n' + push(altered) + push(older) + b'{"name": "secret"}\n')
        pipe.write(push(v4) + b'{"name": "secret"}\n{"name": "fine"}\n')
        pipe.close()

    summary, passed, notes = enforce_from_pipe(feed, trust, tmp_path)
    assert [r["name"] for r in passed] == ["secret", "secret", "policy.push", "fine"]
    rejects = [json.loads(x) for x in (tmp_path / "rejects.ndjson").read_bytes().splitlines()]
    assert [r["line"] for r in rejects] == [2, 3, 6]
    assert "refused (bad-signature)" in rejects[0]["reason"] and "refused (rollback)" in rejects[1]["reason"]
    assert rejects[2]["rule"] == "default"  # version 4 decides the record after its push
    assert kept.current()["version"] == 4 and "installed edge version 4 (signed by alice)" in notes

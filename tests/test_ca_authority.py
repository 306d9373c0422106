"""The CA's folder: init, issue, revoke, tokens and enrolment, renewal, rotation, the audit log,
and two writers at once."""

from __future__ import annotations

import atexit
import functools
import json
import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ben_cli.ca import audit, authority, enrol, jcs
from ben_cli.ca import cert as c
from ben_cli.ca import crl as r
from ben_cli.ca.node import Node
from ben_cli.ca.store import Store
from ben_cli.ca.verify import Requirements, Verifier
from ben_cli.crypto.primitives import x25519_keypair
from ben_cli.errors import UsageError

NOW = 1_800_000_000
DAY = 86400
PW = b"correct horse"


@pytest.fixture
def ca(tmp_path):
    store = Store(tmp_path / "ca")
    authority.init(store, PW, NOW, cost="interactive")
    return store, store.signing_key(lambda: PW)


def web(store, key, now=NOW, **over):
    profile = authority.Profile(**{"name": "web1", "groups": ("web",), "lanes": ("diag",), "ttl": 3 * DAY, **over})
    return authority.issue(store, key, profile, x25519_keypair()[1], None, now)


def verifier(store, now=NOW):
    return Verifier(authority.bundle(store, now), r.parse(store.crl_path.read_bytes()))


def test_init_makes_a_protected_key_a_self_signed_certificate_and_an_empty_list(ca):
    store, key = ca
    assert oct(store.root.stat().st_mode)[-3:] == "700"
    assert oct((store.root / "ca-1.key").stat().st_mode)[-3:] == "600"
    assert "encrypted" in (store.root / "ca-1.key").read_text().splitlines()[0]
    me = store.ca_cert()
    assert me.usage == ("ca",) and me.issuer == c.key_id(key.public.key) and me.not_after - NOW == 5 * 365 * DAY
    assert r.parse(store.crl_path.read_bytes()).sequence == 1
    with pytest.raises(UsageError, match="already exists"):
        authority.init(store, PW, NOW, cost="interactive")
    with pytest.raises(Exception, match="wrong passphrase"):
        store.signing_key(lambda: b"nope")


def test_warnings_start_ninety_days_before_the_ca_expires(ca):
    store, _ = ca
    end = store.ca_cert().not_after
    assert not [w for w in authority.warnings(store, end - 91 * DAY) if "CA certificate" in w]
    assert any("expires in 89 days" in w for w in authority.warnings(store, end - 89 * DAY - 1))


def test_issue_keeps_the_certificate_and_never_outlives_the_ca(ca):
    store, key = ca
    cert = web(store, key)
    assert (store.issued_dir / f"{cert.serial}.cert").read_text() == cert.text
    assert cert.not_before == NOW - 60 and cert.not_after == NOW + 3 * DAY
    late = web(store, key, now=store.ca_cert().not_after - DAY, ttl=30 * DAY)
    assert late.not_after == store.ca_cert().not_after
    with pytest.raises(UsageError, match="ca is for the CA's own certificate"):
        authority.Profile("x", usage=("ca",))
    with pytest.raises(UsageError, match="not one of diag, event, control"):
        authority.Profile("x", lanes=("metrics",))


@pytest.mark.parametrize("how", ["serial", "id", "key"])
def test_revoke_by_serial_id_or_key_publishes_the_next_list(ca, how):
    store, key = ca
    cert, other = web(store, key), web(store, key)
    target = {"serial": {"serial_or_id": cert.serial}, "id": {"serial_or_id": cert.id},
              "key": {"public_key": cert.noise_pub}}[how]
    listed = authority.revoke(store, key, NOW, **target)
    assert listed.sequence == 2
    with pytest.raises(c.Refused) as caught:
        verifier(store).check(cert.text, NOW)
    assert caught.value.reason == "revoked"
    assert verifier(store).check(other.text, NOW) == other
    with pytest.raises(UsageError, match="already revoked"):
        authority.revoke(store, key, NOW, **target)
    with pytest.raises(UsageError, match="issued no certificate"):
        authority.revoke(store, key, NOW, serial_or_id="0" * 32)
    rows = {row["serial"]: row["status"] for row in authority.listing(store, NOW)}
    assert rows == {cert.serial: "revoked", other.serial: "valid"}


def test_list_says_expiring_past_two_thirds_and_expired(ca):
    store, key = ca
    cert = web(store, key)
    due = authority.renew_due(cert)
    assert authority.listing(store, due - 1)[0]["status"] == "valid"
    assert authority.listing(store, due)[0]["status"] == "expiring"
    assert authority.listing(store, cert.not_after + 1, ["expired"])[0]["serial"] == cert.serial


def test_enrolment_token_is_single_use_and_lasts_five_minutes(ca, tmp_path):
    store, key = ca
    profile = authority.Profile("node1", lanes=("diag",), usage=("client", "sign"), ttl=3 * DAY)
    node = Node(tmp_path / "node")
    token = enrol.make_token(store, profile, NOW)
    assert token.secret.hex() not in json.dumps(store.read_json("tokens.json"))  # base64url, not hex
    request = node.enroll(token.text, NOW)
    assert oct((node.root / "noise.key").stat().st_mode)[-3:] == "600"
    assert oct((node.root / "sign.key").stat().st_mode)[-3:] == "600"
    cert = enrol.sign_request(store, key, request, NOW + 10)
    assert (cert.name, cert.lanes, cert.usage) == ("node1", ("diag",), ("client", "sign"))
    assert cert.noise_pub == node.noise_pub() and cert.sign_pub == node.signing_key().public.key
    assert store.read_json("tokens.json")["tokens"][token.id]["secret"] is None  # forgotten once used
    with pytest.raises(c.Refused) as caught:
        enrol.sign_request(store, key, request, NOW + 20)
    assert caught.value.reason == "token-used"
    late = enrol.make_token(store, profile, NOW)
    with pytest.raises(c.Refused) as caught:
        enrol.sign_request(store, key, Node(tmp_path / "n2").enroll(late.text, NOW), NOW + 301)
    assert caught.value.reason == "token-expired"
    forged = enrol.make_token(store, profile, NOW)
    wrong = enrol.Token(forged.id, os.urandom(32), forged.ca)
    with pytest.raises(c.Refused) as caught:
        enrol.sign_request(store, key, Node(tmp_path / "n3").enroll(wrong.text, NOW), NOW)
    assert caught.value.reason == "bad-signature"
    # the request cannot be changed to bind another key: the MAC covers the body
    fresh = enrol.make_token(store, profile, NOW)
    request = Node(tmp_path / "n4").enroll(fresh.text, NOW)
    body = json.loads(request.split(b"\n")[1])
    body["noise_pub"] = c.b64url(x25519_keypair()[1])
    swapped = request.split(b"\n")
    swapped[1] = jcs.canonical(body)
    with pytest.raises(c.Refused) as caught:
        enrol.sign_request(store, key, b"\n".join(swapped), NOW)
    assert caught.value.reason == "bad-signature"


def test_the_node_accepts_only_its_own_certificate_from_the_named_ca(ca, tmp_path):
    store, key = ca
    node = Node(tmp_path / "node")
    token = enrol.make_token(store, authority.Profile("node1"), NOW)
    cert = enrol.sign_request(store, key, node.enroll(token.text, NOW), NOW)
    bundle = authority.bundle(store, NOW).text.encode()
    with pytest.raises(c.Refused) as caught:
        node.accept(web(store, key).text.encode(), bundle, NOW)
    assert caught.value.reason == "wrong-keys"
    assert node.accept(cert.text.encode(), bundle, NOW) == cert
    assert node.certificate() == cert


def test_renewal_at_two_thirds_once_per_certificate_and_a_repeat_gets_the_same_answer(ca, tmp_path):
    store, key = ca
    node = Node(tmp_path / "node")
    token = enrol.make_token(store, authority.Profile("node1", ttl=3 * DAY), NOW)
    cert = enrol.sign_request(store, key, node.enroll(token.text, NOW), NOW)
    node.accept(cert.text.encode(), authority.bundle(store, NOW).text.encode(), NOW)
    due = authority.renew_due(cert)
    assert node.renew(due - 1) == (None, due)
    request, _ = node.renew(due)
    assert request is not None
    renewed = enrol.sign_request(store, key, request, due)
    assert renewed.noise_pub == cert.noise_pub and renewed.not_after - renewed.not_before == cert.not_after - cert.not_before
    assert enrol.sign_request(store, key, request, due) == renewed  # sent twice: the same answer
    assert enrol.sign_request(store, key, node.renew(due)[0], due + 1) == renewed  # renewed once
    with pytest.raises(c.Refused) as caught:
        enrol.sign_request(store, key, request, due + 301)
    assert caught.value.reason == "stale-request"
    assert {row["status"] for row in authority.listing(store, due)} == {"replaced", "valid"}
    assert len(store.issued()) == 2


def test_a_revoked_certificate_is_not_renewed(ca, tmp_path):
    store, key = ca
    node = Node(tmp_path / "node")
    cert = enrol.sign_request(store, key, node.enroll(enrol.make_token(store, authority.Profile("n"), NOW).text, NOW), NOW)
    node.accept(cert.text.encode(), authority.bundle(store, NOW).text.encode(), NOW)
    authority.revoke(store, key, NOW, serial_or_id=cert.serial)
    with pytest.raises(c.Refused) as caught:
        enrol.sign_request(store, key, node.renew(NOW, force=True)[0], NOW)
    assert caught.value.reason == "revoked"


def test_rotation_overlap_reissue_and_audit(ca):
    store, key = ca
    live, gone = web(store, key, ttl=30 * DAY), web(store, key)
    authority.revoke(store, key, NOW, serial_or_id=gone.serial)
    done = authority.rotate(store, key, PW, NOW + 10, overlap=7 * DAY, cost="interactive")
    assert store.generation == 2 and done.old.not_after == NOW + 10 + 7 * DAY
    assert [each.name for each in done.reissued] == ["web1"] and done.reissued[0].noise_pub == live.noise_pub
    assert done.reissued[0].issuer == done.new.issuer and done.crl.issuer == done.new.issuer
    assert done.crl.sequence == 3 and gone.serial in done.crl.serials
    during, after = NOW + 6 * DAY, NOW + 8 * DAY
    assert len(authority.bundle(store, during).cas) == 2 and len(authority.bundle(store, after).cas) == 1
    assert verifier(store, during).check(live.text, during)
    with pytest.raises(c.Refused) as caught:
        verifier(store, after).check(live.text, after)
    assert caught.value.reason in ("unknown-issuer", "issuer-expired")
    with pytest.raises(c.Refused) as caught:  # a verifier holding the rotation's two-CA bundle
        Verifier(authority.bundle(store, during)).check(live.text, after)
    assert caught.value.reason == "issuer-expired"
    assert verifier(store, after).check(done.reissued[0].text, after)
    with pytest.raises(UsageError, match="rotated"):
        web(store, key)  # the old key no longer issues
    summary = audit.check(store)
    assert summary.segments == 2 and summary.events["rotate"] == 1 and summary.events["issue"] == 3


def test_the_audit_log_finds_an_altered_entry_and_a_certificate_issued_behind_its_back(ca, tmp_path):
    store, key = ca
    web(store, key)
    assert audit.check(store).entries == 2
    log = store.audit_path(1)
    original = log.read_bytes()
    log.write_bytes(original.replace(b'"name":"web1"', b'"name":"web9"'))
    with pytest.raises(audit.AuditError, match="altered"):
        audit.check(store)
    log.write_bytes(original)
    sneaky = c.issue(key, name="sneaky", groups=(), lanes=(), usage=("client",), noise_pub=x25519_keypair()[1],
                     sign_pub=None, not_before=NOW, not_after=NOW + DAY)
    store.save_issued(sneaky)
    with pytest.raises(audit.AuditError, match="never issued it"):
        audit.check(store)
    log.write_bytes(original.split(b"\n")[0] + b"\n")  # the last entry cut off
    with pytest.raises(audit.AuditError):
        audit.check(store)


def _issue_many(root: str, count: int, queue) -> None:
    store = Store(__import__("pathlib").Path(root))
    key = store.signing_key(lambda: PW)
    serials = [web(store, key).serial for _ in range(count)]
    queue.put(serials)


def test_two_issuers_at_once_take_turns_and_lose_nothing(ca):
    store, _ = ca
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    workers = [ctx.Process(target=_issue_many, args=(str(store.root), 15, queue)) for _ in range(2)]
    for w in workers:
        w.start()
    serials = queue.get(timeout=120) + queue.get(timeout=120)
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    assert len(set(serials)) == 30
    assert {each.serial for each in store.issued()} == set(serials)
    assert audit.check(store).events["issue"] == 30


def test_a_verifier_refuses_usage_it_was_not_issued_for_end_to_end(ca):
    store, key = ca
    cert = web(store, key, usage=("client",))
    with pytest.raises(c.Refused, match="not for use as server"):
        verifier(store).check(cert.text, NOW, Requirements(usage="server"))


def test_the_ca_lock_waits_where_the_plain_lock_refuses(tmp_path):
    """exclusive_lock(wait=True), which the CA's writers take: the second holder waits its turn."""
    import threading

    from ben_cli.atomic import Busy, exclusive_lock

    path = tmp_path / "state"
    order: list[str] = []
    held, release = threading.Event(), threading.Event()

    def first() -> None:
        with exclusive_lock(path):
            order.append("first in")
            held.set()
            release.wait(10)
            order.append("first out")

    thread = threading.Thread(target=first)
    thread.start()
    held.wait(10)
    with pytest.raises(Busy):
        with exclusive_lock(path):
            pass
    threading.Timer(0.2, release.set).start()
    with exclusive_lock(path, wait=True):
        order.append("second in")
    thread.join(10)
    assert order == ["first in", "first out", "second in"]


@pytest.mark.parametrize("change,reason", [
    (lambda v: {**v, "token": ["x"]}, "malformed"),
    (lambda v: {**v, "version": True}, "malformed"),
    (lambda v: {**v, "kind": "steal"}, "malformed"),
    (lambda v: {**v, "token": "A" * 22}, "unknown-token"),
    (lambda v: {**v, "kind": "renew", "serial": "0" * 32, "id": "x"}, "unknown-certificate"),
])
def test_requests_that_are_not_what_they_claim_are_refused_with_a_reason(ca, tmp_path, change, reason):
    store, key = ca
    token = enrol.make_token(store, authority.Profile("n"), NOW)
    header, body, proof, _ = Node(tmp_path / "node").enroll(token.text, NOW).split(b"\n")
    altered = jcs.canonical(change(json.loads(body)))
    proof = proof if reason != "unknown-certificate" else c.b64url(bytes(64)).encode()
    with pytest.raises(c.Refused) as caught:
        enrol.sign_request(store, key, b"\n".join([header, altered, proof, b""]), NOW)
    assert caught.value.reason == reason


@functools.cache
def _one_request() -> tuple[Store, object, bytes]:
    root = Path(tempfile.mkdtemp(prefix="ben-ca-request-"))
    atexit.register(shutil.rmtree, root, True)
    store = Store(root / "ca")
    authority.init(store, PW, NOW, cost="interactive")
    token = enrol.make_token(store, authority.Profile("n"), NOW)
    return store, store.signing_key(lambda: PW), Node(root / "node").enroll(token.text, NOW)


@given(st.integers(min_value=0), st.integers(0, 255))
@settings(max_examples=200, deadline=None)
def test_any_byte_changed_in_an_enrolment_request_is_refused_and_spends_nothing(at, byte):
    store, key, request = _one_request()
    at %= len(request)
    changed = request[:at] + bytes([byte if byte != request[at] else (byte + 1) % 256]) + request[at + 1:]
    with pytest.raises(c.Refused):
        enrol.sign_request(store, key, changed, NOW)
    assert not list(store.issued_dir.iterdir())


def test_an_interrupted_init_is_named_not_mistaken_for_a_ca(tmp_path):
    store = Store(tmp_path / "ca")
    store.create()
    (store.root / "ca-1.key").write_text("half")
    with pytest.raises(UsageError, match="unfinished CA"):
        authority.init(store, PW, NOW, cost="interactive")
    with pytest.raises(UsageError, match="run ben ca init first"):
        store.require()

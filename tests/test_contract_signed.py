"""``ben contract``'s ``signed`` lanes held to real signatures (issue 20's last item): a record on a
signed lane needs a ``sig`` made by a key whose ``ben ca`` certificate (trust bundle, revocation
list, usage ``sign``, the record's lane) allows it. Keys, certificates and lists are made here
with ben's own library; nothing is mocked."""

from __future__ import annotations

import time

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ben_cli.ca import cert as c
from ben_cli.ca import crl as r
from ben_cli.ca.records import DeferredVerifier, RecordSigner, RecordVerifier, signed_bytes
from ben_cli.ca.verify import TrustBundle
from ben_cli.contract import ContractOptions, Enforcer, load_text
from ben_cli.crypto.keys import SigningKey
from ben_cli.crypto.primitives import x25519_keypair
from ben_cli.errors import UsageError
from ben_cli.rejects import Rejects

from .conftest import run_ben

NOW = int(time.time())
DAY = 86400
CA_KEY, OTHER_CA_KEY = SigningKey.generate(), SigningKey.generate()


def ca_cert(key: SigningKey) -> c.Certificate:
    return c.issue(key, name="acme", groups=(), lanes=(), usage=("ca",), noise_pub=x25519_keypair()[1],
                   sign_pub=key.public.key, not_before=NOW - DAY, not_after=NOW + 365 * DAY)


CA = ca_cert(CA_KEY)
TRUST = TrustBundle.of([CA])
OPS_KEY = SigningKey.generate()


def leaf(key: SigningKey = OPS_KEY, ca: SigningKey = CA_KEY, **over: object) -> c.Certificate:
    fields: dict = dict(name="ops", groups=("ops",), lanes=("control",), usage=("sign",),
                        noise_pub=x25519_keypair()[1], sign_pub=key.public.key, not_before=NOW - 60, not_after=NOW + DAY)
    fields.update(over)
    return c.issue(ca, **fields)


OPS = leaf()
CONTRACT = load_text("contract ops version 1\nlane control signed {\n  kind \"key.*\" { field body: string required }\n}\n",
                     "ops.ben")


def record(**over: object) -> dict:
    return {"ts": "2026-11-25T10:00:06Z", "lane": "control", "name": "key.rotate", "body": "rotate k1", **over}


def judged(rec: dict, crl: r.Crl | None = None, mode: str = "reject") -> list[tuple[str, str, object, int]]:
    enforcer = Enforcer(CONTRACT, Rejects(), ContractOptions(mode=mode, signatures=RecordVerifier(TRUST, crl)))
    return enforcer.violations(rec)


def reason(rec: dict, crl: r.Crl | None = None) -> str | None:
    found = judged(rec, crl)
    if not found:
        return None
    assert [(rule, field, line) for rule, field, _, line in found] == [("signed", "sig", 2)]
    value = found[0][2]
    return "missing" if value is None else str(value).split(":")[0]


def test_a_record_signed_by_an_allowed_key_keeps_the_contract():
    signed = RecordSigner(OPS_KEY, OPS.text).sign(record())
    assert set(signed["sig"]) == {"cert", "ed25519"}
    assert reason(signed) is None
    assert RecordVerifier(TRUST).check(signed, "control").name == "ops"


def test_each_reason_a_signature_is_refused():
    signer = RecordSigner(OPS_KEY, OPS.text)
    assert reason(record()) == "missing"
    assert reason(record(sig={"seq": 0, "prev": "x"})) == "malformed"  # a stream's chained sig
    assert reason({**signer.sign(record()), "body": "rotate k2"}) == "bad-signature"
    stranger = SigningKey.generate()
    assert reason(RecordSigner(stranger, leaf(stranger, OTHER_CA_KEY).text).sign(record())) == "unknown-issuer"
    revoked = r.build(CA_KEY, sequence=2, issued=NOW, next_update=NOW + DAY, serials=[OPS.serial])
    assert reason(signer.sign(record()), revoked) == "revoked"
    client = leaf(usage=("client",))
    forged = {**record(), "sig": {"cert": client.text, "ed25519": signer.sign(record())["sig"]["ed25519"]}}
    assert reason(forged) == "wrong-usage"
    diag_only = leaf(lanes=("diag",))
    assert reason(RecordSigner(OPS_KEY, diag_only.text).sign(record())) == "lane-not-allowed"
    expired = leaf(not_before=NOW - 3 * DAY, not_after=NOW - DAY)
    assert reason(RecordSigner(OPS_KEY, expired.text).sign(record())) == "expired"


def test_a_signature_made_by_another_key_than_the_certificates_is_bad():
    thief = SigningKey.generate()
    made = RecordSigner(thief, leaf(thief).text).sign(record())
    stolen = {**made, "sig": {**made["sig"], "cert": OPS.text}}  # the victim's certificate, the thief's signature
    assert reason(stolen) == "bad-signature"


def test_the_signer_refuses_a_key_that_is_not_the_certificates_or_a_certificate_not_for_signing():
    with pytest.raises(UsageError, match="not the signing key"):
        RecordSigner(SigningKey.generate(), OPS.text)
    with pytest.raises(UsageError, match="not for use as sign"):
        RecordSigner(OPS_KEY, leaf(usage=("client",)).text)


def test_fields_stages_add_later_do_not_break_the_signature_and_key_order_does_not_matter():
    signed = RecordSigner(OPS_KEY, OPS.text).sign(record())
    later = {"_ingest": {"line": 3}, "via": "web1", **dict(reversed(list(signed.items())))}
    assert reason(later) is None
    assert reason({**signed, "redacted": ["body"], "body": "[email]"}) == "bad-signature"


def test_warn_mode_marks_and_without_a_hook_only_presence_counts():
    bad = {**RecordSigner(OPS_KEY, OPS.text).sign(record()), "body": "changed"}
    enforcer = Enforcer(CONTRACT, Rejects(), ContractOptions(mode="warn", signatures=RecordVerifier(TRUST)))
    assert enforcer.judge(bad, "-", 1)
    assert [v["rule"] for v in bad["contract"]["violations"]] == ["signed"]
    assert Enforcer(CONTRACT, Rejects()).violations(dict(bad, contract=None)) == []


def test_records_of_other_lanes_are_not_asked_for_a_signature():
    contract = load_text("lane control signed {\n  kind x { field body: string }\n}\nlane event {\n  kind y { field v: int }\n}\n",
                         "two.ben")
    calls: list[str] = []

    def hook(rec: dict, lane: str) -> tuple[str, str] | None:
        calls.append(lane)
        return None

    enforcer = Enforcer(contract, Rejects(), ContractOptions(signatures=hook))
    assert enforcer.violations({"lane": "event", "name": "y", "v": 1, "sig": {"cert": "", "ed25519": ""}}) == []
    assert enforcer.violations({"lane": "control", "name": "other", "sig": 1}) == []
    assert calls == ["control"]  # any name on the signed lane, the event record never


JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**53, 2**53) | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                    max_leaves=10)


@settings(max_examples=60, deadline=None)
@given(fields=st.dictionaries(st.text(min_size=1, max_size=6).filter(lambda k: k not in ("sig", "lane")), JSON, max_size=5),
       change=st.text(min_size=1, max_size=6))
def test_signed_records_verify_after_a_json_round_trip_and_any_change_to_a_field_is_caught(fields, change):
    signer, verifier = RecordSigner(OPS_KEY, OPS.text), RecordVerifier(TRUST)
    signed = orjson.loads(orjson.dumps(signer.sign({"lane": "control", **fields})))
    assert verifier(signed, "control") is None
    altered = dict(signed)
    key = next((k for k in fields if k not in ("_ingest", "via", "contract", "anomaly", "redacted")), None)
    if key is None:
        altered["added"] = change
    else:
        altered[key] = [altered[key]]
    bad = verifier(altered, "control")
    assert bad is not None and bad[0] == "bad-signature"


def test_the_signed_bytes_are_the_canonical_json_without_the_later_fields():
    assert signed_bytes({"b": 1, "a": "x", "sig": 5, "_ingest": {}}) == b'ben-record-sig-v1\n{"a":"x","b":1}'


def test_the_cli_signs_records_and_validate_and_ingest_verify_them(tmp_path):
    from ben_cli.crypto.keyfiles import load_signing_key

    home = {"BEN_HOME": str(tmp_path / "home")}  # no CA here: the trust comes from the files given
    assert run_ben("key", "gen", "-q", "--out", str(tmp_path / "ops"), env=home).returncode == 0
    key = load_signing_key(tmp_path / "ops.key")
    certificate = leaf(key)
    (tmp_path / "ops.cert").write_text(certificate.text)
    (tmp_path / "trust").write_text(CA.text)
    revoked = r.build(CA_KEY, sequence=2, issued=NOW, next_update=NOW + DAY, serials=[certificate.serial])
    (tmp_path / "crl").write_text(revoked.text)
    (tmp_path / "ops.ben").write_text("lane control signed {\n  kind \"key.*\" { field body: string required }\n}\n")
    (tmp_path / "in.ndjson").write_bytes(orjson.dumps(record()) + b"\n")
    out = run_ben("key", "sign", "-q", "-k", str(tmp_path / "ops.key"), "--cert", str(tmp_path / "ops.cert"),
                  str(tmp_path / "in.ndjson"), env=home)
    assert out.returncode == 0, out.stderr
    signed = out.stdout
    assert orjson.loads(signed)["sig"]["cert"] == (tmp_path / "ops.cert").read_text()
    out = run_ben("contract", "validate", str(tmp_path / "ops.ben"), "--trust", str(tmp_path / "trust"),
                  input=signed + orjson.dumps(record()) + b"\n", env=home)
    assert out.returncode == 0, out.stderr
    assert out.stdout == signed
    assert b"signed sig=missing" in out.stderr
    out = run_ben("ingest", "-q", "--contract", str(tmp_path / "ops.ben"), "--trust", str(tmp_path / "trust"),
                  "--crl", str(tmp_path / "crl"), input=signed, env=home)
    assert out.returncode == 0 and out.stdout == b"", out.stderr  # revoked: nothing passes
    out = run_ben("contract", "validate", str(tmp_path / "ops.ben"), input=signed, env=home)  # no trust here
    assert out.returncode == 0 and out.stdout == b"", out.stderr
    assert b'signed sig="no-trust: cannot check signatures: give --trust' in out.stderr
    out = run_ben("contract", "validate", str(tmp_path / "ops.ben"), "--trust", str(tmp_path / "none"), input=signed, env=home)
    assert out.returncode == 2 and b"cannot read the trust bundle" in out.stderr


def test_without_trust_signed_records_are_refused_but_a_run_without_them_needs_none():
    made: list[int] = []

    def make() -> RecordVerifier:
        made.append(1)
        raise UsageError("give --trust")

    deferred = DeferredVerifier(make)
    enforcer = Enforcer(CONTRACT, Rejects(), ContractOptions(signatures=deferred))
    assert [v[2] for v in enforcer.violations(record())] == [None] and made == []  # missing: trust not needed
    signed = RecordSigner(OPS_KEY, OPS.text).sign(record())
    assert [v[2] for v in enforcer.violations(signed)] == ["no-trust: cannot check signatures: give --trust"]
    assert [v[2] for v in enforcer.violations(signed)] and made == [1]  # asked once
    assert DeferredVerifier(lambda: RecordVerifier(TRUST))(signed, "control") is None

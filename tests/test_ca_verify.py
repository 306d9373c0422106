"""Every refusal a verifier makes, with its reason; and any byte changed makes a certificate,
a revocation list or a bundle fail to verify."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ben_cli.ca import cert as c
from ben_cli.ca import crl as r
from ben_cli.ca.verify import SKEW, Requirements, TrustBundle, Verifier, check_crl
from ben_cli.crypto.keys import SigningKey
from ben_cli.crypto.primitives import x25519_keypair

NOW = 1_800_000_000
DAY = 86400


def ca_cert(key: SigningKey, not_after: int = NOW + 365 * DAY, name: str = "ben-ca") -> c.Certificate:
    return c.issue(key, name=name, groups=(), lanes=(), usage=("ca",), noise_pub=x25519_keypair()[1],
                   sign_pub=key.public.key, not_before=NOW - DAY, not_after=not_after)


CA_KEY, OTHER_KEY = SigningKey.generate(), SigningKey.generate()
CA, OTHER = ca_cert(CA_KEY), ca_cert(OTHER_KEY, name="other-ca")
BUNDLE = TrustBundle.of([CA])
NODE_SIGN = SigningKey.generate().public.key


def leaf(key: SigningKey = CA_KEY, **over: object) -> c.Certificate:
    fields: dict = dict(name="web1", groups=("web",), lanes=("diag", "event"), usage=("client",),
                        noise_pub=x25519_keypair()[1], sign_pub=NODE_SIGN, not_before=NOW - 60, not_after=NOW + DAY)
    fields.update(over)
    return c.issue(key, **fields)


def reason(verifier: Verifier, text: str, now: int = NOW, needs: Requirements = Requirements()) -> str:
    with pytest.raises(c.Refused) as caught:
        verifier.check(text, now, needs)
    return caught.value.reason


def crl(key: SigningKey = CA_KEY, sequence: int = 1, **revoked: object) -> r.Crl:
    return r.build(key, sequence=sequence, issued=NOW, next_update=NOW + 7 * DAY, **revoked)


def test_a_good_certificate_verifies_for_what_it_was_issued_for():
    cert = leaf()
    assert Verifier(BUNDLE).check(cert.text, NOW, Requirements("client", "event", "web")) == cert


def test_wrong_ca():
    cert = leaf(OTHER_KEY)
    with pytest.raises(c.Refused, match="which the trust bundle does not hold"):
        Verifier(BUNDLE).check(cert.text, NOW)
    assert reason(Verifier(BUNDLE), cert.text) == "unknown-issuer"


def test_a_certificate_naming_our_ca_but_signed_by_another_key_is_an_altered_one():
    body = leaf().body
    forged = c.sign_document(OTHER_KEY, c.HEADER, body)
    assert reason(Verifier(BUNDLE), forged.decode()) == "bad-signature"


def test_expired_and_not_yet_valid_with_exactly_sixty_seconds_of_skew():
    cert = leaf(not_before=NOW, not_after=NOW + 3600)
    v = Verifier(BUNDLE)
    assert v.check(cert.text, NOW - SKEW) and v.check(cert.text, NOW + 3600 + SKEW)
    assert reason(v, cert.text, NOW - SKEW - 1) == "not-yet-valid"
    assert reason(v, cert.text, NOW + 3600 + SKEW + 1) == "expired"
    with pytest.raises(c.Refused, match="61 s from now, beyond the 60 s of clock skew allowed"):
        v.check(cert.text, NOW - 61)


def test_issue_backdates_by_sixty_seconds():
    cert = leaf(not_before=NOW - c.BACKDATE)
    assert Verifier(BUNDLE).check(cert.text, NOW - 2 * SKEW) == cert
    assert reason(Verifier(BUNDLE), cert.text, NOW - 2 * SKEW - 1) == "not-yet-valid"


@pytest.mark.parametrize("by", ["ids", "serials", "noise key", "sign key"])
def test_revoked_by_each_key_of_the_list(by):
    cert = leaf()
    revoked = {"ids": {"ids": [cert.id]}, "serials": {"serials": [cert.serial]},
               "noise key": {"keys": [c.b64url(cert.noise_pub)]}, "sign key": {"keys": [c.b64url(NODE_SIGN)]}}[by]
    v = Verifier(BUNDLE, crl(**revoked))
    assert reason(v, cert.text) == "revoked"
    assert Verifier(BUNDLE, crl()).check(cert.text, NOW) == cert
    assert Verifier(BUNDLE, crl(**revoked)).check(leaf(sign_pub=None).text, NOW)  # another node is unaffected


def test_altered_body_or_signature():
    text = leaf().text
    altered_body = text.replace('"web1"', '"web2"')
    head, body, sig, _ = text.split("\n")
    other_sig = c.b64url(CA_KEY.sign(b"something else"))
    assert reason(Verifier(BUNDLE), altered_body) == "bad-signature"
    assert reason(Verifier(BUNDLE), "\n".join([head, body, other_sig, ""])) == "bad-signature"


def test_non_canonical_body_even_when_the_ca_signed_it():
    body = leaf().body.replace(b'"lanes"', b' "lanes"')
    assert reason(Verifier(BUNDLE), c.sign_document(CA_KEY, c.HEADER, body).decode()) == "non-canonical"


def test_wrong_usage_lane_and_group():
    v, cert = Verifier(BUNDLE), leaf()
    with pytest.raises(c.Refused, match="is a client certificate, not for use as server"):
        v.check(cert.text, NOW, Requirements(usage="server"))
    assert reason(v, cert.text, needs=Requirements(lane="control")) == "lane-not-allowed"
    assert reason(v, cert.text, needs=Requirements(group="db")) == "group-not-allowed"
    assert reason(v, leaf(groups=()).text, needs=Requirements(group="web")) == "group-not-allowed"


def test_a_bundle_holds_only_self_signed_ca_certificates():
    with pytest.raises(c.Refused) as caught:
        TrustBundle.of([leaf()])
    assert caught.value.reason == "not-a-ca"
    not_self = c.issue(OTHER_KEY, name="x", groups=(), lanes=(), usage=("ca",), noise_pub=x25519_keypair()[1],
                       sign_pub=CA_KEY.public.key, not_before=NOW, not_after=NOW + DAY)
    with pytest.raises(c.Refused, match="not self-signed"):
        TrustBundle.of([not_self])


def test_after_rotation_the_old_ca_is_trusted_during_the_overlap_only():
    new_key = SigningKey.generate()
    overlap_end = NOW + 7 * DAY
    # the rotation re-signs the old CA certificate to end with the overlap; a bundle holding both
    bundle = TrustBundle.parse((ca_cert(CA_KEY, overlap_end).text + ca_cert(new_key).text).encode())
    old_leaf, new_leaf = leaf(not_after=NOW + 30 * DAY), leaf(new_key, not_after=NOW + 30 * DAY)
    v = Verifier(bundle)
    assert v.check(old_leaf.text, overlap_end + SKEW) and v.check(new_leaf.text, overlap_end + DAY)
    assert reason(v, old_leaf.text, overlap_end + SKEW + 1) == "issuer-expired"
    # merged with the old, longer bundle, the shorter certificate of a key still counts
    merged = TrustBundle.parse((CA.text + bundle.text).encode())
    assert reason(Verifier(merged), old_leaf.text, overlap_end + DAY) == "issuer-expired"


# --- revocation lists -----------------------------------------------------------------------


def test_a_list_must_be_signed_by_a_trusted_ca_and_fresh(tmp_path):
    assert check_crl(BUNDLE, crl().text.encode(), NOW).sequence == 1
    with pytest.raises(c.Refused) as caught:
        check_crl(BUNDLE, crl(OTHER_KEY).text.encode(), NOW)
    assert caught.value.reason == "unknown-issuer"
    with pytest.raises(c.Refused) as caught:
        check_crl(BUNDLE, crl().text.encode(), NOW + 7 * DAY + SKEW + 1)
    assert caught.value.reason == "crl-stale"


def test_an_older_list_than_one_seen_is_refused(tmp_path):
    seen = r.SeenSequence(tmp_path / "seen.json")
    seen.check_and_raise(crl(sequence=5))
    seen.check_and_raise(crl(sequence=5))  # the same list again is fine
    with pytest.raises(c.Refused) as caught:
        seen.check_and_raise(crl(sequence=4))
    assert caught.value.reason == "old-crl" and "older than sequence 5 already seen" in str(caught.value)
    seen.check_and_raise(crl(sequence=6))
    assert r.SeenSequence(tmp_path / "seen.json").read() == 6


def test_list_entries_must_be_sorted_and_distinct():
    body = crl(serials=["b" * 32, "a" * 32]).body.replace(b'"' + b"a" * 32 + b'","' + b"b" * 32, b'"' + b"b" * 32 + b'","' + b"a" * 32)
    with pytest.raises(c.Malformed, match="sorted"):
        r.parse(c.sign_document(CA_KEY, r.HEADER, body))


# --- any byte changed ----------------------------------------------------------------------

CERT_TEXT = leaf().text.encode()
CRL_TEXT = crl(serials=["a" * 32], keys=[c.b64url(NODE_SIGN)]).text.encode()
BUNDLE_TEXT = (CA.text + ca_cert(SigningKey.generate(), name="next").text).encode()


def _changed(data: bytes, at: int, byte: int) -> bytes:
    at %= len(data)
    new = byte if byte != data[at] else (byte + 1) % 256
    return data[:at] + bytes([new]) + data[at + 1:]


def _refused(check, data: bytes) -> bool:
    try:
        check(data)
    except c.Refused:
        return True
    return False


@given(st.integers(min_value=0), st.integers(0, 255))
@settings(max_examples=500, deadline=None)
def test_any_byte_changed_in_a_certificate_fails_verification(at, byte):
    assert _refused(lambda d: Verifier(BUNDLE).check(d, NOW), _changed(CERT_TEXT, at, byte))


@given(st.integers(min_value=0), st.integers(0, 255))
@settings(max_examples=500, deadline=None)
def test_any_byte_changed_in_a_revocation_list_fails_verification(at, byte):
    assert _refused(lambda d: check_crl(BUNDLE, d, NOW), _changed(CRL_TEXT, at, byte))


@given(st.integers(min_value=0), st.integers(0, 255))
@settings(max_examples=500, deadline=None)
def test_any_byte_changed_in_a_bundle_fails_verification(at, byte):
    assert _refused(TrustBundle.parse, _changed(BUNDLE_TEXT, at, byte))


@given(st.integers(min_value=0, max_value=len(CERT_TEXT) - 1))
@settings(deadline=None)
def test_any_byte_removed_or_added_fails_too(at):
    assert _refused(lambda d: Verifier(BUNDLE).check(d, NOW), CERT_TEXT[:at] + CERT_TEXT[at + 1:])
    assert _refused(lambda d: Verifier(BUNDLE).check(d, NOW), CERT_TEXT[:at] + b" " + CERT_TEXT[at:])


def test_a_key_checked_once_still_has_every_signature_checked():
    """ed25519_verify(key_checked=True), the verifier's path: only the point check is skipped."""
    from ben_cli.crypto import primitives as p

    message = b"ben-cert-v1\nbody"
    signature = CA_KEY.sign(message)
    p.ed25519_verify(CA_KEY.public.key, message, signature, key_checked=True)
    with pytest.raises(p.BadSignature):
        p.ed25519_verify(CA_KEY.public.key, message + b"!", signature, key_checked=True)
    malleable = signature[:32] + (int.from_bytes(signature[32:], "little") + p._L).to_bytes(32, "little")
    with pytest.raises(p.NonCanonical):
        p.ed25519_verify(CA_KEY.public.key, message, malleable, key_checked=True)

"""ben-cert-v1 and its canonical JSON: RFC 8785's own examples, and the format to the byte."""

from __future__ import annotations

import json
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ben_cli.ca import cert as c
from ben_cli.ca import jcs
from ben_cli.crypto.keys import SigningKey
from ben_cli.crypto.primitives import x25519_keypair

# RFC 8785 Appendix B: IEEE 754 doubles (as hex) and their canonical spelling
NUMBERS = {
    "0000000000000000": "0", "8000000000000000": "0", "0000000000000001": "5e-324", "8000000000000001": "-5e-324",
    "7fefffffffffffff": "1.7976931348623157e+308", "ffefffffffffffff": "-1.7976931348623157e+308",
    "4340000000000000": "9007199254740992", "c340000000000000": "-9007199254740992",
    "4430000000000000": "295147905179352830000", "44b52d02c7e14af5": "9.999999999999997e+22",
    "44b52d02c7e14af6": "1e+23", "44b52d02c7e14af7": "1.0000000000000001e+23",
    "444b1ae4d6e2ef4e": "999999999999999700000", "444b1ae4d6e2ef4f": "999999999999999900000",
    "444b1ae4d6e2ef50": "1e+21", "3eb0c6f7a0b5ed8c": "9.999999999999997e-7", "3eb0c6f7a0b5ed8d": "0.000001",
    "41b3de4355555553": "333333333.3333332", "41b3de4355555554": "333333333.33333325",
    "41b3de4355555555": "333333333.3333333", "41b3de4355555556": "333333333.3333334",
    "41b3de4355555557": "333333333.33333343", "becbf647612f3696": "-0.0000033333333333333333",
    "43143ff3c1cb0959": "1424953923781206.2",
}


@pytest.mark.parametrize("bits,expected", NUMBERS.items())
def test_numbers_as_rfc_8785_spells_them(bits, expected):
    assert jcs.number(struct.unpack(">d", bytes.fromhex(bits))[0]) == expected


def test_rfc_8785_section_3_2_2_example():
    source = ('{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], '
              '"string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}')
    expected = ('{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
                '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}')
    assert jcs.canonical(json.loads(source)) == expected.encode("utf-8")


def test_rfc_8785_section_3_2_3_sorts_keys_as_utf16_code_units():
    source = {"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh",
              "1": "One", "\U0001f600": "Emoji: Grinning Face", "\x80": "Control",
              "\u00f6": "Latin Small Letter O With Diaeresis"}
    keys = list(json.loads(jcs.canonical(source)))
    # the emoji (a surrogate pair, D83D DE00) sorts before U+FB33, though its code point is higher
    assert keys == ["\r", "1", "\x80", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 2**53 + 1, "\ud800", {1: "x"}, b"bytes"],
                         ids=["nan", "inf", "inexact-int", "surrogate", "int-key", "bytes"])
def test_values_without_a_canonical_form_are_refused(value):
    with pytest.raises(jcs.CanonicalError):
        jcs.canonical([value])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4), max_leaves=15)


@given(json_values)
@settings(max_examples=300, deadline=None)
def test_canonical_json_reads_back_to_the_same_values_and_is_a_fixed_point(value):
    """JCS numbers are doubles: read back as doubles, every value is what was encoded."""
    encoded = jcs.canonical(value)
    assert json.loads(encoded, parse_int=float) == json.loads(json.dumps(value), parse_int=float)
    assert jcs.canonical(jcs.loads(encoded)) == encoded


# --- the certificate -----------------------------------------------------------------------

CA = SigningKey.generate()
NOW = 1_800_000_000


def make(**over):
    fields = dict(name="web1", groups=("web",), lanes=("diag",), usage=("client",), noise_pub=x25519_keypair()[1],
                  sign_pub=None, not_before=NOW - 60, not_after=NOW + 86400)
    fields.update(over)
    return c.issue(CA, **fields)


def test_a_certificate_is_three_lines_header_canonical_body_signature():
    cert = make()
    lines = cert.text.split("\n")
    assert lines[0] == "ben-cert-v1" and lines[3] == "" and len(lines) == 4
    body = json.loads(lines[1])
    assert list(body) == sorted(body)
    assert body["version"] == 1 and len(body["serial"]) == 32 and body["usage"] == ["client"]
    assert body["issuer"] == c.b64url(__import__("hashlib").blake2b(CA.public.key, digest_size=32).digest())
    assert body["not_before"] == "2027-01-15T07:59:00Z" and "sign_pub" not in body
    assert "=" not in lines[2] and len(lines[2]) == 86
    CA.public.verify(b"ben-cert-v1\n" + lines[1].encode(), c.from_b64url(lines[2], "sig", 64))


def test_the_id_is_the_hash_of_the_body_alone():
    cert = make()
    import hashlib

    assert cert.id == c.b64url(hashlib.blake2b(cert.body, digest_size=32).digest())
    resigned = c.parse(c.sign_document(SigningKey.generate(), c.HEADER, cert.body))
    assert resigned.id == cert.id and resigned.signature != cert.signature


def test_parse_reads_back_what_issue_wrote():
    cert = make(sign_pub=SigningKey.generate().public.key, groups=(), usage=("server", "sign"))
    again = c.parse(cert.text)
    assert again == cert and again.text == cert.text


@pytest.mark.parametrize("change,reason", [
    (lambda b: b.replace(b'"version":1', b'"version":1.0'), "non-canonical"),
    (lambda b: b.replace(b",", b", ", 1), "non-canonical"),
    (lambda b: b.replace(b'"name":"web1"', b'"name":"w\\u00651"'), "non-canonical"),
    (lambda b: b'{"version":1,' + b[1:].replace(b',"version":1', b""), "non-canonical"),
    (lambda b: b.replace(b'"version":1', b'"version":2'), "malformed"),
    (lambda b: b.replace(b'"usage":["client"]', b'"usage":["root"]'), "malformed"),
    (lambda b: b.replace(b'"lanes":["diag"]', b'"lanes":["diag","diag"]'), "malformed"),
    (lambda b: b.replace(b'"version":1}', b'"version":1,"zz":1}'), "malformed"),
    (lambda b: b.replace(b"T07:59:00Z", b"T07:59:00+00:00"), "malformed"),
    (lambda b: b.replace(b"2027-01-15", b"2027-02-30"), "malformed"),
])
def test_a_body_signed_but_not_canonical_or_not_well_formed_is_refused(change, reason):
    """Signed by the CA itself: the refusal is about the encoding, not the signature."""
    body = change(make().body)
    with pytest.raises(c.Refused) as caught:
        c.parse(c.sign_document(CA, c.HEADER, body))
    assert caught.value.reason == reason


@pytest.mark.parametrize("text,why", [
    (lambda t: t[:-1], "does not end with a newline"),
    (lambda t: t + "\n", "has 4 lines"),
    (lambda t: t.replace("ben-cert-v1", "ben-cert-v2"), "does not start with the line ben-cert-v1"),
    (lambda t: t[:-1] + "=\n", "not unpadded base64url"),
    (lambda t: t.replace("\n", "\r\n"), "ben-cert-v1"),
])
def test_framing_is_exact(text, why):
    with pytest.raises(c.Malformed, match=why):
        c.parse(text(make().text))


flat_objects = st.dictionaries(
    st.text(),
    st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.text() | st.lists(st.text(), max_size=3)
    | st.floats(allow_nan=False, allow_infinity=False),
    max_size=6)


@given(flat_objects)
@settings(max_examples=500, deadline=None)
def test_the_fast_canonical_check_agrees_with_the_full_encoder(value):
    """is_canonical's C-encoder path must accept exactly the bytes canonical() writes."""
    try:
        full = jcs.canonical(value)
    except jcs.CanonicalError:
        return
    assert jcs.is_canonical(value, full)
    assert not jcs.is_canonical(value, full.replace(b":", b": ", 1)) or b":" not in full
    spelled_by_python = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    assert jcs.is_canonical(value, spelled_by_python) == (spelled_by_python == full)


GOLDEN = (
    'ben-cert-v1\n'
    '{"groups":["web"],"issuer":"nSTi7q8nwqCIpWSjL8A6iC3NmATbwNA6EZSR5UugyTM","lanes":["diag","event"],"name":"web1",'
    '"noise_pub":"CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk","not_after":"2027-01-22T08:00:00Z",'
    '"not_before":"2027-01-15T07:59:00Z","serial":"00112233445566778899aabbccddeeff",'
    '"sign_pub":"6kpsY-KcUgq-9VB7Ey7F-ZVHdq6-vnuSQh7qaRRG0iw","usage":["client","server"],"version":1}\n'
    'owayY8hDyw-OTR-VBzBYEqHpIzPGQk2LRWDEpvbq_KcRAYMQqcMKpGm8C4RLxERDVWU3WBOxRG1EqSeQrpuEBw\n'
)


def test_a_known_certificate_to_the_byte_checked_without_ben():
    """A fixed CA seed (0..31), node keys and times give exactly this text; and the text is
    checked with PyNaCl, hashlib and base64 alone, as another implementation would."""
    import base64
    import hashlib

    import nacl.signing

    from ben_cli.crypto.keys import derived_key_id
    from ben_cli.crypto.primitives import ed25519_keypair

    seed = bytes(range(32))
    _, public = ed25519_keypair(seed)
    made = c.issue(SigningKey(seed, derived_key_id(public)), name="web1", groups=("web",), lanes=("diag", "event"),
                   usage=("client", "server"), noise_pub=bytes([9]) * 32, sign_pub=ed25519_keypair(bytes([7]) * 32)[1],
                   not_before=1_800_000_000 - 60, not_after=1_800_604_800, serial="00112233445566778899aabbccddeeff")
    assert made.text == GOLDEN

    header, body, signature, end = GOLDEN.encode().split(b"\n")
    assert header == b"ben-cert-v1" and end == b""
    values = json.loads(body)
    assert json.dumps(values, separators=(",", ":"), sort_keys=True).encode() == body
    unpadded = base64.urlsafe_b64encode(hashlib.blake2b(public, digest_size=32).digest()).rstrip(b"=").decode()
    assert values["issuer"] == unpadded
    nacl.signing.VerifyKey(public).verify(b"ben-cert-v1\n" + body, base64.urlsafe_b64decode(signature + b"=="))
    certificate_id = base64.urlsafe_b64encode(hashlib.blake2b(body, digest_size=32).digest()).rstrip(b"=").decode()
    assert c.parse(GOLDEN).id == certificate_id == "JuclEGnSvbZsvs8limEVnH43UGslrZGRSQwgvdA0-RU"

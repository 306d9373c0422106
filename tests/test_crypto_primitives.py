"""The wrappers' own checks: lengths, HKDF, BLAKE2b, bech32, key files, minisign's formats."""

from __future__ import annotations

import io
import os

import nacl.hash
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ben_cli.crypto import bech32, keyfiles, minisign
from ben_cli.crypto import primitives as p
from ben_cli.crypto.keys import Identity, Recipient, SigningKey, derived_key_id, key_id_text


def test_hkdf_sha256_rfc5869_case_1():
    okm = p.hkdf_sha256(bytes([0x0B] * 22), bytes(range(13)), bytes(range(0xF0, 0xFA)), 42)
    assert okm.hex() == (
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    )


def test_hkdf_sha256_rfc5869_case_3_empty_salt_and_info():
    okm = p.hkdf_sha256(bytes([0x0B] * 22), b"", b"", 42)
    assert okm.hex() == "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"


@given(st.binary(max_size=300), st.integers(16, 64))
@settings(max_examples=50)
def test_blake2b_matches_libsodium(data, size):
    assert p.blake2b(data, size) == nacl.hash.blake2b(data, digest_size=size, encoder=nacl.encoding.RawEncoder)


def test_blake2b_mac_detects_change():
    key = os.urandom(32)
    tag = p.blake2b_mac(key, b"data")
    p.verify_blake2b_mac(key, b"data", tag)
    with pytest.raises(p.BadSignature):
        p.verify_blake2b_mac(key, b"datA", tag)
    with pytest.raises(p.Truncated):
        p.blake2b_mac(b"short", b"data")


@pytest.mark.parametrize(
    "call",
    [
        lambda: p.ed25519_verify(b"\x01" * 31, b"m", bytes(64)),
        lambda: p.ed25519_verify(SigningKey.generate().public.key, b"m", bytes(63)),
        lambda: p.x25519(bytes(32), bytes(31)),
        lambda: p.chacha_open(bytes(32), bytes(12), bytes(15)),
        lambda: p.chacha_seal(bytes(32), bytes(8), b""),
    ],
)
def test_truncated_inputs_are_named(call):
    with pytest.raises(p.Truncated, match="bytes"):
        call()


def test_x25519_low_order_point_is_an_error():
    with pytest.raises(p.LowOrderPoint, match="low-order"):
        p.x25519(os.urandom(32), bytes(32))


def test_bech32_round_trip_and_checksum():
    data = os.urandom(32)
    text = bech32.encode("age", data)
    assert bech32.decode(text) == ("age", data)
    assert bech32.decode(text.upper()) == ("age", data)
    broken = text[:-1] + ("q" if text[-1] != "q" else "p")
    with pytest.raises(bech32.Bech32Error, match="checksum"):
        bech32.decode(broken)
    with pytest.raises(bech32.Bech32Error, match="mixes"):
        bech32.decode(text[:5] + text[5:].upper())


def test_age_keys_round_trip():
    identity = Identity.generate()
    assert Identity.parse(identity.text).secret == identity.secret
    assert identity.text.startswith("AGE-SECRET-KEY-1")
    assert Recipient.parse(identity.recipient.text) == identity.recipient
    assert "secret" not in repr(identity).replace("secret=<hidden>", "")
    assert identity.text not in repr(identity)


def test_secret_key_repr_hides_the_seed():
    key = SigningKey.generate()
    assert key.seed.hex() not in repr(key) and "<hidden>" in repr(key)


def test_minisign_key_id_is_spelled_like_minisign():
    assert key_id_text(bytes.fromhex("06982ff346f54e31")) == "314EF546F32F9806"


def test_minisign_secret_key_round_trip_with_and_without_passphrase():
    key = SigningKey.generate()
    plain = minisign.secret_key_text(key)
    assert not minisign.secret_key_is_encrypted(plain)
    assert minisign.parse_secret_key(plain).seed == key.seed
    locked = minisign.secret_key_text(key, b"pw", "interactive")
    assert minisign.secret_key_is_encrypted(locked)
    assert minisign.parse_secret_key(locked, lambda: b"pw").seed == key.seed
    with pytest.raises(p.CryptoError, match="wrong passphrase"):
        minisign.parse_secret_key(locked, lambda: b"nope")
    with pytest.raises(p.CryptoError, match="no passphrase"):
        minisign.parse_secret_key(locked)


def test_minisign_signature_covers_file_and_trusted_comment():
    key = SigningKey.generate()
    text = minisign.sign(key, io.BytesIO(b"payload"), "trusted")
    assert minisign.verify(key.public, io.BytesIO(b"payload"), text) == "trusted"
    with pytest.raises(p.BadSignature, match="altered"):
        minisign.verify(key.public, io.BytesIO(b"payloaD"), text)
    forged = text.replace("trusted comment: trusted", "trusted comment: forged")
    with pytest.raises(p.BadSignature, match="comment"):
        minisign.verify(key.public, io.BytesIO(b"payload"), forged)
    other = SigningKey.generate()
    with pytest.raises(p.BadSignature, match="made by key"):
        minisign.verify(other.public, io.BytesIO(b"payload"), text)
    with pytest.raises(p.Truncated):
        minisign.verify(key.public, io.BytesIO(b"payload"), "\n".join(text.splitlines()[:2]))


def test_generated_key_id_is_derived_from_the_public_key():
    key = SigningKey.generate()
    assert key.key_id == derived_key_id(key.public.key)


def test_secret_files_are_born_0600_and_never_overwritten(tmp_path):
    info = keyfiles.generate("ed25519", tmp_path / "k")
    assert oct((tmp_path / "k.key").stat().st_mode)[-3:] == "600"
    assert info.public in (tmp_path / "k.pub").read_text()
    with pytest.raises(keyfiles.KeyFileError, match="already exists"):
        keyfiles.generate("ed25519", tmp_path / "k")
    keyfiles.generate("x25519", tmp_path / "k", force=True)
    assert (tmp_path / "k.pub").read_text().startswith("age1")


def test_world_writable_folder_is_refused(tmp_path):
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o777)
    with pytest.raises(keyfiles.KeyFileError, match="world-writable"):
        keyfiles.generate("ed25519", folder / "k")
    assert not (folder / "k.key").exists()


def test_secret_file_readable_by_others_is_refused(tmp_path):
    keyfiles.generate("ed25519", tmp_path / "k")
    (tmp_path / "k.key").chmod(0o644)
    with pytest.raises(keyfiles.KeyFileError, match="chmod 600"):
        keyfiles.load_signing_key(tmp_path / "k.key")


def test_x25519_key_with_passphrase_is_an_age_encrypted_identity(tmp_path):
    keyfiles.generate("x25519", tmp_path / "b", passphrase=b"pw", cost="interactive")
    text = (tmp_path / "b.key").read_text()
    assert text.startswith("-----BEGIN AGE ENCRYPTED FILE-----") and "AGE-SECRET-KEY" not in text
    [identity] = keyfiles.load_identities(tmp_path / "b.key", lambda: b"pw")
    assert identity.recipient.text == (tmp_path / "b.pub").read_text().strip()
    with pytest.raises(keyfiles.KeyFileError, match="wrong passphrase"):
        keyfiles.load_identities(tmp_path / "b.key", lambda: b"other")


def test_show_never_prints_the_secret(tmp_path):
    keyfiles.generate("x25519", tmp_path / "b")
    secret_line = (tmp_path / "b.key").read_text().splitlines()[-1]
    shown = "\n".join(keyfiles.describe(str(tmp_path / "b.key")).lines())
    assert secret_line not in shown and "age1" in shown

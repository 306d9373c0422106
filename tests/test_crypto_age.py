"""Sealing in the age format: round trips, and any change, deletion or truncation refused."""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ben_cli.crypto import age
from ben_cli.crypto.keys import Identity

ME, YOU = Identity.generate(), Identity.generate()
PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# sizes around the 64 KiB chunk edges matter most
sizes = st.sampled_from([0, 1, 100, age.CHUNK - 1, age.CHUNK, age.CHUNK + 1, 2 * age.CHUNK]) | st.integers(0, 3000)


@given(sizes, st.booleans())
@settings(max_examples=25, deadline=None)
def test_round_trip_to_several_recipients(size, armor):
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    sealed = age.encrypt_bytes(data, [ME.recipient, YOU.recipient], armor=armor)
    assert age.decrypt_bytes(sealed, [YOU]) == data
    assert age.decrypt_bytes(sealed, [ME]) == data
    with pytest.raises(age.NoMatch):
        age.decrypt_bytes(sealed, [Identity.generate()])


def _sealed(size: int) -> bytes:
    return age.encrypt_bytes(b"x" * size, [ME.recipient])


@given(st.integers(0, 2 * age.CHUNK + 10), st.data())
@PROPERTY
def test_any_single_byte_change_is_refused(size, data):
    blob = bytearray(_sealed(size))
    at = data.draw(st.integers(0, len(blob) - 1))
    blob[at] = data.draw(st.integers(0, 255).filter(lambda b: b != blob[at]))
    with pytest.raises(age.AgeError):
        age.decrypt_bytes(bytes(blob), [ME])


@given(st.integers(0, 2 * age.CHUNK + 10), st.data())
@PROPERTY
def test_any_deletion_or_truncation_is_refused(size, data):
    blob = _sealed(size)
    at = data.draw(st.integers(0, len(blob) - 1))
    with pytest.raises(age.AgeError):
        age.decrypt_bytes(blob[:at] + blob[at + 1 :], [ME])
    with pytest.raises(age.AgeError):
        age.decrypt_bytes(blob[:at], [ME])


@given(st.data())
@settings(max_examples=30, deadline=None)
def test_reordered_chunks_are_refused(data):
    blob = _sealed(3 * age.CHUNK + 5)
    header_end = blob.index(b"\n", blob.index(b"\n---") + 1) + 1 + age.NONCE_BYTES
    size = age.CHUNK + 16
    chunks = [blob[header_end + i * size : header_end + (i + 1) * size] for i in range(4)]
    i, j = data.draw(st.permutations(range(4)).filter(lambda p: list(p) != [0, 1, 2, 3]))[:2]
    order = list(range(4))
    order[i], order[j] = order[j], order[i]
    with pytest.raises(age.PayloadError):
        age.decrypt_bytes(blob[:header_end] + b"".join(chunks[k] for k in order), [ME])


def test_decrypt_to_writes_nothing_when_the_end_is_missing():
    blob = _sealed(3 * age.CHUNK)
    sink = io.BytesIO()
    with pytest.raises(age.PayloadError):
        age.decrypt_to(io.BufferedReader(io.BytesIO(blob[:-100])), sink, [ME])
    assert sink.getvalue() == b""


def test_passphrase_round_trip_and_mismatch():
    sealed = age.encrypt_bytes(b"secret", [age.Passphrase(b"pw", log_n=10)])
    assert age.decrypt_bytes(sealed, [age.Passphrase(b"pw")]) == b"secret"
    with pytest.raises(age.NoMatch):
        age.decrypt_bytes(sealed, [age.Passphrase(b"other")])


def test_no_match_says_what_was_wrong_in_the_terms_of_what_was_given():
    """A wrong passphrase says so, not "sealed to other recipients" (issue 13, item 16)."""
    to_pass = age.encrypt_bytes(b"secret", [age.Passphrase(b"pw", log_n=10)])
    with pytest.raises(age.NoMatch, match=r"^the passphrase is wrong \("):
        age.decrypt_bytes(to_pass, [age.Passphrase(b"other")])
    with pytest.raises(age.NoMatch, match=r"^this file was sealed to a passphrase, not to a key: open it with --passphrase$"):
        age.decrypt_bytes(to_pass, [Identity.generate()])
    to_key = age.encrypt_bytes(b"secret", [Identity.generate().recipient])
    with pytest.raises(age.NoMatch, match=r"^this file was sealed to recipients' keys, not to a passphrase: open it with --key"):
        age.decrypt_bytes(to_key, [age.Passphrase(b"pw")])
    with pytest.raises(age.NoMatch, match=r"^none of the given keys can open this file \(it was sealed to other recipients\)$"):
        age.decrypt_bytes(to_key, [Identity.generate()])


def test_armor_lines_are_64_columns():
    text = age.encrypt_bytes(b"y" * 1000, [ME.recipient], armor=True).decode()
    lines = text.splitlines()
    assert lines[0] == age.ARMOR_BEGIN.decode() and lines[-1] == age.ARMOR_END.decode()
    assert all(len(line) == 64 for line in lines[1:-2]) and 0 < len(lines[-2]) <= 64

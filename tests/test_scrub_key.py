"""The pseudonym key file has one format (hex text, as ben writes it); anything else is refused."""

from __future__ import annotations

import os
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ben_cli.scrub.keys import MIN_KEY_BYTES, HmacKeyError, load_or_create_key, read_key

from .conftest import run_ben


def _key_file(tmp_path, data: bytes):
    p = tmp_path / "hmac.key"
    p.write_bytes(data)
    os.chmod(p, 0o600)
    return p


def test_the_key_ben_creates_reads_back(tmp_path):
    p = tmp_path / "k" / "hmac.key"
    key = load_or_create_key(p)
    assert len(key) == 32 and read_key(p) == key
    assert p.read_bytes() == key.hex().encode() + b"\n"


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"00" * 31 + b"0g\n", "is not hex: 'g' at offset 63"),  # one non-hex character
        (b"0" * 63 + b"\n", "has an odd number of hex digits (63)"),
        (b"twenty raw bytes!!!!", "is not hex: 't' at offset 0"),  # 20 raw bytes
        (bytes(range(200, 232)), "is not hex: byte 0xc8 at offset 0"),  # binary: was a UnicodeDecodeError
        (b"\n", "is empty"),
        (b"00" * 15 + b"\n", "holds 15 bytes; at least 16 are needed"),
    ],
)
def test_anything_but_hex_text_is_refused_naming_the_file(tmp_path, data, says):
    p = _key_file(tmp_path, data)
    with pytest.raises(HmacKeyError) as refused:
        read_key(p)
    msg = str(refused.value)
    assert msg.startswith(f"key file {p} ") and says in msg and "\n" not in msg
    assert refused.value.status == 1


@given(st.binary(min_size=MIN_KEY_BYTES, max_size=64), st.sampled_from([b"", b"\n", b"\r\n", b"  \n"]))
def test_hex_in_either_case_reads_as_its_bytes(tmp_path_factory, key, end):
    p = _key_file(tmp_path_factory.mktemp("k"), key.hex().upper().encode() + end)
    assert read_key(p) == key


@given(st.binary(min_size=1, max_size=80))
def test_any_other_content_is_refused_never_read_as_raw_bytes(tmp_path_factory, data):
    stripped = data.strip(b" \t\r\n")
    is_hex = bool(stripped) and all(chr(c) in string.hexdigits for c in stripped)
    p = _key_file(tmp_path_factory.mktemp("k"), data)
    if is_hex and len(stripped) % 2 == 0 and len(stripped) >= 2 * MIN_KEY_BYTES:
        assert read_key(p) == bytes.fromhex(stripped.decode())
    else:
        with pytest.raises(HmacKeyError, match=f"^key file {p} "):
            read_key(p)


def test_cli_binary_key_is_one_line_exit_1_before_any_output(tmp_path):
    p = _key_file(tmp_path, os.urandom(32) + b"\xff")
    res = run_ben("scrub", "--key", str(p), input=b'{"body":"bob@example.com"}\n')
    assert res.returncode == 1 and res.stdout == b""
    assert res.stderr.startswith(f"ben scrub: key file {p} is not hex: ".encode())
    assert res.stderr.count(b"\n") == 1

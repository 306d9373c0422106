"""Inputs the fuzz targets (fuzz/) found that broke a parser's contract, each kept as a test.

A parser returns a value or raises the project's error (ben_cli/errors.py) with a message that
says what is wrong; these inputs once escaped as another exception (a traceback for the user).
Each test is listed in its target's ``fixed`` (fuzz/targets.py) and so in fuzz/results/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ben_cli.crypto import keyfiles, minisign
from ben_cli.crypto.keys import SigningKey
from ben_cli.crypto.primitives import CryptoError

from .conftest import run_ben

NOT_UTF8 = b"untrusted comment: \xff\xfe\nRUQ\xfd\n"


def test_a_minisign_signature_file_that_is_not_utf8_is_refused_by_name(tmp_path: Path):
    signed = tmp_path / "f"
    signed.write_bytes(b"x")
    (tmp_path / "f.minisig").write_bytes(NOT_UTF8)
    with pytest.raises(CryptoError, match=r"f\.minisig: not a minisign signature \(not UTF-8 text: byte 19\)"):
        minisign.verify_file(SigningKey.generate().public, signed)


def test_a_key_file_that_is_not_utf8_is_refused_by_name(tmp_path: Path):
    key = tmp_path / "bad.key"
    key.write_bytes(NOT_UTF8)
    key.chmod(0o600)
    with pytest.raises(keyfiles.KeyFileError, match=r"bad\.key: not a key file \(not UTF-8 text: byte 19\)"):
        keyfiles.load_signing_key(key)
    pub = tmp_path / "bad.pub"
    pub.write_bytes(NOT_UTF8)
    with pytest.raises(keyfiles.KeyFileError, match=r"bad\.pub: not a key file"):
        keyfiles.load_verify_key(str(pub))


def test_ben_key_verify_with_a_binary_signature_says_so_without_a_traceback(tmp_path: Path):
    done = run_ben("key", "gen", "--out", str(tmp_path / "k"), cwd=tmp_path)
    assert done.returncode == 0
    (tmp_path / "f").write_bytes(b"x")
    (tmp_path / "f.minisig").write_bytes(NOT_UTF8)
    done = run_ben("key", "verify", "-P", str(tmp_path / "k.pub"), str(tmp_path / "f"), cwd=tmp_path)
    assert done.returncode == 1
    assert b"Traceback" not in done.stderr
    assert b"not a minisign signature (not UTF-8 text" in done.stderr

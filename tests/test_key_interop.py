"""Interoperation with the real tools, both ways: minisign (signatures, keys) and age (sealing)."""

from __future__ import annotations

import os
import subprocess

import pytest

from .conftest import run_ben


def tool(*args: str, input: bytes | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), input=input, capture_output=True, env={**os.environ, **(env or {})})


@pytest.fixture
def work(tmp_path):
    os.chmod(tmp_path, 0o700)
    (tmp_path / "data.bin").write_bytes(os.urandom(150_000))
    return tmp_path


def test_minisign_verifies_ben_signatures_with_ben_keys(work):
    run_ben("key", "gen", "--out", str(work / "k"), check=True)
    run_ben("key", "sign", "-k", str(work / "k.key"), "-t", "from ben", str(work / "data.bin"), check=True)
    done = tool("minisign", "-V", "-p", str(work / "k.pub"), "-m", str(work / "data.bin"))
    assert done.returncode == 0, done.stderr
    assert b"Trusted comment: from ben" in done.stdout
    (work / "data.bin").write_bytes(b"changed")
    assert tool("minisign", "-V", "-p", str(work / "k.pub"), "-m", str(work / "data.bin")).returncode == 1


def test_ben_verifies_minisign_signatures_hashed_and_legacy(work):
    tool("minisign", "-G", "-W", "-p", str(work / "m.pub"), "-s", str(work / "m.key"))
    for flags in ([], ["-l"]):  # prehashed (ED) and legacy (Ed) signatures
        done = tool("minisign", "-S", *flags, "-s", str(work / "m.key"), "-m", str(work / "data.bin"), "-t", "mini")
        assert done.returncode == 0, done.stderr
        ok = run_ben("key", "verify", "--pub", str(work / "m.pub"), str(work / "data.bin"))
        assert ok.returncode == 0 and b"trusted comment: mini" in ok.stderr


def test_ben_signs_with_a_passphrase_protected_minisign_key_and_back(work):
    tool("minisign", "-G", "-p", str(work / "m.pub"), "-s", str(work / "m.key"), input=b"pw\npw\n")
    done = run_ben("key", "sign", "-k", str(work / "m.key"), str(work / "data.bin"), env={"BEN_PASSPHRASE": "pw"})
    assert done.returncode == 0, done.stderr
    assert tool("minisign", "-Vq", "-p", str(work / "m.pub"), "-m", str(work / "data.bin")).returncode == 0
    # and minisign signs with a key ben encrypted
    run_ben("key", "gen", "--out", str(work / "b"), "--passphrase", "--cost", "interactive",
            env={"BEN_PASSPHRASE": "pw2"}, check=True)
    done = tool("minisign", "-S", "-s", str(work / "b.key"), "-m", str(work / "data.bin"), "-x", str(work / "s"), input=b"pw2\n")
    assert done.returncode == 0, done.stderr
    assert run_ben("key", "verify", "--pub", str(work / "b.pub"), "--sig", str(work / "s"), str(work / "data.bin")).returncode == 0


@pytest.mark.parametrize("armor", [False, True])
def test_age_opens_what_ben_seals(work, armor):
    run_ben("key", "gen", "--type", "x25519", "--out", str(work / "box"), check=True)
    sealed = work / "s.age"
    args = ["key", "seal", "--to", str(work / "box.pub"), "-o", str(sealed), str(work / "data.bin")]
    run_ben(*args, *(["--armor"] if armor else []), check=True)
    done = tool("age", "-d", "-i", str(work / "box.key"), str(sealed))
    assert done.returncode == 0, done.stderr
    assert done.stdout == (work / "data.bin").read_bytes()


@pytest.mark.parametrize("armor", [False, True])
def test_ben_opens_what_age_seals(work, armor):
    tool("age-keygen", "-o", str(work / "id.txt"))
    recipient = tool("age-keygen", "-y", str(work / "id.txt")).stdout.decode().strip()
    sealed = tool("age", "-r", recipient, *(["-a"] if armor else []), str(work / "data.bin")).stdout
    done = run_ben("key", "open", "-k", str(work / "id.txt"), input=sealed)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (work / "data.bin").read_bytes()
    # an age1 recipient string (not a file) works for ben's seal, and age opens it
    again = run_ben("key", "seal", "--to", recipient, str(work / "data.bin"), check=True).stdout
    (work / "again.age").write_bytes(again)
    assert tool("age", "-d", "-i", str(work / "id.txt"), str(work / "again.age")).stdout == (work / "data.bin").read_bytes()


def test_age_refuses_what_ben_refuses(work):
    run_ben("key", "gen", "--type", "x25519", "--out", str(work / "box"), check=True)
    sealed = run_ben("key", "seal", "--to", str(work / "box.pub"), str(work / "data.bin"), check=True).stdout
    (work / "cut.age").write_bytes(sealed[:-1])
    assert tool("age", "-d", "-i", str(work / "box.key"), str(work / "cut.age")).returncode != 0
    assert run_ben("key", "open", "-k", str(work / "box.key"), str(work / "cut.age")).returncode == 1

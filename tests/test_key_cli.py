"""``ben key`` in-process and as a process: flags, files, exit statuses, messages."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from .conftest import run_ben


@pytest.fixture
def keys(tmp_path, cli):
    assert cli(["key", "gen", "--out", str(tmp_path / "sig")]).exit_code == 0
    assert cli(["key", "gen", "--type", "x25519", "--out", str(tmp_path / "box")]).exit_code == 0
    return tmp_path


def test_gen_prints_public_part_only(tmp_path, cli):
    result = cli(["key", "gen", "--out", str(tmp_path / "k")])
    assert result.exit_code == 0, result.stderr
    secret = (tmp_path / "k.key").read_text().splitlines()[1]
    assert secret not in result.stdout and secret not in result.stderr
    assert "fingerprint: " in result.stdout and "key id: " in result.stdout
    assert oct((tmp_path / "k.key").stat().st_mode)[-3:] == "600"


def test_gen_refuses_world_writable_folder(tmp_path):
    (tmp_path / "w").mkdir()
    (tmp_path / "w").chmod(0o777)
    result = run_ben("key", "gen", "--out", str(tmp_path / "w" / "k"))
    assert result.returncode == 1
    assert result.stderr.decode() == f"ben key gen: refusing to write a secret key in {tmp_path / 'w'}: the folder is world-writable\n"


def test_gen_with_passphrase_from_environment(tmp_path, cli, monkeypatch):
    monkeypatch.setenv("BEN_PASSPHRASE", "correct horse")
    result = cli(["key", "gen", "--out", str(tmp_path / "k"), "--passphrase", "--cost", "interactive"])
    assert result.exit_code == 0, result.stderr
    assert "encrypted" in (tmp_path / "k.key").read_text().splitlines()[0]
    (tmp_path / "f").write_bytes(b"data")
    assert cli(["key", "sign", "-k", str(tmp_path / "k.key"), str(tmp_path / "f")]).exit_code == 0
    result = run_ben("key", "sign", "-k", str(tmp_path / "k.key"), str(tmp_path / "f"), env={"BEN_PASSPHRASE": "wrong"})
    assert result.returncode == 1 and result.stderr.decode() == f"ben key sign: {tmp_path / 'k.key'}: wrong passphrase for this key\n"


def test_sign_and_verify_a_file(keys, cli):
    target = keys / "report.txt"
    target.write_bytes(b"quarterly numbers\n")
    assert cli(["key", "sign", "-k", str(keys / "sig.key"), "-t", "release 1", str(target)]).exit_code == 0
    result = cli(["key", "verify", "--pub", str(keys / "sig.pub"), str(target)])
    assert result.exit_code == 0 and "trusted comment: release 1" in result.stderr
    target.write_bytes(b"quarterly numbers, edited\n")
    result = run_ben("key", "verify", "--pub", str(keys / "sig.pub"), str(target))
    assert result.returncode == 1
    assert result.stderr.decode() == (f"ben key verify: {target}: signature does not match the file: "
                                      "the file or the signature was altered\n")


def test_seal_and_open_through_files(keys, cli):
    sealed = keys / "s.age"
    result = cli(["key", "seal", "--to", str(keys / "box.pub"), "-o", str(sealed)], input=b"top secret\n")
    assert result.exit_code == 0, result.stderr
    assert sealed.read_bytes().startswith(b"age-encryption.org/v1\n")
    result = cli(["key", "open", "--key", str(keys / "box.key"), str(sealed)])
    assert result.exit_code == 0 and result.stdout_bytes == b"top secret\n"


def test_open_of_truncated_input_writes_nothing(keys):
    recipient = (keys / "box.pub").read_text().strip()
    sealed = run_ben("key", "seal", "--to", recipient, input=b"z" * 200_000, check=True).stdout
    out = keys / "plain"
    done = run_ben("key", "open", "-k", str(keys / "box.key"), "-o", str(out), input=sealed[:-10])
    assert done.returncode == 1 and b"does not authenticate" in done.stderr
    assert not out.exists()
    done = run_ben("key", "open", "-k", str(keys / "box.key"), input=sealed[:-10])
    assert done.returncode == 1 and done.stdout == b""


def test_stream_sign_verify_pipeline(keys):
    lines = b"".join(orjson.dumps({"name": "cpu", "value": i}) + b"\n" for i in range(25))
    signed = run_ben("key", "sign", "--stream", "-k", str(keys / "sig.key"), "--every", "10", input=lines + b"not json\n")
    assert signed.returncode == 0
    assert b"read 26, wrote 25, rejected 1, checkpoints 3" in signed.stderr
    verified = run_ben("key", "verify", "--stream", "--pub", str(keys / "sig.pub"), input=signed.stdout)
    assert verified.returncode == 0 and verified.stdout == signed.stdout
    tampered = signed.stdout.replace(b'"value":7', b'"value":8')
    verified = run_ben("key", "verify", "--stream", "--pub", str(keys / "sig.pub"), input=tampered)
    assert verified.returncode == 1 and b"line 8: altered" in verified.stderr
    # line 8 comes before the first checkpoint (line 10), so nothing at all was released
    assert verified.stdout == b""


def test_stream_sign_strict_stops_at_bad_line(keys):
    done = run_ben("key", "sign", "--stream", "--strict", "-k", str(keys / "sig.key"), input=b'{"a":1}\n[1]\n')
    assert done.returncode == 1 and b"line 2" in done.stderr


def test_show_accepts_strings_and_files(keys, cli):
    pub_line = (keys / "sig.pub").read_text().splitlines()[1]
    by_string = cli(["key", "show", pub_line]).stdout
    assert by_string == cli(["key", "show", str(keys / "sig.pub")]).stdout == cli(["key", "show", str(keys / "sig.key")]).stdout
    result = run_ben("key", "show", "age1notarecipient")
    assert result.returncode == 1 and result.stderr.startswith(b"ben key show: ") and b"not an age recipient" in result.stderr
    assert result.stderr.count(b"\n") == 1


def test_usage_errors_exit_2(cli, keys):
    assert cli(["key", "gen", "--out", "x", "--type", "rsa"]).exit_code == 2
    assert cli(["key", "gen"]).exit_code == 2
    for args in (["seal"], ["sign", "-k", str(keys / "sig.key")], ["seal", "--to", str(keys / "box.pub"), "a", "b"],
                 ["sign", "-k", str(keys / "sig.key"), "-t", "two\nlines", str(keys / "sig.pub")]):
        done = run_ben("key", *args, input=b"")
        assert done.returncode == 2 and done.stderr.startswith(f"ben key {args[0]}: ".encode()) and done.stderr.count(b"\n") == 1, args


def test_short_flags_mean_one_thing(keys, cli):
    assert cli(["key", "gen", "-t", "x25519", "--out", str(keys / "t")]).exit_code == 2  # -t is --trusted-comment
    signed = run_ben("key", "sign", "--stream", "-k", str(keys / "sig.key"), input=b'{"a":1}\n', check=True).stdout
    pub = (keys / "sig.pub").read_text().splitlines()[1]
    assert run_ben("key", "verify", "--stream", "-P", pub, input=signed).stdout == signed
    assert cli(["key", "verify", "--stream", "-p", pub], input=signed).exit_code == 2


# -- passphrases come from BEN_PASSPHRASE or the terminal, never from stdin (issue 13, item 10) --

def _no_terminal(*args: str, input: bytes, env_extra: dict | None = None):
    """``ben ARGS`` in a new session (so no controlling terminal) without BEN_PASSPHRASE."""
    env = {k: v for k, v in os.environ.items() if k != "BEN_PASSPHRASE"}
    ben = Path(sys.executable).with_name("ben")
    return subprocess.run([str(ben), *args], input=input, capture_output=True, start_new_session=True,
                          env={**env, "BEN_LOAD_PLUGINS": "", **(env_extra or {})}, timeout=60)


NO_TERMINAL = ("a passphrase is needed and there is no terminal to ask on (it is never read from stdin): "
               "set BEN_PASSPHRASE\n")


def test_seal_passphrase_without_terminal_fails_and_leaves_stdin_unread(tmp_path):
    result = _no_terminal("key", "seal", "--passphrase", input=b"hunter2\nthe data to seal\n")
    assert result.returncode == 1 and result.stdout == b""
    assert result.stderr.decode() == "ben key seal: " + NO_TERMINAL


def test_sign_stream_with_locked_key_without_terminal_fails_before_any_record(tmp_path):
    made = _no_terminal("key", "gen", "--out", str(tmp_path / "k"), "--passphrase", "--cost", "interactive", "-q",
                        input=b"", env_extra={"BEN_PASSPHRASE": "pw"})
    assert made.returncode == 0, made.stderr
    result = _no_terminal("key", "sign", "--stream", "-k", str(tmp_path / "k.key"), input=b'"pw"\n{"a":1}\n')
    assert result.returncode == 1 and result.stdout == b""
    assert result.stderr.decode() == f"ben key sign: {tmp_path / 'k.key'}: " + NO_TERMINAL


def test_passphrase_is_read_from_the_terminal_while_stdin_is_the_data(tmp_path):
    """On a real terminal (a pty as the controlling terminal), the passphrase is typed there and
    every byte of stdin is sealed."""
    data = tmp_path / "data"
    data.write_bytes(b"hunter2\nthe data to seal\n")
    sealed = tmp_path / "sealed.age"
    env = {k: v for k, v in os.environ.items() if k != "BEN_PASSPHRASE"}
    ben = str(Path(sys.executable).with_name("ben"))
    pid, master = pty.fork()
    if pid == 0:  # the child: the pty is its controlling terminal; stdin and stdout are files
        os.dup2(os.open(data, os.O_RDONLY), 0)
        os.dup2(os.open(sealed, os.O_WRONLY | os.O_CREAT, 0o600), 1)
        os.execve(ben, [ben, "key", "seal", "--passphrase"], env)
    seen = b""
    for answer in (b"pw\n", b"pw\n"):
        while b"Passphrase" not in seen[-40:]:
            seen += os.read(master, 1024)
        os.write(master, answer)
        seen = b""
    while True:  # drain the terminal until the child closes it
        try:
            if not os.read(master, 1024):
                break
        except OSError:
            break
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    from ben_cli.crypto import age

    assert age.decrypt_bytes(sealed.read_bytes(), [age.Passphrase(b"pw")]) == b"hunter2\nthe data to seal\n"


def test_verify_stream_refuses_an_empty_stream_unless_allowed(keys):
    """A signed stream cut to nothing was "0 records verified", exit 0 (issue 13, item 11)."""
    pub = str(keys / "sig.pub")
    result = run_ben("key", "verify", "--stream", "--pub", pub, input=b"\n\n")  # blank lines carry no record
    assert result.returncode == 1 and result.stdout == b""
    assert result.stderr.decode().startswith("ben key verify: <stdin>: truncated: the input holds no signed record")
    result = run_ben("key", "verify", "--stream", "--allow-empty", "--pub", pub, input=b"")
    assert result.returncode == 0 and result.stdout == b""

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


# -- sign --stream -o: a file that survives a kill (issue 13, item 4) -------------------------------


def _records(start: int, n: int) -> bytes:
    return b"".join(b'{"name":"e","value":%d,"body":"record number %d"}\n' % (i, i) for i in range(start, start + n))


def _sign_into(keys: Path, out: Path, data: bytes, *extra: str) -> subprocess.CompletedProcess:
    return run_ben("key", "sign", "--stream", "-k", str(keys / "sig.key"), "-o", str(out), *extra, input=data)


def _verified(keys: Path, out: Path) -> list[dict]:
    result = run_ben("key", "verify", "--stream", "-P", str(keys / "sig.pub"), str(out))
    assert result.returncode == 0, result.stderr.decode()
    return [orjson.loads(line) for line in result.stdout.splitlines()]


@pytest.mark.parametrize("torn", [False, True], ids=["as-killed", "torn-last-line"])
def test_sign_stream_o_killed_then_rerun_verifies_and_loses_nothing_silently(keys, torn):
    """A kill left records no checkpoint covers (and, on a full disk, half a line) at the end of
    the file; the rerun cuts them to --rejects, continues the chain from the last checkpoint, and
    the whole file verifies as one stream."""
    out, rejects = keys / "signed.ndjson", keys / "rejects.ndjson"
    ben = Path(sys.executable).with_name("ben")
    proc = subprocess.Popen([str(ben), "key", "sign", "--stream", "-k", str(keys / "sig.key"), "-o", str(out),
                             "--every", "1000"], stdin=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env={**os.environ, "BEN_LOAD_PLUGINS": ""})
    sent = 0
    while not out.exists() or out.stat().st_size < (1 << 20):  # until at least one block is written
        proc.stdin.write(_records(sent, 5000))
        proc.stdin.flush()
        sent += 5000
    proc.kill()
    proc.wait()
    proc.stdin.close()
    if torn:
        with open(out, "r+b") as fh:
            fh.truncate(os.path.getsize(out) - 17)  # what a full disk leaves: half a line
    left = out.read_bytes().splitlines(keepends=True)
    whole = [orjson.loads(line) for line in left if line.endswith(b"\n")]
    assert whole and "ck" not in whole[-1]["sig"] or not whole[-1]["sig"]["ck"]["end"]  # killed mid-stream

    result = _sign_into(keys, out, _records(10**6, 100), "--rejects", str(rejects))
    assert result.returncode == 0, result.stderr.decode()
    records = _verified(keys, out)
    cut = [orjson.loads(r) for r in rejects.read_bytes().splitlines()]
    assert all(r["reason"].endswith("signed by a run that ended before a checkpoint covered it; cut from the output")
               for r in cut)
    covered = len(whole) - len(cut)
    assert covered > 0 and covered % 1000 == 0  # cut back to a checkpoint
    assert [r["value"] for r in records] == list(range(covered)) + list(range(10**6, 10**6 + 100))
    assert [orjson.loads(r["raw"])["value"] for r in cut] == list(range(covered, len(whole)))  # nothing lost in silence
    assert all(left[r["line"] - 1].rstrip(b"\n").decode() == r["raw"] for r in cut)  # each names its line
    assert [r["sig"]["seq"] for r in records] == list(range(covered + 100))  # one stream, one chain
    assert f"cut {len(cut)}" in result.stderr.decode()


def test_sign_stream_o_appends_run_after_run_as_one_stream(keys):
    out = keys / "signed.ndjson"
    for run in range(3):
        assert _sign_into(keys, out, _records(run * 10, 10), "--every", "4").returncode == 0
    records = _verified(keys, out)
    assert [r["value"] for r in records] == list(range(30))
    assert len({r["sig"]["ck"]["id"] for r in records if "ck" in r["sig"]}) == 1
    assert [r["sig"]["ck"]["end"] for r in records if "ck" in r["sig"]][-1] is True
    # the verifier still refuses a stream that starts over after an end
    twice = keys / "twice.ndjson"
    twice.write_bytes(out.read_bytes() * 2)
    result = run_ben("key", "verify", "--stream", "-P", str(keys / "sig.pub"), str(twice))
    assert result.returncode == 1 and b"inserted" in result.stderr


def test_sign_stream_o_refuses_a_file_it_cannot_continue_and_cuts_nothing(keys, tmp_path):
    foreign = tmp_path / "foreign.ndjson"
    foreign.write_bytes(_records(0, 5))
    result = _sign_into(keys, foreign, _records(5, 1))
    assert result.returncode == 1 and b"not a record ben signed" in result.stderr
    assert foreign.read_bytes() == _records(0, 5)
    other = tmp_path / "other"
    assert run_ben("key", "gen", "--out", str(other)).returncode == 0
    theirs = tmp_path / "theirs.ndjson"
    assert run_ben("key", "sign", "--stream", "-k", str(other) + ".key", "-o", str(theirs), input=_records(0, 3)).returncode == 0
    before = theirs.read_bytes()
    result = _sign_into(keys, theirs, _records(3, 1))
    assert result.returncode == 1 and b"does not verify with this key" in result.stderr
    assert theirs.read_bytes() == before
    assert run_ben("key", "sign", "-k", str(keys / "sig.key"), "-o", str(theirs), str(foreign)).returncode == 2

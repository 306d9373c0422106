"""Crash-safe state files: whole-or-absent replacement, secret modes from birth, exclusive locks."""

import subprocess
import sys

import pytest

from ben_cli.atomic import Busy, exclusive_lock, write_atomic


def test_replaces_whole_file_with_the_asked_mode(tmp_path):
    target = tmp_path / "state.json"
    target.write_bytes(b"old")
    write_atomic(target, b"new contents", mode=0o600)
    assert target.read_bytes() == b"new contents"
    assert oct(target.stat().st_mode)[-3:] == "600"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temporary file left behind


def test_a_failure_while_writing_keeps_the_old_file(tmp_path):
    target = tmp_path / "state.json"
    target.write_bytes(b"old")

    def fill(fh):
        fh.write(b"half")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        write_atomic(target, fill)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_a_second_process_cannot_take_the_lock(tmp_path):
    target = tmp_path / "offsets.json"
    probe = (
        "import sys; from pathlib import Path; from ben_cli.atomic import Busy, exclusive_lock\n"
        "try:\n"
        "    with exclusive_lock(Path(sys.argv[1]), 'a test'):\n"
        "        print('got it')\n"
        "except Busy as exc:\n"
        "    print(exc)\n"
    )
    with exclusive_lock(target, "this test"):
        out = subprocess.run([sys.executable, "-c", probe, str(target)], capture_output=True, text=True).stdout
        assert out.strip() == f"{target} is in use by a test"
    out = subprocess.run([sys.executable, "-c", probe, str(target)], capture_output=True, text=True).stdout
    assert out.strip() == "got it"  # released when the holder's block ended


def test_busy_is_raised_in_the_same_process_too(tmp_path):
    target = tmp_path / "s"
    with exclusive_lock(target), pytest.raises(Busy):
        with exclusive_lock(target):
            pass

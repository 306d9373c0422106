"""Run every cram transcript in tests/cram through pytest, so CI sees one result per file."""

import pathlib
import shutil
import subprocess
import sys

import pytest

CRAM_DIR = pathlib.Path(__file__).parent / "cram"
CRAM = shutil.which("cram", path=str(pathlib.Path(sys.executable).parent)) or shutil.which("cram")


@pytest.mark.parametrize("transcript", sorted(CRAM_DIR.glob("*.t")), ids=lambda p: p.name)
def test_transcript(transcript):
    assert CRAM, "cram is not installed (make test installs it)"
    # not --quiet: on a failure cram prints the diff, which is all CI keeps of a transcript
    proc = subprocess.run([CRAM, "--shell=/bin/bash", transcript.name], cwd=CRAM_DIR, capture_output=True, text=True)
    assert proc.returncode == 0, f"{transcript.name} diverged:\n{proc.stdout}{proc.stderr}"

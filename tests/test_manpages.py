"""Every command has a man page, and its SYNOPSIS and OPTIONS are what --help says."""

import os
import re
import resource
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from ben_cli.commands._root import EXIT_STATUS_MEANINGS

from ben_cli.errors import ExitStatus

from .conftest import run_ben

ROOT = Path(__file__).resolve().parent.parent


def test_man_pages_match_help():
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "support" / "manpages.py"), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_every_command_module_has_a_page():
    for module in (ROOT / "commands").glob("*.py"):
        if module.stem.startswith("_"):
            continue
        assert (ROOT / "man" / f"ben-{module.stem}.1").exists(), f"man/ben-{module.stem}.1 is missing"


def test_pages_render_without_warnings():
    pages = sorted(str(p) for p in (ROOT / "man").glob("*.1"))
    proc = subprocess.run(["groff", "-man", "-ww", "-z", *pages], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


def test_every_exit_status_is_explained_in_ben_1_and_the_readme():
    """ben(1)'s EXIT STATUS is generated from ExitStatus; the README's table must list the same."""
    assert list(EXIT_STATUS_MEANINGS) == [status.name for status in ExitStatus]
    page = (ROOT / "man" / "ben.1").read_text()
    section = page[page.index(".SH EXIT STATUS"):page.index(".SH", page.index(".SH EXIT STATUS") + 1)]
    assert re.findall(r"^\\fB(\d+)\\fR$", section, re.M) == [str(status.value) for status in ExitStatus]
    readme = (ROOT / "README.md").read_text()
    assert re.findall(r"^\| `(\d+)` \|", readme, re.M) == [str(status.value) for status in ExitStatus]
    for status in ExitStatus:
        meaning = re.split(r"[:;.(]", EXIT_STATUS_MEANINGS[status.name])[0].strip().lower()
        assert f"| `{status.value}` | {meaning}" in readme, status


def test_every_page_ends_its_examples_with_the_commands_help():
    """The EXAMPLES of a page are the examples of its command and subcommands, as --help shows them."""
    from ben_cli.commands._examples import page_examples

    for page in (ROOT / "man").glob("ben*.1"):
        path = page.stem.split("-")[1:]
        text = page.read_text()
        examples = text[text.index(".SH EXAMPLES"):]
        for _, line in page_examples(" ".join(path) or "ben"):
            assert line.replace("-", "\\-") in examples, (page.name, line)


def test_every_page_says_what_a_full_disk_and_a_crash_do():
    """Issue 13: each man page has a section on a full disk and on crashes, naming both."""
    for page in sorted((ROOT / "man").glob("ben*.1")):
        text = page.read_text()
        heading = re.search(r"^\.S[HS] (FULL DISK AND CRASHES|Full disk and crashes)\n", text, re.MULTILINE)
        assert heading, f"{page.name} has no 'Full disk and crashes' section"
        body = text[heading.end():]
        body = body[: re.search(r"^\.S[HS] |\Z", body, re.MULTILINE).start()]
        assert "full disk" in body and "crash" in body, page.name


@pytest.mark.parametrize("command", [["ingest", "-q", "-o"], ["key", "sign", "--stream", "-q", "-k", "KEY", "-o"]],
                         ids=["ingest", "key sign"])
def test_a_full_disk_stops_with_status_1_naming_the_file_and_the_rerun_cuts_back(tmp_path, command):
    """What the pages say of a full disk: status 1, the file named; the next run makes it whole."""
    key = tmp_path / "k"
    assert run_ben("key", "gen", "--out", str(key)).returncode == 0
    command = [str(key) + ".key" if arg == "KEY" else arg for arg in command]
    data = b"".join(b'{"name":"e","value":%d}\n' % i for i in range(100_000))
    out = tmp_path / "out.ndjson"
    ben = Path(sys.executable).with_name("ben")

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))

    full = subprocess.run([str(ben), *command, str(out)], input=data, capture_output=True, preexec_fn=limit,
                          env={**os.environ, "BEN_LOAD_PLUGINS": ""})
    assert full.returncode == 1
    assert full.stderr.decode().endswith(f"File too large: {out}\n")
    assert not out.read_bytes().endswith(b"\n")  # the half line the full disk left
    rerun = run_ben(*command, str(out), input=b'{"name":"after","value":1}\n')
    assert rerun.returncode == 0, rerun.stderr
    lines = out.read_bytes().splitlines(keepends=True)
    assert all(line.endswith(b"\n") and orjson.loads(line) for line in lines)
    assert orjson.loads(lines[-1])["name"] == "after"

"""Every command has a man page, and its SYNOPSIS and OPTIONS are what --help says."""

import re
import subprocess
import sys
from pathlib import Path

from ben_cli.commands._root import EXIT_STATUS_MEANINGS

from ben_cli.errors import ExitStatus

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

"""Every command has a man page, and its SYNOPSIS and OPTIONS are what --help says."""

import subprocess
import sys
from pathlib import Path

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

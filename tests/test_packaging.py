"""Packaging: every library folder ships, and commands/ ships only as ben_cli.commands."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_folder_is_listed():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "ben_cli").rglob("__init__.py")}
    found.add("ben_cli.commands")
    assert listed == found


def test_commands_map_into_the_package():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert config["tool"]["setuptools"]["package-dir"] == {"ben_cli.commands": "commands"}
    assert "commands" not in config["tool"]["setuptools"]["packages"]
    assert config["project"]["scripts"]["ben"] == "ben_cli.commands._root:main"


def test_typer_is_pinned_below_the_version_that_vendors_click():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(d.replace(" ", "").startswith("typer>=0.24,<0.26") for d in deps)

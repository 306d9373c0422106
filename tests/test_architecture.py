"""The architecture rules of DESIGN.md, checked two ways.

import-linter's contracts (pyproject.toml) see the whole import graph, indirect chains included;
they run here as they do in ``make lint``, and each one is shown to fail on a bad import, so none
of them can pass by not looking. The AST walks below are the same rules read straight off the
source: cheap, and they also see what a graph does not hold (``ben_cli/__init__.py``, imports by
a literal name through ``importlib.import_module``).
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "ben_cli"
LINT_IMPORTS = ROOT / "tests" / "support" / "lint-imports"
UI_PACKAGES = {"typer", "click", "rich", "textual"}
# The one place in the library allowed to draw on a terminal.
UI_HOME = LIBRARY / "watch"
# The shared modules are the modules directly under ben_cli/; the parts are its packages.
SHARED = sorted(p for p in LIBRARY.glob("*.py") if p.name != "__init__.py")
PARTS = sorted(p.name for p in LIBRARY.iterdir() if (p / "__init__.py").exists())


def module_name(path: Path) -> str:
    """``ben_cli/detect/base.py`` -> ``ben_cli.detect.base`` (a package's ``__init__`` is the package)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_in(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Every module name ``source`` imports, wherever the import is (top level, function, branch).

    ``from a import b`` yields both ``a`` and ``a.b`` (``b`` may be a module); relative imports are
    resolved against ``module``; ``importlib.import_module("x")`` and ``__import__("x")`` with a
    literal name count as imports of ``x``, since a dependency in a string is still one."""
    package = module if is_package else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            names.add(origin)
            names.update(f"{origin}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if called in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                names.add(node.args[0].value)
    return names


def imports_of(path: Path) -> set[str]:
    return imports_in(path.read_text(), module_name(path), is_package=path.name == "__init__.py")


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def library_files() -> Iterator[Path]:
    return (p for p in sorted(LIBRARY.rglob("*.py")) if "__pycache__" not in p.parts)


# -- the AST walker sees what the rules need it to see ---------------------------------------------


def test_the_walker_sees_function_level_relative_and_literal_dynamic_imports():
    source = (
        "import os\n"
        "def late():\n"
        "    from ..scrub import Scrubber\n"
        "    if True:\n"
        "        import rich.console\n"
        "    return importlib.import_module('ben_cli.sink')\n"
        "from . import base\n"
    )
    found = imports_in(source, "ben_cli.detect.stream")
    assert {"os", "ben_cli.scrub", "ben_cli.scrub.Scrubber", "rich.console", "ben_cli.sink",
            "ben_cli.detect", "ben_cli.detect.base"} <= found
    # in a package's __init__, "." is the package itself
    assert "ben_cli.detect.base" in imports_in("from . import base\n", "ben_cli.detect", is_package=True)


# -- the rules, read off the source ---------------------------------------------------------------


def test_the_library_has_shared_modules_and_parts():
    assert {"record.py", "ndjson.py", "errors.py", "stage.py"} <= {p.name for p in SHARED}
    assert {"ingest", "scrub", "detect", "narrate", "sink", "crypto"} <= set(PARTS)


@pytest.mark.parametrize("path", SHARED, ids=lambda p: p.name)
def test_a_shared_module_imports_no_part(path):
    parts = [f"ben_cli.{part}" for part in PARTS] + ["ben_cli.commands"]
    wrong = sorted(name for name in imports_of(path) if any(within(name, part) for part in parts))
    assert wrong == [], f"{path.name} imports {wrong}: shared modules never import a part"


def test_nothing_in_the_library_imports_the_commands():
    wrong = {module_name(p): sorted(n for n in imports_of(p) if within(n, "ben_cli.commands"))
             for p in library_files()}
    assert {m: names for m, names in wrong.items() if names} == {}


def test_no_ui_package_outside_commands_and_watch():
    checked = [p for p in library_files() if UI_HOME not in p.parents]
    assert len(checked) > 50  # the walk found the library
    wrong = {module_name(p): sorted(n for n in imports_of(p) if n.partition(".")[0] in UI_PACKAGES)
             for p in checked}
    assert {m: names for m, names in wrong.items() if names} == {}


# -- the same rules as import-linter's contracts -------------------------------------------------


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(LINT_IMPORTS), "--root", str(root)],
                          capture_output=True, text=True, timeout=300)


def test_the_import_contracts_hold():
    proc = lint_imports(ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the sources and the contracts, to break on purpose."""
    skip = shutil.ignore_patterns("__pycache__", "*.so", "*.c", "*.sql")
    for folder in ("ben_cli", "commands"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=skip)
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


BAD_IMPORTS = {
    "a part imports another part": (
        "ben_cli/detect/__init__.py", "from ben_cli.scrub import policy\n",
        "ben_cli.detect is not allowed to import ben_cli.scrub"),
    "a shared module imports a part": (
        "ben_cli/ndjson.py", "def later():\n    import ben_cli.sink\n",
        "ben_cli.ndjson is not allowed to import ben_cli.sink"),
    "a part imports the commands": (
        "ben_cli/narrate/__init__.py", "def later():\n    from ben_cli.commands import _common\n",
        "ben_cli.narrate is not allowed to import ben_cli.commands"),
    "a shared module imports the commands, relatively": (
        "ben_cli/units.py", "from .commands import _common\n",
        "ben_cli.units is not allowed to import ben_cli.commands"),
    "a part imports a UI package": (
        "ben_cli/crypto/__init__.py", "def later():\n    import rich.console\n",
        "ben_cli.crypto -> rich"),
    "a module with no place in the layers": (
        "ben_cli/helpers.py", "\n",
        "not listed as layers:\n\n- ben_cli.helpers"),
}


@pytest.mark.parametrize("case", sorted(BAD_IMPORTS))
def test_a_bad_import_breaks_a_contract(checkout, case):
    relative, added, complaint = BAD_IMPORTS[case]
    target = checkout / relative
    target.write_text((target.read_text() if target.exists() else "") + added)
    proc = lint_imports(checkout)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "BROKEN" in proc.stdout and complaint in proc.stdout, proc.stdout

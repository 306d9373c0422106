"""The CLI shells, one module per subcommand. Installed as ``ben_cli.commands``.

Each module exposes ``app`` (a Typer app). Top-level commands are added without a name so their
function name is the command; command groups (``ben key ...``) are added under their name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the package is imported by `ben --version`, which must not pay for typer
    import typer

# module name -> group name (None: the module's single command is a top-level command)
COMMANDS: dict[str, str | None] = {
    "ingest": None,
    "narrate": None,
    "key": "key",
    "sink": None,
    "db": "db",
    "detect": None,
}


def register(app: typer.Typer) -> None:
    import importlib

    for module, group in COMMANDS.items():
        mod = importlib.import_module(f"{__name__}.{module}")
        if group is None:
            app.add_typer(mod.app)
        else:
            app.add_typer(mod.app, name=group)

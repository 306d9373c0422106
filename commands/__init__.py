"""The CLI shells, one module per subcommand. Installed as ``ben_cli.commands``.

Each module exposes ``app`` (a Typer app) and is imported only when its command runs (or when
help lists every command), so ``ben ingest`` never pays for the crypto, ClickHouse or detector
code of its siblings. A module whose app holds one command becomes a top-level command; one with
several becomes a group (``ben key gen``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the package is imported by `ben --version`, which must not pay for typer
    import click

# The built-in commands, in the order `ben --help` lists them: the pipeline first.
COMMANDS: tuple[str, ...] = ("ingest", "contract", "scrub", "count", "rate", "detect", "narrate", "sink", "db", "key", "ca", "policy", "bee", "watch", "run")


def available() -> list[str]:
    """The built-in commands whose module exists in this installation."""
    from importlib.util import find_spec

    return [name for name in COMMANDS if find_spec(f"{__name__}.{name}") is not None]


def load(name: str) -> click.Command:
    """Import one command module and turn its Typer app into the click command named ``name``,
    with its examples at the end of its help (and of each subcommand's)."""
    import importlib

    import click
    import typer.main

    from . import _common, _examples

    module = importlib.import_module(f"{__name__}.{name}")
    command = typer.main.get_command(module.app)
    command.name = name
    # a Typer app converted on its own grows shell-completion options; ben's root owns those
    command.params = [p for p in command.params if p.name not in ("install_completion", "show_completion")]
    markup = _common.help_markup()
    if isinstance(command, click.Group):  # click 8.4+ suggests subcommands itself: only one of them
        command.suggest_commands = not hasattr(click.exceptions, "NoSuchCommand")  # type: ignore[attr-defined]
    subcommands = command.commands.items() if isinstance(command, click.Group) else ()
    for path, each in [(name, command), *((f"{name} {sub}", cmd) for sub, cmd in subcommands)]:
        each.rich_markup_mode = markup  # type: ignore[attr-defined]
        each.epilog = _examples.epilog(path, rich=markup is not None)
    return command


def no_such_command(typo: str, names: list[str]) -> str:
    """Click's message for an unknown command, with the closest names (plugins included)."""
    from difflib import get_close_matches

    close = get_close_matches(typo, names, n=3)
    hint = f" Did you mean {' or '.join(repr(n) for n in close)}?" if close else ""
    return f"No such command {typo!r}.{hint}"

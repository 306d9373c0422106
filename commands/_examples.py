"""Examples of every command, written once in ``examples.toml``: they end each ``ben COMMAND --help``
and make the EXAMPLES section of each man page (``tests/support/manpages.py``); a test parses each
example against the real command, so a renamed flag cannot leave a stale example behind. The
examples are data, so they live in a data file and this module only lays them out.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path


@cache
def all_examples() -> dict[str, list[tuple[str, str]]]:
    """Command path without ``ben`` (``"key gen"``; the root is ``"ben"``) -> (what it does, command line)."""
    with (Path(__file__).parent / "examples.toml").open("rb") as f:
        table = tomllib.load(f)
    return {path: [(ex["what"], ex["line"]) for ex in found] for path, found in table.items()}


def examples(path: str) -> list[tuple[str, str]]:
    """What ``ben PATH --help`` shows: its own examples, or for a group the first of each subcommand's."""
    table = all_examples()
    if path in table:
        return table[path]
    return [found[0] for key, found in table.items() if key.startswith(path + " ")]


def page_examples(path: str) -> list[tuple[str, str]]:
    """What the man page of ``ben PATH`` shows: its own examples and all of its subcommands'."""
    table = all_examples()
    return table.get(path, []) + [ex for key, found in table.items() if key.startswith(path + " ") for ex in found]


def epilog(path: str, rich: bool) -> str:
    """The examples as the end of ``--help``: ``# what`` above each command line, ready to paste.

    Click rewraps an epilog unless a paragraph starts with ``\\b``; Typer's rich help joins the
    lines of a paragraph, so there every line is a paragraph of its own."""
    if rich:
        from rich.markup import escape

        blocks = [f"[dim]# {escape(what)}[/dim]\n\n{escape(line)}" for what, line in examples(path)]
        return "[bold]Examples:[/bold]\n\n" + "\n\n\n\n".join(blocks)
    return "Examples:\n\n" + "\n\n".join(f"\b\n  # {what}\n  {line}" for what, line in examples(path))

"""Options and output helpers every filter shares, so flags read the same in every command."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Optional, TypeVar

import typer

from ben_cli.units import parse_duration, parse_share, parse_size

T = TypeVar("T")

Inputs = Annotated[
    Optional[list[str]],
    typer.Argument(help="Input files (gzip is read transparently); none or '-' reads stdin.", show_default=False),
]
RejectsOpt = Annotated[
    Optional[Path],
    typer.Option("--rejects", help="Append bad lines here as NDJSON: file, line, reason, raw text.", metavar="FILE"),
]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Stop at the first bad line with exit status 1.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No summary or messages on stderr.")]


def stderr_is_terminal() -> bool:
    return os.isatty(2)


def colour(fd: int = 1) -> bool:
    """Colour, styles and box drawing are for a person at a terminal: never into a pipe or a file,
    and never when ``NO_COLOR`` has any non-empty value (https://no-color.org)."""
    return os.isatty(fd) and not os.environ.get("NO_COLOR")


def help_markup() -> Optional[str]:
    """Typer's markup mode for ``--help`` (which goes to stdout): rich panels where colour is
    welcome, click's plain text everywhere else."""
    return "rich" if colour(1) else None


def say(message: str, quiet: bool = False) -> None:
    """A human message on stderr (never stdout, which carries data)."""
    if not quiet:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()


def _option_callback(parse: Callable[[str], T]) -> Callable[[Optional[str]], Optional[T]]:
    """An option callback reading the option's text with ``parse``; its ValueError becomes a
    usage error naming the option."""

    def convert(value: Optional[str]) -> Optional[T]:
        if value is None:
            return None
        try:
            return parse(value)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None

    return convert


# Durations and sizes in the one grammar of ben_cli.units: ``1h30m`` as seconds, ``32M`` as bytes.
as_duration = _option_callback(parse_duration)
as_size = _option_callback(parse_size)
as_share = _option_callback(parse_share)

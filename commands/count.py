"""``ben count``: events into signals, one count per event-time window and key."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from ben_cli import count as core
from ben_cli.ndjson import Writer
from ben_cli.rejects import Rejects

from ._common import Inputs, QuietOpt, RejectsOpt, StrictOpt, as_duration

app = typer.Typer()


NOT_IN_RUN: tuple[str, ...] = ()


def options_from(p: dict) -> core.CountOptions:
    """The core's options from the command's parameters (the command and `ben run` both read them here)."""
    return core.CountOptions(every=float(p["every"]), by=tuple(b.strip() for b in p["by"].split(",") if b.strip()),
                             where=tuple(p["where"]), lateness=float(p["lateness"]), state=p["state"])


@app.command()
def count(
    inputs: Inputs = None,
    every: Annotated[str, typer.Option(callback=as_duration, metavar="DURATION", help="Window length: 1m, 5m, 1h.")] = "1m",
    by: Annotated[str, typer.Option(help="Fields whose values name a count, comma-separated; dots reach into objects.")] = "source,severity",
    where: Annotated[list[str], typer.Option("--where", metavar="FILTER", help="Count only records where FIELD OP VALUE holds (OP: >= <= > < = != ~ regex), e.g. 'severity>=error'; repeatable, all must hold.")] = [],  # noqa: B006 - typer reads, never mutates
    lateness: Annotated[str, typer.Option(callback=as_duration, metavar="DURATION", help="How long after its end a window waits for late records.")] = "0s",
    state: Annotated[Optional[Path], typer.Option(help="Keep the open windows in FILE between runs (atomically), instead of emitting them at the end.", metavar="FILE")] = None,
    rejects: RejectsOpt = None,
    strict: StrictOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Count records per event-time window and key: each closed window becomes one record per key
    with the count as "value", so ben detect can watch error rates, requests per minute, logins.

    Windows are aligned to the epoch and closed by the records' own time (plus --lateness); a key
    silent in a window gets a 0. Records too late for a closed window are counted as late.
    """
    options = options_from(locals())
    with Rejects(rejects, stage="count", strict=strict) as bad:
        summary = core.run(inputs or ["-"], Writer(), bad, options)
    if not quiet:
        summary.report(sys.stderr, bad)

"""``ben rate``: counters into per-second rates, with resets handled, before ben detect."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ben_cli import count as core
from ben_cli.ndjson import Writer
from ben_cli.rejects import Rejects

from ._common import Inputs, QuietOpt, RejectsOpt, StrictOpt

app = typer.Typer()


NOT_IN_RUN: tuple[str, ...] = ()


def options_from(p: dict) -> core.RateOptions:
    """The core's options from the command's parameters (the command and `ben run` both read them here)."""
    return core.RateOptions(counters=tuple(p["counter"]))


@app.command()
def rate(
    inputs: Inputs = None,
    counter: Annotated[list[str], typer.Option("--counter", metavar="NAME-GLOB", help="Also take records whose name matches as counters (http_*_total); repeatable.")] = [],  # noqa: B006 - typer reads, never mutates
    rejects: RejectsOpt = None,
    strict: StrictOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Turn counter samples into per-second rates (a reset to 0 is a restart, not a fall); pass
    every other record on untouched.

    Counters are Prometheus counters and histogram or summary buckets (attrs.prom.type), OTLP
    monotonic cumulative sums (attrs.otel.*) and names matching --counter. A series' first sample
    has no rate and is held back.
    """
    options = options_from(locals())
    with Rejects(rejects, stage="rate", strict=strict) as bad:
        summary = core.run_rate(inputs or ["-"], Writer(), bad, options)
    if not quiet:
        summary.report(sys.stderr, bad)

"""``ben narrate``: incidents and plain-language health reports from the stream."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Optional

import typer

from ben_cli import narrate as core
from ben_cli.ndjson import Writer
from ben_cli.rejects import Rejects

from ._common import Inputs, QuietOpt, RejectsOpt, StrictOpt

app = typer.Typer()

STYLES = {"title": "bold", "heading": "bold underline", "dim": "dim", "text": "",
          "verdict-healthy": "bold green", "verdict-nodata": "bold magenta", "verdict-unknown": "bold magenta", "verdict-degraded": "bold yellow", "verdict-incident": "bold red"}


def _print_coloured(report: core.Report) -> None:
    """The text report on a terminal, in colour (the library never imports rich)."""
    from rich.console import Console
    from rich.text import Text

    from ben_cli.narrate.layout import text_lines

    console = Console(highlight=False, soft_wrap=True)
    for style, line in text_lines(report):
        console.print(Text(line, style=STYLES.get(style, "")))


# `ben run` has no resumed narration (--state keeps positions of records read from files).
NOT_IN_RUN = ("state",)


def options_from(p: dict) -> core.Options:
    """The core's options from the command's parameters (the command and `ben run` both read them here)."""
    return core.Options.from_flags(format=p["format"], since=p["since"], until=p["until"], every=p["every"],
                                   gap=p["gap"], min_change=p["min_change"], rejected=p["rejected"],
                                   fail_on=p["fail_on"], state=p["state"])


@app.command()
def narrate(
    inputs: Inputs = None,
    format: Annotated[str, typer.Option("--format", "-f",
                                        help="Report format: text, markdown, html (one self-contained file) or json.")] = "text",
    since: Annotated[Optional[str], typer.Option(help="Report from this time on (RFC 3339, UTC unless an offset is given).")] = None,
    until: Annotated[Optional[str], typer.Option(help="Report up to (not including) this time.")] = None,
    every: Annotated[Optional[str], typer.Option(
        help="Streaming: pass records through and write a ben.narrative record at the end of each window (e.g. 5m, 1h).")] = None,
    gap: Annotated[Optional[str], typer.Option(
        help="Close an episode after this long without anomalous points (default: three sampling intervals of its series).")] = None,
    min_change: Annotated[str, typer.Option(help="Smallest change, against the usual value, worth narrating.")] = "20%",
    rejected: Annotated[Optional[list[str]], typer.Option(
        "--rejected", metavar="FILE", help="A --rejects file of an earlier stage, to report what it rejected; repeatable.")] = None,
    fail_on: Annotated[str, typer.Option(
        "--fail-on", metavar="VERDICTS",
        help="Exit 1 on these verdicts, comma-separated: nodata, unknown, degraded (or worse), incident, never.")] = "nodata",
    state: Annotated[Optional[str], typer.Option(metavar="FILE", help=(
        "With --every: keep the counted positions and the open window in FILE (saved atomically before "
        "output leaves), so a rerun after a crash counts each record once; no partial last window."))] = None,
    rejects: RejectsOpt = None,
    strict: StrictOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Turn envelopes marked by ben detect (and ben scrub) into a plain-language health report.

    Anomalous points of one series become episodes; episodes that overlap in time become
    incidents, ranked by severity. The report gives a verdict (no data, unknown, healthy, degraded or
    incident), why and how many series ben detect watched, each incident in sentences, volume and errors per source and lane, and what was scrubbed
    and rejected. With --every, records pass through and a narrative record closes each window.
    """
    options = options_from(locals())
    coloured = options.format == "text" and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    with Rejects(rejects, stage="narrate", strict=strict) as bad, Writer() as writer:
        summary = core.run(inputs or ["-"], writer, bad, options, show=_print_coloured if coloured else None)
    if not quiet:
        summary.report(sys.stderr, bad)
    core.check_verdict(summary, options)

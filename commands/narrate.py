"""``ben narrate``: incidents and plain-language health reports from the stream."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Optional

import typer

from ben_cli import narrate as core
from ben_cli.narrate.humanize import parse_duration, parse_percent
from ben_cli.ndjson import Writer
from ben_cli.record import NS_PER_S, TimestampError, to_ns
from ben_cli.rejects import Rejects, Summary

from ._common import Inputs, QuietOpt, RejectsOpt, StrictOpt

app = typer.Typer()

STYLES = {"title": "bold", "heading": "bold underline", "dim": "dim", "text": "",
          "verdict-healthy": "bold green", "verdict-degraded": "bold yellow", "verdict-incident": "bold red"}


def _format(value: str) -> str:
    if value not in core.FORMATS:
        raise typer.BadParameter(f"must be one of {', '.join(core.FORMATS)}")
    return value


def _time(value: Optional[str]) -> Optional[int]:
    if value is None:
        return None
    try:
        return to_ns(value)
    except TimestampError as exc:
        raise typer.BadParameter(str(exc)) from None


def _duration_ns(value: Optional[str]) -> Optional[int]:
    if value is None:
        return None
    try:
        return int(parse_duration(value) * NS_PER_S)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _percent(value: str) -> str:
    try:
        if not 0 <= parse_percent(value) < 100:
            raise ValueError
    except ValueError:
        raise typer.BadParameter("must be a percentage such as 20% (or a fraction such as 0.2)") from None
    return value


def _print_text(text: str, report: core.Report) -> None:
    """Colours only when stdout is a terminal and NO_COLOR is unset; plain bytes otherwise."""
    if sys.stdout.isatty() and not os.environ.get("NO_COLOR"):
        from rich.console import Console
        from rich.text import Text

        from ben_cli.narrate.layout import text_lines

        console = Console(highlight=False, soft_wrap=True)
        for style, line in text_lines(report):
            console.print(Text(line, style=STYLES.get(style, "")))
        return
    sys.stdout.write(text)
    sys.stdout.flush()


@app.command()
def narrate(
    inputs: Inputs = None,
    format: Annotated[str, typer.Option("--format", "-f", callback=_format,
                                        help="Report format: text, markdown, html (one self-contained file) or json.")] = "text",
    since: Annotated[Optional[str], typer.Option(help="Report from this time on (RFC 3339, UTC unless an offset is given).")] = None,
    until: Annotated[Optional[str], typer.Option(help="Report up to (not including) this time.")] = None,
    every: Annotated[Optional[str], typer.Option(
        help="Streaming: pass records through and write a ben.narrative record at the end of each window (e.g. 5m, 1h).")] = None,
    gap: Annotated[Optional[str], typer.Option(
        help="Close an episode after this long without anomalous points (default: three sampling intervals of its series).")] = None,
    min_change: Annotated[str, typer.Option(callback=_percent,
                                            help="Smallest change, against the usual value, worth narrating.")] = "20%",
    rejected: Annotated[Optional[list[str]], typer.Option(
        "--rejected", metavar="FILE", help="A --rejects file of an earlier stage, to report what it rejected; repeatable.")] = None,
    rejects: RejectsOpt = None,
    strict: StrictOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Turn envelopes marked by ben detect (and ben scrub) into a plain-language health report.

    Anomalous points of one series become episodes; episodes that overlap in time become
    incidents, ranked by severity. The report gives a verdict (healthy, degraded or incident) and
    why, each incident in sentences, volume and errors per source and lane, and what was scrubbed
    and rejected. With --every, records pass through and a narrative record closes each window.
    """
    options = core.Options(gap_ns=_duration_ns(gap), min_change=parse_percent(min_change),
                           since_ns=_time(since), until_ns=_time(until))
    every_ns = _duration_ns(every)
    upstream = core.read_rejected(rejected) if rejected else {}
    summary = Summary("narrate")
    with Rejects(rejects, stage="narrate", strict=strict) as bad:
        if every_ns is not None:
            with Writer() as writer:
                core.stream(inputs or ["-"], writer, every_ns, options, on_error=bad.add, rejected=upstream, summary=summary)
        else:
            report = core.report(inputs or ["-"], options, on_error=bad.add, rejected=upstream,
                                 own_rejects=lambda: bad.count, summary=summary)
            text = core.render(report, format)
            if format == "text":
                _print_text(text, report)
            else:
                sys.stdout.write(text)
                sys.stdout.flush()
            summary.written = 1
    summary.rejected = bad.count
    if not quiet:
        summary.report(sys.stderr, bad)

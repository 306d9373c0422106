"""``ben ingest``: normalise what producers write into NDJSON envelopes."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from ben_cli import ingest as core
from ben_cli.ndjson import DEFAULT_MAX_LINE_BYTES, Writer
from ben_cli.record import LANES
from ben_cli.rejects import Rejects

from ._common import Inputs, QuietOpt, RejectsOpt, StrictOpt, say

app = typer.Typer()


def _check_lane(value: str) -> str:
    if value not in LANES:
        raise typer.BadParameter(f"must be one of {', '.join(LANES)}")
    return value


def _check_format(value: str) -> str:
    names = core.format_names()
    if value != "auto" and value not in names:
        raise typer.BadParameter(f"must be auto or one of {', '.join(names)}")
    return value


@app.command()
def ingest(
    inputs: Inputs = None,
    format: Annotated[
        str,
        typer.Option("--format", "-f", callback=_check_format, help="Input format: auto (sniffed per file), ndjson, logfmt or lines."),
    ] = "auto",
    lane: Annotated[str, typer.Option(callback=_check_lane, help="Lane for records that name none: diag, event or control.")] = "diag",
    source: Annotated[Optional[str], typer.Option(help="Source for records that name none (host or service).")] = None,
    max_line_bytes: Annotated[int, typer.Option(help="Reject lines longer than this many bytes.", min=1)] = DEFAULT_MAX_LINE_BYTES,
    rejects: RejectsOpt = None,
    strict: StrictOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Read logs and metrics in the formats producers write; emit one NDJSON envelope per record.

    Aliases are folded into the envelope (timestamp/@timestamp/time -> ts, msg/message/log -> body,
    level -> severity, host/hostname/service -> source); other fields go into attrs. A record
    without a time gets the time it was read. Bad lines go to --rejects with their reason.
    """
    options = core.IngestOptions(lane=lane, source=source)
    with Rejects(rejects, stage="ingest", strict=strict) as bad:
        summary = core.ingest(
            inputs or ["-"],
            Writer(),
            bad,
            format=format,
            options=options,
            max_line_bytes=max_line_bytes,
            on_format=lambda name, fmt: say(f"ben ingest: {name}: format {fmt}", quiet),
        )
    if not quiet:
        summary.report(sys.stderr, bad)

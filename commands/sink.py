"""``ben sink``: store records in ClickHouse (exactly once), an NDJSON file, or stdout."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from ben_cli.errors import ExitStatus
from ben_cli.ndjson import Writer
from ben_cli.sink import BatchLimits, DurableRejects, SinkOptions, TargetError, parse_target
from ben_cli.sink import sink as run_sink
from ben_cli.sink.spool import SpoolBusy
from ben_cli.sink.units import parse_duration, parse_size

from ._common import Inputs, QuietOpt, RejectsOpt, StrictOpt, say

app = typer.Typer()


def _size(value: Optional[str]) -> Optional[int]:
    try:
        return None if value is None else parse_size(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _duration(value: Optional[str]) -> Optional[float]:
    try:
        return None if value is None else parse_duration(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@app.command()
def sink(
    inputs: Inputs = None,
    to: Annotated[Optional[str], typer.Option("--to", metavar="URL", help="clickhouse://[user[:password]@]host[:port]/db[?table=T] (native protocol, port 9000), clickhouse+http://... (HTTP, port 8123: faster), file:PATH or - (stdout). Default: file:$BEN_HOME/spool/records.ndjson.")] = None,
    tee: Annotated[bool, typer.Option("--tee", help="Also pass the records on to stdout.")] = False,
    batch_rows: Annotated[int, typer.Option(help="Close a batch at this many rows.", min=1)] = 100_000,
    batch_bytes: Annotated[str, typer.Option(help="... or at this many bytes of NDJSON.", metavar="SIZE")] = "32M",
    batch_age: Annotated[str, typer.Option(help="... or when its first record is this old.", metavar="DURATION")] = "1s",
    retry_for: Annotated[str, typer.Option(help="Keep retrying transient server errors this long, then exit 1 (the spool keeps the batch).", metavar="DURATION")] = "5m",
    rotate_size: Annotated[Optional[str], typer.Option(help="file: rotate the file at this size.", metavar="SIZE")] = None,
    rotate_every: Annotated[Optional[str], typer.Option(help="file: rotate the file when it is this old.", metavar="DURATION")] = None,
    gzip: Annotated[bool, typer.Option("--gzip", help="file: write gzip.")] = False,
    from_start: Annotated[bool, typer.Option("--from-start", help="Read input files from their start, not from where earlier runs got to.")] = False,
    workers: Annotated[Optional[int], typer.Option(help="clickhouse+http: processes converting records (default: one per core, at most 4; 1: none, the reader converts).", min=1)] = None,
    rejects: RejectsOpt = None,
    strict: StrictOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Store NDJSON envelopes: in ClickHouse, in a file, or on stdout.

    ClickHouse delivery is exactly once: each batch is written to a spool under $BEN_HOME/spool/
    and fsynced before it is sent, and removed once the server confirmed it; a rerun after a
    crash replays the spool, skipping rows the server already has, and continues input files
    where the last run got to. Rows the server refuses go to --rejects with its reason. The
    password may come from BEN_CLICKHOUSE_PASSWORD. Exit status 0 means every record read is
    stored or in rejects.
    """
    try:
        target = parse_target(to)
    except TargetError as exc:
        raise typer.BadParameter(str(exc), param_hint="--to") from None
    if tee and to == "-":
        raise typer.BadParameter("--tee with --to - would write every record twice", param_hint="--tee")
    options = SinkOptions(
        limits=BatchLimits(batch_rows, _size(batch_bytes) or 1, _duration(batch_age) or 0.0),
        retry_for=_duration(retry_for) or 0.0,
        rotate_bytes=_size(rotate_size),
        rotate_seconds=_duration(rotate_every),
        gzip=gzip,
        from_start=from_start,
        workers=workers,
    )
    from ben_cli.sink.clickhouse import SinkError

    tee_out = Writer() if tee else None
    with DurableRejects(rejects, stage="sink", strict=strict) as bad:
        try:
            summary = run_sink(inputs or ["-"], target, bad, options, tee_out,
                               notify=lambda m: say(f"ben sink: {m}", quiet))
        except (SinkError, SpoolBusy) as exc:
            say(f"ben sink: {exc}")
            raise typer.Exit(ExitStatus.ERROR) from None
        finally:
            if tee_out is not None:
                tee_out.flush()
    if not quiet:
        summary.report(sys.stderr, bad)

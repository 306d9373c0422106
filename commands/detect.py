"""``ben detect``: mark what is unusual in every series of the stream."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from ben_cli import detect as core
from ben_cli.ndjson import Writer
from ben_cli.rejects import Rejects

from ._common import Inputs, QuietOpt, RejectsOpt, StrictOpt, as_duration

app = typer.Typer()


NOT_IN_RUN = ("list_",)


def options_from(p: dict) -> core.DetectOptions:
    """The core's options from the command's parameters (the command and `ben run` both read them here)."""
    return core.DetectOptions.from_text(
        detector=p["detector"], params=p["param"], fields=p["field"], by=p["by"], expire=p["expire"],
        threshold=p["threshold"], only_anomalies=p["only_anomalies"], state=p["state"], checkpoint=p["checkpoint"],
        max_series=p["max_series"], joint=p["joint"], joint_tolerance=p["joint_tolerance"],
    )


@app.command()
def detect(
    inputs: Inputs = None,
    detector: Annotated[str, typer.Option("--detector", "-d", help="Detector to run (see --list).")] = "auto",
    param: Annotated[list[str], typer.Option("--param", "-p", help="Set a detector parameter, NAME=VALUE; repeatable.", metavar="NAME=VALUE")] = [],  # noqa: B006 - typer reads, never mutates
    list_: Annotated[bool, typer.Option("--list", help="List the detectors with their parameters and defaults, and exit.")] = False,
    field: Annotated[list[str], typer.Option("--field", help="Numeric field to watch (dots reach into objects: attrs.ms); spca takes several.")] = ["value"],  # noqa: B006
    by: Annotated[str, typer.Option(help="Fields whose values name a series, comma-separated; dots reach into objects (attrs.code).")] = "source,name",
    threshold: Annotated[float, typer.Option(help="Score at or above which a record is an anomaly (0.5: the detector's textbook alarm).", min=0.0, max=1.0)] = 0.5,
    only_anomalies: Annotated[bool, typer.Option("--only-anomalies", help="Write only the records marked as anomalies.")] = False,
    state: Annotated[Optional[Path], typer.Option(help="Load every series' state from FILE and save it back (atomically) at the end.", metavar="FILE")] = None,
    checkpoint: Annotated[str, typer.Option(callback=as_duration, metavar="DURATION", help="With --state, also save this often: 30s, 5m (0: only at the end).")] = "60s",
    expire: Annotated[Optional[str], typer.Option(help="Drop series unseen for this long (by record time) from the state: 90s, 15m, 1h30m, 7d, 2w.", metavar="DURATION")] = None,
    max_series: Annotated[int, typer.Option("--max-series", metavar="N", min=1, help="Keep at most N series; past that the least recently seen are forgotten (counted as evicted).")] = core.MAX_SERIES,
    joint: Annotated[bool, typer.Option("--joint", help="Score the channels of a group as one state: the last --by field names the channel, the others the group (default detector: spca).")] = False,
    joint_tolerance: Annotated[str, typer.Option("--joint-tolerance", metavar="DURATION", help="With --joint, records of a group this close in time form one row: 1s, 500ms.")] = "1s",
    rejects: RejectsOpt = None,
    strict: StrictOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Mark unusual values in every series (records sharing the --by fields), online, in one pass.

    Each record with a number in --field passes through with an "anomaly" mark: detector, score in
    [0, 1), is_anomaly, expected and series; other records pass through untouched. With --state the
    detectors' memory is carried between runs, so a cron job sees one continuous stream.
    """
    if list_:
        sys.stdout.write(core.catalog_text())
        return
    options = options_from(locals())
    with Rejects(rejects, stage="detect", strict=strict) as bad:
        summary = core.run(inputs or ["-"], Writer(), bad, options,
                           warn=lambda message: sys.stderr.write(f"ben detect: warning: {message}\n"))
    if not quiet:
        summary.report(sys.stderr, bad)

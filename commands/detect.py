"""``ben detect``: mark what is unusual in every series of the stream."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from ben_cli import detect as core
from ben_cli.errors import ExitStatus
from ben_cli.ndjson import Writer
from ben_cli.rejects import Rejects

from ._common import Inputs, QuietOpt, RejectsOpt, StrictOpt, say

app = typer.Typer()

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``15m``, ``12h``, ``7d``, ``2w`` as seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", text)
    if not match:
        raise typer.BadParameter(f"{text!r} is not a duration like 90s, 15m, 12h, 7d or 2w")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def _split(values: list[str]) -> tuple[str, ...]:
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


def _params(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise typer.BadParameter(f"{pair!r} is not NAME=VALUE", param_hint="--param")
        out[name.strip()] = value.strip()
    return out


def _typed(detector: str, given: dict[str, str]) -> dict:
    """Parameters given as text, read as each parameter's type (errors are usage errors)."""
    from ben_cli import registry

    try:
        cls = registry.detectors.get(detector)
    except KeyError as exc:
        raise typer.BadParameter(str(exc.args[0]), param_hint="--detector") from None
    specs = {p.name: p for p in cls.all_params()}
    out = {}
    for name, text in given.items():
        if name not in specs:
            raise typer.BadParameter(f"{detector} has no parameter {name!r}; see ben detect --list", param_hint="--param")
        try:
            out[name] = specs[name].parse(text)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--param") from None
    return out


def _print_list() -> None:
    for info in core.describe():
        kind = " (change points)" if info["kind"] == "change" else ""
        sys.stdout.write(f"{info['name']}: {info['summary']}{kind}\n")
        for p in info["params"]:
            sys.stdout.write(f"  {p['name']}={p['default']}  {p['help']}\n")
    sys.stdout.flush()


@app.command()
def detect(
    inputs: Inputs = None,
    detector: Annotated[str, typer.Option("--detector", "-d", help="Detector to run (see --list).")] = "auto",
    param: Annotated[list[str], typer.Option("--param", "-p", help="Set a detector parameter, NAME=VALUE; repeatable.", metavar="NAME=VALUE")] = [],  # noqa: B006 - typer reads, never mutates
    list_: Annotated[bool, typer.Option("--list", help="List the detectors with their parameters and defaults, and exit.")] = False,
    field: Annotated[list[str], typer.Option("--field", "-f", help="Numeric field to watch (dots reach into objects: attrs.ms); spca takes several.")] = ["value"],  # noqa: B006
    by: Annotated[str, typer.Option(help="Fields whose values name a series, comma-separated.")] = "source,name",
    threshold: Annotated[float, typer.Option(help="Score at or above which a record is an anomaly (0.5: the detector's textbook alarm).", min=0.0, max=1.0)] = 0.5,
    only_anomalies: Annotated[bool, typer.Option("--only-anomalies", help="Write only the records marked as anomalies.")] = False,
    state: Annotated[Optional[Path], typer.Option(help="Load every series' state from FILE and save it back (atomically) at the end.", metavar="FILE")] = None,
    checkpoint: Annotated[float, typer.Option(help="With --state, also save every this many seconds (0: only at the end).", min=0.0)] = 60.0,
    expire: Annotated[Optional[str], typer.Option(help="Drop series unseen for this long (by record time) from the state: 90s, 15m, 12h, 7d, 2w.", metavar="DURATION")] = None,
    rejects: RejectsOpt = None,
    strict: StrictOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Mark unusual values in every series (records sharing the --by fields), online, in one pass.

    Each record with a number in --field passes through with an "anomaly" mark: detector, score in
    [0, 1], is_anomaly, expected and series; other records pass through untouched. With --state the
    detectors' memory is carried between runs, so a cron job sees one continuous stream.
    """
    if field is None:
        field = ["value"]
    if param is None:
        param = []
    if list_:
        _print_list()
        raise typer.Exit()
    options = core.DetectOptions(
        detector=detector,
        params=_typed(detector, _params(param)),
        fields=_split(field) or ("value",),
        by=_split([by]),
        threshold=threshold,
        only_anomalies=only_anomalies,
        state=state,
        checkpoint=checkpoint,
        expire=None if expire is None else parse_duration(expire),
    )
    if not options.by:
        raise typer.BadParameter("needs at least one field", param_hint="--by")
    try:
        series = core.Series(options)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    with Rejects(rejects, stage="detect", strict=strict) as bad:
        try:
            summary = core.detect(inputs or ["-"], Writer(), bad, series)
        except core.StateError as exc:
            say(f"ben detect: {exc}")
            raise typer.Exit(ExitStatus.ERROR) from None
    if not quiet:
        summary.report(sys.stderr, bad)

"""``ben sink``: store records in ClickHouse (exactly once), an NDJSON file, or stdout."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from ben_cli.ndjson import Writer
from ben_cli.sink import BatchLimits, DurableRejects, FileOptions, SinkOptions, parse_target, run

from ._common import Inputs, QuietOpt, RejectsOpt, StrictOpt, as_duration, as_size, say

app = typer.Typer()

NOT_IN_RUN = ("tee",)


def options_from(p: dict) -> SinkOptions:
    """The core's options from the command's parameters (the command and `ben run` both read them here)."""
    return SinkOptions(
        target=parse_target(p["to"]),
        limits=BatchLimits(p["batch_rows"], int(p["batch_bytes"]) or 1, float(p["batch_age"])),
        retry_for=float(p["retry_for"]),
        file=FileOptions(p["rotate_size"], p["rotate_every"], p["gzip"]),  # converted by callbacks
        from_start=p["from_start"],
        workers=p["workers"],
        ack=p["ack"],
        partitions=p["partitions"],
        by=tuple(b.strip() for b in p["by"].split(",") if b.strip()) or ("source", "name"),
    )


@app.command()
def sink(
    inputs: Inputs = None,
    to: Annotated[Optional[str], typer.Option("--to", metavar="URL", help="clickhouse://[user[:password]@]host[:port]/db[?table=T] (native protocol, port 9000), clickhouse+http://... (HTTP, port 8123: faster), nats://host[:4222]/SUBJECT (JetStream, ben[nats]), file:PATH or - (stdout). Default: file:$BEN_HOME/spool/records.ndjson.")] = None,
    partitions: Annotated[Optional[int], typer.Option("--partitions", min=1, metavar="P", help="nats: partitions of a stream made now (default 12); an existing stream keeps its own.")] = None,
    by: Annotated[str, typer.Option("--by", metavar="FIELDS", help="nats: the series key (detect's --by): a record goes to SUBJECT.<hash of the key mod P>.")] = "source,name",
    tee: Annotated[bool, typer.Option("--tee", help="Also pass the records on to stdout.")] = False,
    batch_rows: Annotated[int, typer.Option(help="Close a batch at this many rows.", min=1)] = 100_000,
    # sizes and durations are read as text and handed on as bytes and seconds by their callbacks
    batch_bytes: Annotated[str, typer.Option(help="... or at this many bytes of NDJSON.", metavar="SIZE", callback=as_size)] = "32M",
    batch_age: Annotated[str, typer.Option(help="... or when its first record is this old.", metavar="DURATION", callback=as_duration)] = "1s",
    retry_for: Annotated[str, typer.Option(help="Keep retrying transient server errors this long, then exit 1 (the spool keeps the batch).", metavar="DURATION", callback=as_duration)] = "5m",
    rotate_size: Annotated[Optional[str], typer.Option(help="file: rotate the file at this size.", metavar="SIZE", callback=as_size)] = None,
    rotate_every: Annotated[Optional[str], typer.Option(help="file: rotate the file when it is this old.", metavar="DURATION", callback=as_duration)] = None,
    gzip: Annotated[bool, typer.Option("--gzip", help="file: write gzip.")] = False,
    from_start: Annotated[bool, typer.Option("--from-start", help="Read input files from their start, not from where earlier runs got to.")] = False,
    ack: Annotated[Optional[Path], typer.Option("--ack", metavar="STATE", help="Acknowledge to the ben ingest --since-last run with this --state: keep in STATE.ack how far into each input the records held reach, drop records at or below it, and let that ingest resume from there (exactly once end to end).")] = None,
    workers: Annotated[Optional[int], typer.Option(help="clickhouse+http: processes converting records (default: one per core, at most 4; 1: none, the reader converts).", min=1)] = None,
    policy: Annotated[Optional[Path], typer.Option("--policy", help="Store only what this policy allows (destination: the --to URL); denied records go to --rejects with the rule, rate-limited ones are counted.")] = None,
    identity: Annotated[Optional[str], typer.Option("--identity", help="--policy: who sends the records, unless a record carries via.peer.")] = None,
    group: Annotated[Optional[list[str]], typer.Option("--group", help="--policy: a group of that identity; repeatable.")] = None,
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
    if tee and to == "-":
        raise typer.BadParameter("--tee with --to - would write every record twice", param_hint="--tee")
    options = options_from(locals())
    with DurableRejects(rejects, stage="sink", strict=strict) as bad:
        gate = None
        if policy is not None:
            from ben_cli.policy.enforce import gate_for

            gate = gate_for(policy, bad, identity, tuple(group or ()), to if to is not None else f"file:{getattr(options.target, 'path', '-')}")
            options.admit = gate.admit
        summary = run(inputs or ["-"], Writer() if tee else None, bad, options,
                      notify=lambda m: say(f"ben sink: {m}", quiet))
    if not quiet:
        for line in gate.limited_lines() if gate is not None else ():
            sys.stderr.write(f"ben sink: {line}\n")
        summary.report(sys.stderr, bad)

"""``ben ingest``: normalise what producers write into NDJSON envelopes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from ben_cli import ingest as core
from ben_cli.ndjson import DEFAULT_MAX_LINE_BYTES, Writer
from ben_cli.rejects import Rejects

from ._common import Inputs, QuietOpt, RejectsOpt, StrictOpt, as_duration, as_share, as_size, say, stderr_is_terminal
from ._contract_gate import CRL_HELP, TRUST_HELP
from ._door_gates import DoorGates, GroupOpt, IdentityOpt, PolicyOpt
from ._ingest_options import NOT_IN_RUN as NOT_IN_RUN  # ben run reads it here
from ._ingest_options import as_tz, check_format, check_lane, options_from
from ._progress import ProgressBar

app = typer.Typer()


@app.command()
def ingest(
    inputs: Inputs = None,
    format: Annotated[str, typer.Option("--format", "-f", callback=check_format, help="Input format: auto (sniffed per input), ndjson, logfmt, lines, syslog, journal, csv, tsv, prom or otlp.")] = "auto",
    lane: Annotated[str, typer.Option(callback=check_lane, help="Lane for records that name none: diag, event or control.")] = "diag",
    source: Annotated[Optional[str], typer.Option(help="Source for records that name none (host or service).")] = None,
    tz: Annotated[Optional[str], typer.Option("--tz", callback=as_tz, metavar="ZONE", help="Zone of timestamps that carry none, in every format: UTC, +02:00 or a name like Europe/Paris. Default: $TZ, else this machine's zone for syslog and UTC otherwise.")] = None,
    multiline: Annotated[str, typer.Option(help="lines: join a stack trace's lines to the record they follow: auto (indented lines, and lines without a stamp once stamps were seen), indent, or off (a record per line).")] = "off",
    ts_format: Annotated[Optional[list[str]], typer.Option("--ts-format", metavar="STRFTIME", help="lines with --pattern: read the ts group with this strftime format (repeat for several).")] = None,
    pattern: Annotated[Optional[list[str]], typer.Option("--pattern", metavar="REGEX", help="lines: a layout of your own, a regex with named groups ts (or Y m d H M S f z), level, host, program, pid, thread, logger, msg; others go to attrs. Implies --format lines.")] = None,
    layouts: Annotated[Optional[Path], typer.Option("--layouts", metavar="FILE", help="lines: a TOML file of named layouts ([layouts.NAME] pattern, ts-format, example). Implies --format lines.")] = None,
    require_ts: Annotated[bool, typer.Option("--require-ts", help="Reject records without a time of their own instead of giving them the time of reading.")] = False,
    max_reject_share: Annotated[Optional[str], typer.Option(callback=as_share, metavar="SHARE", help="Exit 1 when more than this share of the lines read was rejected (5%, 0.05).")] = None,
    ts_field: Annotated[Optional[str], typer.Option(help="CSV/TSV: the column holding the time.")] = None,
    value_field: Annotated[Optional[str], typer.Option(help="CSV/TSV: the column holding the measured value.")] = None,
    name_field: Annotated[Optional[str], typer.Option(help="CSV/TSV: the column holding the record's name.")] = None,
    follow: Annotated[bool, typer.Option("--follow", "-F", help="Keep reading the files as they grow and across rotation, until interrupted.")] = False,
    since_last: Annotated[bool, typer.Option("--since-last", help="Read only what is new since the previous run with the same --state, then exit.")] = False,
    state: Annotated[Optional[Path], typer.Option(help="Offsets file for --since-last and --follow. Default: ingest-offsets.json under $BEN_HOME.", metavar="FILE")] = None,
    ack: Annotated[bool, typer.Option("--ack", help="--since-last/--follow: resume from what `ben sink --ack STATE` (the same --state) holds, not from what was read, so records lost in flight are read again.")] = False,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", metavar="FILE", help="Append records to FILE instead of stdout. With --since-last/--follow it is committed with the offsets, so a killed run neither repeats nor loses a line.")] = None,
    listen: Annotated[Optional[str], typer.Option(metavar="ADDRESS", help="Serve instead of reading files: tcp://127.0.0.1:PORT, udp://127.0.0.1:PORT or unix:PATH; or receive OTLP (logs, metrics, traces) over grpc://127.0.0.1:4317 or http://127.0.0.1:4318.")] = None,
    max_clients: Annotated[int, typer.Option(help="--listen: most connections served at once; more wait to be accepted (grpc: requests under way, more are refused RESOURCE_EXHAUSTED; http: more connections are closed).", min=1)] = 256,
    max_per_address: Annotated[int, typer.Option(help="--listen: most connections from one IP address (one user on a Unix socket); more are closed at once.", min=1)] = 64,
    idle_timeout: Annotated[str, typer.Option(callback=as_duration, metavar="DURATION", help="--listen: close a connection that sends nothing for this long.")] = "5m",
    line_timeout: Annotated[str, typer.Option(callback=as_duration, metavar="DURATION", help="--listen: a line unfinished this long after its first byte is rejected and its connection closed.")] = "30s",
    drain_timeout: Annotated[str, typer.Option(callback=as_duration, metavar="DURATION", help="--listen: on SIGTERM, at most this long to take in what clients had sent.")] = "5s",
    allow_remote: Annotated[bool, typer.Option("--allow-remote", help="--listen: allow an address other than loopback.")] = False,
    max_request_bytes: Annotated[str, typer.Option(callback=as_size, metavar="SIZE", help="--listen grpc/http: refuse an export request larger than this, after decompression.")] = "4M",
    retry_after: Annotated[str, typer.Option(callback=as_duration, metavar="DURATION", help="--listen grpc/http: a request the output has not taken within this long is refused as retryable (RESOURCE_EXHAUSTED, HTTP 503), retry after as long.")] = "1s",
    tls_cert: Annotated[Optional[Path], typer.Option(metavar="FILE", help="--listen grpc/http: serve TLS with this certificate (PEM, with its chain).")] = None,
    tls_key: Annotated[Optional[Path], typer.Option(metavar="FILE", help="--listen grpc/http: the private key of --tls-cert (PEM).")] = None,
    tls_client_ca: Annotated[Optional[Path], typer.Option(metavar="FILE", help="--listen grpc/http: mutual TLS: accept only clients with a certificate signed by this CA (PEM).")] = None,
    token_file: Annotated[Optional[Path], typer.Option(metavar="FILE", help="--listen grpc/http: require 'Authorization: Bearer TOKEN', the token being this file's first line.")] = None,
    from_: Annotated[Optional[str], typer.Option("--from", metavar="URL", help="Read NATS JetStream instead of files: nats://host[:4222]/SUBJECT (what ben sink --to published there; ben[nats]).")] = None,
    durable: Annotated[Optional[str], typer.Option(metavar="NAME", help="--from: the consumers' name on the server (one per partition, NAME-P), kept across runs.")] = None,
    partitions: Annotated[Optional[str], typer.Option("--partitions", metavar="I/N", help="--from: read only the partitions p with p % N == I (each series is on one partition).")] = None,
    max_idle: Annotated[Optional[str], typer.Option(callback=as_duration, metavar="DURATION", help="--from: stop once nothing came for this long (default: run until SIGTERM).")] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Processes decoding a big file in a line-by-line format (0: one per CPU). Output is the same as with 1.", min=0)] = 0,
    max_line_bytes: Annotated[str, typer.Option(callback=as_size, metavar="SIZE", help="Reject lines longer than this (bytes, or 64K, 1M).")] = str(DEFAULT_MAX_LINE_BYTES),
    contract: Annotated[Optional[Path], typer.Option("--contract", metavar="FILE", help="Hold every record to this contract (.ben): a record that breaks it goes to --rejects with each violation; with --listen grpc/http it is refused in the answer's partial_success too. Decodes in one process.")] = None,
    contract_mode: Annotated[str, typer.Option(metavar="MODE", help="--contract: reject, or warn (records pass, marked contract: {violations: [...]}).")] = "reject",
    policy: PolicyOpt = None,
    identity: IdentityOpt = None,
    group: GroupOpt = None,
    trust: Annotated[Optional[Path], typer.Option("--trust", metavar="BUNDLE", help="--contract: " + TRUST_HELP)] = None,
    crl: Annotated[Optional[Path], typer.Option("--crl", metavar="FILE", help="--contract: " + CRL_HELP)] = None,
    rejects: RejectsOpt = None,
    strict: StrictOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Read logs and metrics in the formats producers write; emit one NDJSON envelope per record.

    Aliases are folded into the envelope (timestamp/@timestamp/time -> ts, msg/message/log -> body,
    level -> severity, host/hostname/service -> source); other fields go into attrs. A record
    without a time of its own gets the time it was read, marked _ingest.ts "read" and counted
    (--require-ts rejects it instead). Bad lines go to --rejects with their reason; an input that
    cannot be read is reported and skipped, and the run exits 1 at the end.
    """
    options = options_from(locals())
    progress = ProgressBar() if stderr_is_terminal() and not quiet else None
    options.progress = progress.update if progress is not None else None
    options.notify = lambda m: say(f"ben ingest: {m}", quiet)
    gate = DoorGates.of(contract, contract_mode, policy, identity, group, quiet, trust, crl)
    with Rejects(rejects, stage="ingest", strict=strict) as bad:
        if gate is not None:
            gate.attach(bad, options)
        try:
            summary = core.run(inputs or [], Writer(), bad, options)
        finally:
            if progress is not None:
                progress.stop()
        if gate is not None:
            gate.flush()
    if not quiet:
        summary.report(sys.stderr, bad)
        if gate is not None:
            gate.report()
    failure = summary.failure(max_reject_share, quiet)  # type: ignore[arg-type]  # the callback made it a float
    if failure is not None:
        raise failure

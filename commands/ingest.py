"""``ben ingest``: normalise what producers write into NDJSON envelopes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from ben_cli import ingest as core
from ben_cli.ndjson import DEFAULT_MAX_LINE_BYTES, Writer
from ben_cli.record import LANES
from ben_cli.rejects import Rejects

from ._common import Inputs, QuietOpt, RejectsOpt, StrictOpt, as_duration, as_share, as_size, say, stderr_is_terminal
from ._contract_gate import CRL_HELP, TRUST_HELP
from ._door_gates import DoorGates, GroupOpt, IdentityOpt, PolicyOpt
from ._progress import ProgressBar

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


def _as_tz(value: Optional[str]) -> object:
    try:
        return None if value is None else core.parse_tz(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


# `ben run` hands records on to the next stage, never to a file of ingest's own.
NOT_IN_RUN = ("output", "contract")


def options_from(p: dict) -> core.IngestOptions:
    """The core's options from the command's parameters (the command and `ben run` both read them here)."""
    if p["multiline"] not in ("auto", "indent", "off"):
        raise typer.BadParameter("must be auto, indent or off", param_hint="--multiline")
    formats = tuple(p["ts_format"] or ())
    user = core.layouts_from_options(p["pattern"] or [], None if p["layouts"] is None else str(p["layouts"]), formats)
    fmt = "lines" if user and p["format"] == "auto" else p["format"]
    decode = core.DecodeOptions(lane=p["lane"], source=p["source"], ts_field=p["ts_field"], value_field=p["value_field"],
                                name_field=p["name_field"], require_ts=p["require_ts"], layouts=user, ts_formats=formats,
                                multiline=p["multiline"])
    tz = p["tz"] if p["tz"] is not None else core.zone_from_environment()
    if tz is not None:
        decode.tz = tz  # the callback made it a zone
        decode.tz_offset_s = core.utc_offset_now(decode.tz)
    quiet = p["quiet"]
    return core.IngestOptions(
        format=fmt, decode=decode, max_line_bytes=int(p["max_line_bytes"]), jobs=p["jobs"], follow=p["follow"],
        since_last=p["since_last"], state=p["state"], ack=p["ack"], output=p["output"], listen=p["listen"],
        max_clients=p["max_clients"], max_per_address=p["max_per_address"], idle_timeout=float(p["idle_timeout"]),
        line_timeout=float(p["line_timeout"]), drain_timeout=float(p["drain_timeout"]),
        allow_remote=p["allow_remote"], max_request_bytes=int(p["max_request_bytes"]), retry_after=float(p["retry_after"]),
        tls_cert=p["tls_cert"], tls_key=p["tls_key"], tls_client_ca=p["tls_client_ca"], token_file=p["token_file"],
        on_format=lambda name, fmt: say(f"ben ingest: {name}: format {fmt}", quiet),
        on_ready=lambda where: say(f"ben ingest: listening on {where}", quiet))


@app.command()
def ingest(
    inputs: Inputs = None,
    format: Annotated[str, typer.Option("--format", "-f", callback=_check_format, help="Input format: auto (sniffed per input), ndjson, logfmt, lines, syslog, journal, csv, tsv, prom or otlp.")] = "auto",
    lane: Annotated[str, typer.Option(callback=_check_lane, help="Lane for records that name none: diag, event or control.")] = "diag",
    source: Annotated[Optional[str], typer.Option(help="Source for records that name none (host or service).")] = None,
    tz: Annotated[Optional[str], typer.Option("--tz", callback=_as_tz, metavar="ZONE", help="Zone of timestamps that carry none, in every format: UTC, +02:00 or a name like Europe/Paris. Default: $TZ, else this machine's zone for syslog and UTC otherwise.")] = None,
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

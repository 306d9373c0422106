"""``ben scrub``: remove personal data and secrets from envelopes, keeping them useful."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import orjson
import typer

from ben_cli import scrub as core
from ben_cli.errors import ExitStatus
from ben_cli.ndjson import DEFAULT_MAX_LINE_BYTES, Writer
from ben_cli.rejects import Rejects

from ._common import Inputs, QuietOpt, RejectsOpt, StrictOpt, say

app = typer.Typer()


@app.command()
def scrub(
    inputs: Inputs = None,
    policy: Annotated[Optional[Path], typer.Option("--policy", metavar="FILE", help="Scrub policy (TOML); see --print-policy for the default and its format.")] = None,
    print_policy: Annotated[bool, typer.Option("--print-policy", help="Print the default policy (TOML, commented) and exit.")] = False,
    key: Annotated[Optional[Path], typer.Option("--key", metavar="FILE", help="HMAC key file for pseudonyms (0600); default: $BEN_HOME/scrub/hmac.key, created on first use.")] = None,
    report: Annotated[bool, typer.Option("--report", help="Change nothing: pass records through and print counts per entity and field on stderr.")] = False,
    report_json: Annotated[bool, typer.Option("--report-json", help="Like --report, with the counts as one JSON object on stderr.")] = False,
    max_line_bytes: Annotated[int, typer.Option(help="Reject lines longer than this many bytes.", min=1)] = DEFAULT_MAX_LINE_BYTES,
    rejects: RejectsOpt = None,
    strict: StrictOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Find personal data and secrets in every string field and rewrite them by policy.

    Emails get keyed pseudonyms that keep their domain, IP addresses are truncated to their
    network, cards, IBANs, SSNs, phone numbers, tokens, passwords and keys are redacted. Each
    output record carries `redacted`, the sorted names of the entities found. A record that
    cannot be scrubbed safely goes to --rejects; it is never passed on unscrubbed.
    """
    if print_policy:
        sys.stdout.write(core.DEFAULT_POLICY)
        return
    try:
        pol = core.load_policy(policy)
        if key is not None:
            from ben_cli.scrub.keys import read_key

            key_bytes: bytes | None = read_key(key)
        else:
            key_bytes = None
    except (core.PolicyError, core.KeyFileError) as exc:
        say(f"ben scrub: {exc}")
        raise typer.Exit(ExitStatus.USAGE) from None
    dry_run = report or report_json
    scrubber = core.Scrubber(pol, key=key_bytes, count=dry_run)
    try:
        with Rejects(rejects, stage="scrub", strict=strict) as bad:
            summary = core.scrub_stream(inputs or ["-"], Writer(), bad, scrubber, dry_run=dry_run, max_line_bytes=max_line_bytes)
    except core.KeyFileError as exc:
        say(f"ben scrub: {exc}")
        raise typer.Exit(ExitStatus.ERROR) from None
    if report_json:
        sys.stderr.write(orjson.dumps(core.report_json(scrubber.report)).decode() + "\n")
    elif report:
        sys.stderr.write(core.report_text(scrubber.report))
    if not quiet:
        summary.report(sys.stderr, bad)

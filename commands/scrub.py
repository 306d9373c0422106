"""``ben scrub``: remove personal data and secrets from envelopes, keeping them useful."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import orjson
import typer

from ben_cli import scrub as core
from ben_cli.ndjson import Writer
from ben_cli.rejects import Rejects

from ._common import Inputs, QuietOpt, RejectsOpt, StrictOpt, as_size

app = typer.Typer()


# Flags of the command alone: `ben run` holds no --print-policy, and its stages print no report.
NOT_IN_RUN = ("print_policy", "report", "report_json")


def options_from(p: dict) -> core.ScrubOptions:
    """The core's options from the command's parameters (the command and `ben run` both read them here)."""
    return core.ScrubOptions(policy=p["policy"], key=p["key"], dry_run=p["report"] or p["report_json"],
                             max_line_bytes=p["max_line_bytes"])


@app.command()
def scrub(
    inputs: Inputs = None,
    policy: Annotated[Optional[Path], typer.Option("--policy", metavar="FILE", help="Scrub policy (TOML); see --print-policy for the default and its format.")] = None,
    print_policy: Annotated[bool, typer.Option("--print-policy", help="Print the default policy (TOML, commented) and exit.")] = False,
    key: Annotated[Optional[Path], typer.Option("--key", metavar="FILE", help="HMAC key file for pseudonyms (0600); default: $BEN_HOME/scrub/hmac.key, created on first use.")] = None,
    report: Annotated[bool, typer.Option("--report", help="Change nothing: pass records through and print counts per entity and field on stderr.")] = False,
    report_json: Annotated[bool, typer.Option("--report-json", help="Like --report, with the counts as one JSON object on stderr.")] = False,
    max_line_bytes: Annotated[str, typer.Option(callback=as_size, metavar="SIZE", help="Reject lines longer than this: bytes, or 64K, 1M.")] = "1M",
    rejects: RejectsOpt = None,
    rejects_raw: Annotated[bool, typer.Option("--rejects-raw/--no-rejects-raw", help="With --rejects: keep each bad line's raw (unscrubbed) text, or only its file, line, reason and length.")] = True,
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
    options = options_from(locals())
    with Rejects(rejects, stage="scrub", strict=strict, keep_raw=rejects_raw) as bad:
        summary = core.run(inputs or ["-"], Writer(), bad, options)
    if report_json:
        sys.stderr.write(orjson.dumps(core.report_json(summary.findings)).decode() + "\n")
    elif report:
        sys.stderr.write(core.report_text(summary.findings))
    if not quiet:
        summary.report(sys.stderr, bad)

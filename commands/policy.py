"""``ben policy``: declarative rules over who may send what, how fast and where; signed and enforced."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from ben_cli.errors import ExitStatus

from . import _policy
from ._common import Inputs, QuietOpt, RejectsOpt, StrictOpt, say
from ._policy import CrlOpt, PolicyFile, TrustOpt, load_policy

if TYPE_CHECKING:
    from ben_cli.policy import Who

app = typer.Typer(help="Policies: which identities may send which records, how fast, and where; first match decides.",
                  no_args_is_help=True)

IdentityOpt = Annotated[Optional[str], typer.Option("--identity", help="Who sends the records (a certificate's name), unless a record carries via.peer.")]
GroupOpt = Annotated[Optional[list[str]], typer.Option("--group", help="A group of that identity; repeatable.")]
ToOpt = Annotated[Optional[str], typer.Option("--to", metavar="DEST", help="The destination the records are going to (a sink URL).")]


def who(identity: Optional[str], groups: Optional[list[str]], to: Optional[str]) -> Who:
    from ben_cli.policy import Who

    return Who(identity, tuple(groups or ()), to)


@app.command()
def check(
    files: Annotated[list[Path], typer.Argument(help="Policies to check.", metavar="POLICY...", show_default=False)],
    strict: Annotated[bool, typer.Option("--strict", help="Warnings (rules that never match or are shadowed) fail too.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Check policies: faults and warnings with file:line:col, the line, a caret and a
    did-you-mean; exit status 1 when a policy has a fault (or, with --strict, a warning)."""
    from ben_cli.policy.check import faults

    bad = 0
    for path in files:
        errors, warnings = faults(path)
        for found in (*errors, *warnings):
            sys.stderr.write(found.render() + "\n")
        if errors or (strict and warnings):
            bad += 1
        else:
            say(f"ben policy check: {path}: ok, {len(warnings)} warning(s)", quiet)
    if bad:
        raise typer.Exit(ExitStatus.ERROR)


@app.command(name="test")
def test_(
    file: PolicyFile,
    cases: Annotated[Path, typer.Argument(help="The cases (NDJSON: name, record or records, identity, groups, to, expect, rule).", metavar="CASES", show_default=False)],
    quiet: QuietOpt = False,
) -> None:
    """Run table-driven cases against a policy: PASS or FAIL per case, then a coverage line of the
    rules that decided a case; exit status 1 when a case fails."""
    from ben_cli.policy import run_cases

    report = run_cases(load_policy(file), cases)
    for result in report.results:
        if not result.ok:
            sys.stdout.write(f"FAIL {result.name}: {result.detail}\n")
        elif not quiet:
            sys.stdout.write(f"PASS {result.name}\n")
    sys.stdout.write(f"{len(report.results) - report.failed} passed, {report.failed} failed; {report.coverage_line()}\n")
    if report.failed:
        raise typer.Exit(ExitStatus.ERROR)


@app.command(name="eval")
def eval_(
    file: PolicyFile,
    record: Annotated[Optional[str], typer.Argument(help="The record (JSON); default: the first line of stdin.", show_default=False)] = None,
    identity: IdentityOpt = None,
    group: GroupOpt = None,
    to: ToOpt = None,
) -> None:
    """Decide one record and explain it: the rule that decided, the tests it matched, and the
    rules passed over with the test that failed in each (JSON on stdout)."""
    from ben_cli.policy.evaluate import explain_text

    text = record if record is not None else sys.stdin.readline()
    sys.stdout.write(explain_text(load_policy(file), text, who(identity, group, to)) + "\n")


@app.command()
def enforce(
    inputs: Inputs = None,
    policy: Annotated[Optional[Path], typer.Option("--policy", help="The policy file to enforce.")] = None,
    installed: Annotated[Optional[str], typer.Option("--installed", metavar="NAME", help="Enforce the installed, verified version of this policy instead.")] = None,
    watch: Annotated[bool, typer.Option("--watch", help="With --installed: take up a newer installed version (verified again) without stopping.")] = False,
    identity: IdentityOpt = None,
    group: GroupOpt = None,
    cert: Annotated[Optional[Path], typer.Option("--cert", help="Take the identity and groups from this certificate, once it verifies against --trust and --crl.")] = None,
    to: ToOpt = None,
    stats: Annotated[bool, typer.Option("--stats", help="End with a policy.stats record: read, allowed, denied and rate-limited, per rule.")] = False,
    trust: TrustOpt = None,
    crl: CrlOpt = None,
    rejects: RejectsOpt = None,
    strict: StrictOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Filter NDJSON records through a policy: allowed records pass unchanged; denied ones go to
    --rejects with the rule that denied them; rate-limited ones are dropped and counted per rule.
    Alert rules add control-lane policy.alert records when their threshold is crossed."""
    from ben_cli.ndjson import Writer
    from ben_cli.policy import PolicyOptions
    from ben_cli.policy.enforce import enforce_installed, run
    from ben_cli.rejects import Rejects

    if (policy is None) == (installed is None):
        raise typer.BadParameter("give --policy FILE or --installed NAME (one of them)", param_hint="--policy")
    if watch and installed is None:
        raise typer.BadParameter("--watch takes up newly installed versions: it needs --installed NAME", param_hint="--watch")
    if cert is not None and (identity or group):
        raise typer.BadParameter("--cert names the identity and groups: give it alone", param_hint="--cert")
    from ben_cli.policy.bundle import who_from_certificate

    sender = who_from_certificate(cert, trust, crl, int(time.time()), to) if cert else who(identity, group, to)
    options = PolicyOptions(sender, stats)
    with Rejects(rejects, stage="policy", strict=strict) as bad:
        if installed is not None:
            summary, gate = enforce_installed(installed, inputs or ["-"], Writer(), bad, options, trust, crl, watch,
                                              notify=lambda m: say(f"ben policy enforce: {m}", quiet))
        else:
            assert policy is not None
            summary, gate = run(load_policy(policy, quiet), inputs or ["-"], Writer(), bad, options)
    if not quiet:
        for line in gate.limited_lines():
            sys.stderr.write(f"ben policy enforce: {line}\n")
        summary.report(sys.stderr, bad)


_policy.register(app)

"""``ben contract``: telemetry contracts: check, format, compile, infer, diff and enforce them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from ben_cli.errors import ExitStatus

from ._common import Inputs, QuietOpt, RejectsOpt, StrictOpt, say
from ._contract_gate import CRL_HELP, TRUST_HELP, ContractGate, load_contract

if TYPE_CHECKING:
    pass

app = typer.Typer(help="Telemetry contracts (.ben files): what a lane's records must look like, checked at ingest.",
                  no_args_is_help=True)

ContractFile = Annotated[Path, typer.Argument(help="The contract (.ben file).", metavar="CONTRACT", show_default=False)]
MODE_HELP = "reject: records that break a rule go to --rejects; warn: they pass, marked contract: {violations: [...]}."


@app.command()
def check(
    files: Annotated[list[Path], typer.Argument(help="Contracts to check.", metavar="CONTRACT...", show_default=False)],
    quiet: QuietOpt = False,
) -> None:
    """Check contracts: every fault with file:line:col, the line, a caret under it and a
    did-you-mean; exit status 1 when any contract has a fault."""
    from ben_cli.contract import faults

    bad = 0
    for path in files:
        found = faults(path)
        if found is not None:
            sys.stderr.write(found + "\n")
            bad += 1
        else:
            say(f"ben contract check: {path}: ok", quiet)
    if bad:
        raise typer.Exit(ExitStatus.ERROR)


@app.command()
def fmt(
    file: ContractFile,
    write: Annotated[bool, typer.Option("--write", help="Rewrite the file in place (atomically) instead of printing.")] = False,
    check_only: Annotated[bool, typer.Option("--check", help="Print nothing; exit 1 when the file is not in canonical layout.")] = False,
) -> None:
    """Print a contract in its canonical layout (idempotent; comments kept, each on its own line)."""
    from ben_cli.atomic import write_atomic
    from ben_cli.contract import fmt as layout

    text = layout(load_contract(file))
    if check_only and file.read_text(encoding="utf-8") != text:
        say(f"ben contract fmt: {file}: not in canonical layout")
        raise typer.Exit(ExitStatus.ERROR)
    if write:
        write_atomic(file, text.encode("utf-8"))
    elif not check_only:
        sys.stdout.write(text)


@app.command(name="compile")
def compile_(
    file: ContractFile,
    to: Annotated[str, typer.Option("--to", help="python (a validator module), jsonschema (draft 2020-12), clickhouse (a view per kind) or scrub (field rules of a ben scrub policy for the pii fields).")] = "python",
    schema: Annotated[str, typer.Option(help="clickhouse: the table's schema, modern (22.3 and later) or legacy.")] = "modern",
    database: Annotated[str, typer.Option(help="clickhouse: the database of ben's table.")] = "ben",
    table: Annotated[str, typer.Option(help="clickhouse: ben's telemetry table.")] = "telemetry",
) -> None:
    """Compile a contract: a Python validator, a JSON Schema, ClickHouse views or ben scrub field rules."""
    from ben_cli.contract.targets import compiled

    sys.stdout.write(compiled(load_contract(file), to, schema, database, table))


@app.command()
def infer(
    inputs: Inputs = None,
    name: Annotated[str, typer.Option(help="The contract's name.")] = "inferred",
    rejects: RejectsOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Write a starting contract from records: types, ranges, small enums, presence, label cardinalities."""
    from ben_cli.contract.infer import infer as inferred
    from ben_cli.rejects import Rejects

    with Rejects(rejects, stage="contract") as bad:
        text, read, described = inferred(inputs or ["-"], bad, name)
    sys.stdout.write(text)
    say(f"ben contract infer: read {read}, described {described}, rejected {bad.count}", quiet)


@app.command()
def diff(
    old: Annotated[Path, typer.Argument(help="The contract producers keep now.", show_default=False)],
    new: Annotated[Path, typer.Argument(help="The contract that would replace it.", show_default=False)],
) -> None:
    """Say which changes from OLD to NEW break existing producers (NDJSON, one change a line);
    exit status 1 when one does (a new required field, a narrower range, a type changed)."""
    from ben_cli.contract.diff import BREAKS
    from ben_cli.contract.diff import diff as changes
    from ben_cli.ndjson import Writer

    found = changes(load_contract(old), load_contract(new))
    with Writer() as out:
        out.write_all(c.record(str(new), str(old)) for c in found)
    if any(c.effect == BREAKS for c in found):
        raise typer.Exit(ExitStatus.ERROR)


@app.command()
def validate(
    file: ContractFile,
    inputs: Inputs = None,
    mode: Annotated[str, typer.Option(metavar="MODE", help=MODE_HELP)] = "reject",
    trust: Annotated[Optional[Path], typer.Option("--trust", metavar="BUNDLE", help=TRUST_HELP)] = None,
    crl: Annotated[Optional[Path], typer.Option("--crl", metavar="FILE", help=CRL_HELP)] = None,
    rejects: RejectsOpt = None,
    strict: StrictOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Hold NDJSON records to a contract: as a filter, records that keep it go on.

    Each violation names the rule, the field, the value and the contract's file:line. Cardinality
    overflows are reported on stderr once per key and window, with the most frequent values. A
    signed lane's records need a sig (ben key sign --cert) whose certificate --trust allows.
    """
    from ben_cli import contract as core
    from ben_cli.ndjson import Writer
    from ben_cli.rejects import Rejects

    gate = ContractGate(file, mode, quiet, trust, crl, who="ben contract", mode_flag="--mode")
    with Rejects(rejects, stage="contract", strict=strict) as bad:
        summary = core.run(gate.loaded, inputs or ["-"], Writer(), bad, gate.options)
    if not quiet:
        summary.report(sys.stderr, bad)

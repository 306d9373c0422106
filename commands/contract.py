"""``ben contract``: telemetry contracts: check, format, compile, infer, diff and enforce them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ben_cli.errors import ExitStatus

from ._common import Inputs, QuietOpt, RejectsOpt, StrictOpt, say

if TYPE_CHECKING:
    from ben_cli.contract import Contract

app = typer.Typer(help="Telemetry contracts (.ben files): what a lane's records must look like, checked at ingest.",
                  no_args_is_help=True)

ContractFile = Annotated[Path, typer.Argument(help="The contract (.ben file).", metavar="CONTRACT", show_default=False)]
MODE_HELP = "reject: records that break a rule go to --rejects; warn: they pass, marked contract: {violations: [...]}."


def load_contract(path: Path) -> Contract:
    """The checked contract at ``path``; its faults are printed with the line and a caret, and
    end the run with status 2."""
    from ben_cli import contract as core

    try:
        return core.load(path)
    except core.ContractError as exc:
        sys.stderr.write(exc.render() + "\n")
    except core.ContractErrors as exc:
        for each in exc.errors:
            sys.stderr.write(each.render() + "\n")
    raise typer.Exit(ExitStatus.USAGE)


def overflow_message(report: dict, who: str = "ben contract") -> str:
    top = ", ".join(f"{v} ({n})" for v, n in report["top"])
    return (f"{who}: attrs.{report['key']} of {report['lane']} {report['kind']}: more than {report['limit']} "
            f"values in the window from {report['window']}; {report['over']} records past the limit, most: {top}")


@app.command()
def check(
    files: Annotated[list[Path], typer.Argument(help="Contracts to check.", metavar="CONTRACT...", show_default=False)],
    quiet: QuietOpt = False,
) -> None:
    """Check contracts: every fault with file:line:col, the line, a caret under it and a did-you-mean.

    Exit status 1 when any contract has a fault.
    """
    from ben_cli import contract as core

    bad = 0
    for path in files:
        try:
            core.load(path)
        except core.ContractError as exc:
            sys.stderr.write(exc.render() + "\n")
            bad += 1
        except core.ContractErrors as exc:
            for each in exc.errors:
                sys.stderr.write(each.render() + "\n")
            bad += 1
        else:
            say(f"ben contract check: {path}: ok", quiet)
    if bad:
        raise typer.Exit(ExitStatus.ERROR)


@app.command()
def fmt(
    file: ContractFile,
    write: Annotated[bool, typer.Option("--write", "-w", help="Rewrite the file in place (atomically) instead of printing.")] = False,
    check_only: Annotated[bool, typer.Option("--check", help="Print nothing; exit 1 when the file is not in canonical layout.")] = False,
) -> None:
    """Print a contract in its canonical layout (idempotent; comments kept, each on a line of its own)."""
    from ben_cli.atomic import write_atomic
    from ben_cli.contract import fmt as layout

    text = layout(load_contract(file))
    if check_only:
        if file.read_text(encoding="utf-8") != text:
            say(f"ben contract fmt: {file}: not in canonical layout")
            raise typer.Exit(ExitStatus.ERROR)
    elif write:
        write_atomic(file, text.encode("utf-8"))
    else:
        sys.stdout.write(text)


@app.command(name="compile")
def compile_(
    file: ContractFile,
    to: Annotated[str, typer.Option("--to", help="python (a validator module), jsonschema (draft 2020-12) or clickhouse (a view per kind).")] = "python",
    schema: Annotated[str, typer.Option(help="clickhouse: the table's schema, modern (22.3 and later) or legacy.")] = "modern",
    database: Annotated[str, typer.Option(help="clickhouse: the database of ben's table.")] = "ben",
    table: Annotated[str, typer.Option(help="clickhouse: ben's telemetry table.")] = "telemetry",
) -> None:
    """Compile a contract: a Python validator, a JSON Schema, or ClickHouse views with typed columns."""
    import orjson

    from ben_cli.contract import ddl, jsonschema_out, python_source

    contract = load_contract(file)
    if to == "python":
        sys.stdout.write(python_source(contract))
    elif to == "jsonschema":
        sys.stdout.write(orjson.dumps(jsonschema_out.json_schema(contract), option=orjson.OPT_INDENT_2).decode() + "\n")
    elif to == "clickhouse":
        if schema not in (ddl.LEGACY, ddl.MODERN):
            raise typer.BadParameter("must be modern or legacy", param_hint="--schema")
        for sql in ddl.views(contract, schema, database, table):
            sys.stdout.write(sql + ";\n\n")
    else:
        raise typer.BadParameter("must be python, jsonschema or clickhouse", param_hint="--to")


@app.command()
def infer(
    inputs: Inputs = None,
    name: Annotated[str, typer.Option(help="The contract's name.")] = "inferred",
    rejects: RejectsOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Write a starting contract from records: types, ranges, small enums, presence, label cardinalities."""
    from ben_cli.contract import fmt as layout
    from ben_cli.contract.infer import Inferrer
    from ben_cli.ndjson import Reader
    from ben_cli.rejects import Rejects

    inferrer = Inferrer()
    with Rejects(rejects, stage="contract") as bad:
        reader = Reader(inputs or ["-"], bad.add)
        inferrer.feed(reader.records())
    sys.stdout.write(layout(inferrer.contract(name)))
    say(f"ben contract infer: read {reader.read}, described {inferrer.read}, rejected {bad.count}", quiet)


@app.command()
def diff(
    old: Annotated[Path, typer.Argument(help="The contract producers keep now.", show_default=False)],
    new: Annotated[Path, typer.Argument(help="The contract that would replace it.", show_default=False)],
) -> None:
    """Say which changes from OLD to NEW break existing producers (NDJSON, one change a line).

    Exit status 1 when a change breaks (a new required field, a narrower range, a type changed).
    """
    from ben_cli.contract.diff import BREAKS
    from ben_cli.contract.diff import diff as changes
    from ben_cli.ndjson import Writer

    before, after = load_contract(old), load_contract(new)
    found = changes(before, after)
    with Writer() as out:
        out.write_all(c.record(str(new), str(old)) for c in found)
    if any(c.effect == BREAKS for c in found):
        raise typer.Exit(ExitStatus.ERROR)


@app.command()
def validate(
    file: ContractFile,
    inputs: Inputs = None,
    mode: Annotated[str, typer.Option(help=MODE_HELP)] = "reject",
    rejects: RejectsOpt = None,
    strict: StrictOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Hold NDJSON records to a contract: as a filter, records that keep it go on.

    Each violation names the rule, the field, the value and the contract's file:line. Cardinality
    overflows are reported on stderr once per key and window, with the most frequent values.
    """
    from ben_cli import contract as core
    from ben_cli.ndjson import Writer
    from ben_cli.rejects import Rejects

    if mode not in ("reject", "warn"):
        raise typer.BadParameter("must be reject or warn", param_hint="--mode")
    contract = load_contract(file)
    options = core.ContractOptions(mode=mode, on_overflow=lambda r: say(overflow_message(r), quiet))
    with Rejects(rejects, stage="contract", strict=strict) as bad:
        summary = core.run(contract, inputs or ["-"], Writer(), bad, options)
    if not quiet:
        summary.report(sys.stderr, bad)

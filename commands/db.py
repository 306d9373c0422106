"""``ben db``: create and migrate the ClickHouse schema; run queries and saved queries."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from ben_cli.ndjson import Writer

if TYPE_CHECKING:
    from ben_cli.sink.db import Status
    from ben_cli.sink.target import ClickHouseTarget

app = typer.Typer(help="The ClickHouse side of ben: schema, migrations, queries and saved queries.",
                  no_args_is_help=True)

To = Annotated[str, typer.Option("--to", envvar="BEN_CLICKHOUSE_URL", metavar="URL",
                                 help="clickhouse://[user[:password]@]host[:port]/db[?table=T] (or $BEN_CLICKHOUSE_URL).")]
Params = Annotated[Optional[list[str]], typer.Option("--param", "-p", metavar="NAME=VALUE", help="A query parameter; repeatable.")]
Format = Annotated[str, typer.Option("--format", help="auto (a table on a terminal, else NDJSON), ndjson or table.")]


@app.command()
def init(
    to: To,
    cluster: Annotated[Optional[str], typer.Option(help="Create ReplicatedMergeTree tables ON CLUSTER NAME behind Distributed ones.", metavar="NAME")] = None,
    ttl: Annotated[Optional[int], typer.Option(help="Drop rows older than this many days (modern schema only).", metavar="DAYS", min=1)] = None,
    schema: Annotated[str, typer.Option(help="auto (by server version), modern or legacy.")] = "auto",
    schema_version: Annotated[Optional[int], typer.Option(help="Stop at this schema version (default: the latest).", min=1)] = None,
    print_only: Annotated[bool, typer.Option("--print", help="Print the DDL instead of running it.")] = False,
    contract: Annotated[Optional[Path], typer.Option("--contract", metavar="FILE", help="Also create a view per kind of this contract (.ben), with a typed column per field and attrs key.")] = None,
) -> None:
    """Create the database, the telemetry table and its materialized views (idempotent)."""
    from ben_cli.sink import db

    target = db.native_target(to)
    version = schema_version or db.LATEST
    views = (lambda flavour: []) if contract is None else _views(contract, target)
    if print_only:
        for sql in db.ddl(target, schema, to_version=version, cluster=cluster, ttl_days=ttl) + views(schema):
            sys.stdout.write(sql + ";\n\n")
        return
    applied, state = db.migrate(target, to_version=version, flavour=schema, cluster=cluster, ttl_days=ttl)
    _report(target, applied, state)
    if contract is not None:
        db.execute(target, views(state.flavour or schema))
        sys.stderr.write(f"ben db: the views of the contract {contract} are in {target.database}\n")


def _views(path: Path, target: ClickHouseTarget) -> Callable[[str], list[str]]:
    from ben_cli.contract import ddl

    from .contract import load_contract

    loaded = load_contract(path)  # checked before the server is asked anything
    return lambda flavour: ddl.views(loaded, flavour, target.database, target.table)


@app.command()
def migrate(
    to: To,
    target_version: Annotated[Optional[int], typer.Option("--target", help="Migrate up to this schema version (default: the latest).", min=1)] = None,
) -> None:
    """Bring an existing table forward to the latest schema version, recording each step."""
    from ben_cli.sink import db

    target = db.native_target(to)
    _report(target, *db.migrate(target, to_version=target_version or db.LATEST))


def _report(target: ClickHouseTarget, applied: list[tuple[int, str]], state: Status) -> None:
    for number, description in applied:
        sys.stderr.write(f"ben db: applied schema version {number}: {description}\n")
    sys.stderr.write(f"ben db: {target.database}.{target.table} is at schema version {state.version} "
                     f"({state.flavour} schema, server {state.server})\n")


@app.command()
def status(to: To) -> None:
    """Print the server version, the table's schema flavour and version as one NDJSON line."""
    from ben_cli.sink import db

    target = db.native_target(to)
    state = db.status(target)
    Writer().write({"server": state.server, "database": target.database, "table": target.table,
                    "flavour": state.flavour, "version": state.version, "latest": db.LATEST})


def _emit(names: list[str], rows: Iterable[dict], fmt: str) -> None:
    if fmt == "auto":
        fmt = "table" if os.isatty(1) else "ndjson"
    if fmt == "table":
        from rich.console import Console
        from rich.table import Table

        table = Table(*names)
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row.values()))
        Console().print(table)
        return
    with Writer() as out:
        out.write_all(rows)


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="The query; {name:Type} placeholders take --param values.")],
    to: To,
    param: Params = None,
    format: Format = "auto",
) -> None:
    """Run a query; results as NDJSON (or a table on a terminal). Parameters are bound, not pasted."""
    from ben_cli.sink import db, saved_queries

    _emit(*db.query(db.native_target(to), sql, saved_queries.parse_params(param or [])), format)


@app.command()
def proc(
    name: Annotated[Optional[str], typer.Argument(help="A saved query's name (without .sql).")] = None,
    to: Annotated[Optional[str], typer.Option("--to", envvar="BEN_CLICKHOUSE_URL", metavar="URL", help="clickhouse://host[:port]/db[?table=T] (or $BEN_CLICKHOUSE_URL).")] = None,
    param: Params = None,
    queries_dir: Annotated[Optional[list[Path]], typer.Option("--queries", metavar="DIR", help="Another folder of saved queries; repeatable.")] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the saved queries and their parameters.")] = False,
    show: Annotated[bool, typer.Option("--show", help="Print the saved query's SQL instead of running it.")] = False,
    format: Format = "auto",
) -> None:
    """Run a saved query: built-ins, $BEN_HOME/queries/*.sql and --queries folders."""
    from ben_cli.sink import db, saved_queries

    if list_ or name is None:
        with Writer() as out:
            out.write_all(q.listing() for q in saved_queries.saved_queries(queries_dir).values())
        return
    saved = saved_queries.find_saved(name, queries_dir)
    if show:
        sys.stdout.write(saved.sql)
        return
    if not to:
        raise typer.BadParameter("a saved query needs --to URL (or $BEN_CLICKHOUSE_URL)", param_hint="--to")
    _emit(*db.query(db.native_target(to), saved.sql, saved_queries.parse_params(param or []), saved), format)

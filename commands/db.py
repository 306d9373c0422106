"""``ben db``: create and migrate the ClickHouse schema; run queries and saved queries."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from ben_cli.errors import ExitStatus
from ben_cli.ndjson import Writer
from ben_cli.sink.target import ClickHouseTarget, TargetError, parse_target

app = typer.Typer(help="The ClickHouse side of ben: schema, migrations, queries and saved queries.",
                  no_args_is_help=True)

To = Annotated[str, typer.Option("--to", envvar="BEN_CLICKHOUSE_URL", metavar="URL",
                                 help="clickhouse://[user[:password]@]host[:port]/db[?table=T] (or $BEN_CLICKHOUSE_URL).")]
Params = Annotated[Optional[list[str]], typer.Option("--param", "-p", metavar="NAME=VALUE", help="A query parameter; repeatable.")]
Format = Annotated[str, typer.Option("--format", help="auto (a table on a terminal, else NDJSON), ndjson or table.")]


def _target(url: str) -> ClickHouseTarget:
    try:
        target = parse_target(url)
    except TargetError as exc:
        raise typer.BadParameter(str(exc), param_hint="--to") from None
    if not isinstance(target, ClickHouseTarget) or target.http:
        raise typer.BadParameter("ben db works on a clickhouse:// URL (the native port)", param_hint="--to")
    return target


def _fail(exc: Exception) -> typer.Exit:
    sys.stderr.write(f"ben db: {exc}\n")
    return typer.Exit(ExitStatus.ERROR)


@app.command()
def init(
    to: To,
    cluster: Annotated[Optional[str], typer.Option(help="Create ReplicatedMergeTree tables ON CLUSTER NAME behind Distributed ones.", metavar="NAME")] = None,
    ttl: Annotated[Optional[int], typer.Option(help="Drop rows older than this many days (modern schema only).", metavar="DAYS", min=1)] = None,
    schema: Annotated[str, typer.Option(help="auto (by server version), modern or legacy.")] = "auto",
    schema_version: Annotated[Optional[int], typer.Option(help="Stop at this schema version (default: the latest).", min=1)] = None,
    print_only: Annotated[bool, typer.Option("--print", help="Print the DDL instead of running it.")] = False,
) -> None:
    """Create the database, the telemetry table and its materialized views (idempotent)."""
    from ben_cli.sink import db
    from ben_cli.sink import schema as ddl

    target = _target(to)
    if schema not in ("auto", "modern", "legacy"):
        raise typer.BadParameter("must be auto, modern or legacy", param_hint="--schema")
    version = schema_version or ddl.LATEST
    if print_only:
        if schema == "auto":
            raise typer.BadParameter("--print needs --schema modern or legacy (no server is asked)", param_hint="--schema")
        try:
            plan = db.plan(db.schema_for(target, schema, cluster, ttl), 0, version)
        except ValueError as exc:
            raise _fail(exc) from None
        for _, _, statements in plan:
            for sql in statements:
                sys.stdout.write(sql + ";\n\n")
        return
    _migrate(target, version, None if schema == "auto" else schema, cluster, ttl)


@app.command()
def migrate(
    to: To,
    target_version: Annotated[Optional[int], typer.Option("--target", help="Migrate up to this schema version (default: the latest).", min=1)] = None,
) -> None:
    """Bring an existing table forward to the latest schema version, recording each step."""
    from ben_cli.sink import schema as ddl

    _migrate(_target(to), target_version or ddl.LATEST, None, None, None)


def _migrate(target: ClickHouseTarget, version: int, flavour: Optional[str], cluster: Optional[str], ttl: Optional[int]) -> None:
    from ben_cli.sink import db

    client = target.connect(database="default")
    try:
        applied = db.migrate(client, target, to_version=version, flavour=flavour, cluster=cluster, ttl_days=ttl)
        state = db.status(client, target)
    except (db.DbError, ValueError) as exc:
        raise _fail(exc) from None
    finally:
        client.disconnect()
    for number, description in applied:
        sys.stderr.write(f"ben db: applied schema version {number}: {description}\n")
    sys.stderr.write(f"ben db: {target.database}.{target.table} is at schema version {state.version} "
                     f"({state.flavour} schema, server {state.server})\n")


@app.command()
def status(to: To) -> None:
    """Print the server version, the table's schema flavour and version as one NDJSON line."""
    from ben_cli.sink import db
    from ben_cli.sink import schema as ddl

    target = _target(to)
    client = target.connect(database="default")
    try:
        state = db.status(client, target)
    except db.DbError as exc:
        raise _fail(exc) from None
    finally:
        client.disconnect()
    Writer().write({"server": state.server, "database": target.database, "table": target.table,
                    "flavour": state.flavour, "version": state.version, "latest": ddl.LATEST})


def _emit(names: list[str], rows, fmt: str) -> None:
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
    from ben_cli.sink import db, queries

    target = _target(to)
    try:
        names, rows = db.query(target, sql, queries.parse_params(param or []))
        _emit(names, rows, format)
    except (db.DbError, queries.QueryError, TargetError) as exc:
        raise _fail(exc) from None


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
    from ben_cli.sink import db, queries

    found = queries.saved_queries(queries_dir)
    if list_ or name is None:
        with Writer() as out:
            for q in found.values():
                out.write({"name": q.name, "description": q.description, "from": q.path,
                           "params": [{"name": p.name, "type": p.type, **({"default": p.default} if p.default is not None else {})} for p in q.params]})
        return
    saved = found.get(name)
    if saved is None:
        raise _fail(queries.QueryError(f"no saved query {name!r}; `ben db proc --list` shows them"))
    if show:
        sys.stdout.write(saved.sql)
        return
    if not to:
        raise typer.BadParameter("a saved query needs --to URL (or $BEN_CLICKHOUSE_URL)", param_hint="--to")
    target = _target(to)
    try:
        names, rows = db.query(target, saved.sql, queries.parse_params(param or []), saved)
        _emit(names, rows, format)
    except (db.DbError, queries.QueryError, TargetError) as exc:
        raise _fail(exc) from None

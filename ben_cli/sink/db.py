"""``ben db``: create and migrate the schema, run queries and saved queries.

The server's version decides the schema flavour (see :mod:`ben_cli.sink.schema`); the flavour and
every migration applied are recorded in the ``ben_schema`` table, which is also how ``ben sink``
learns which columns to write.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import ipaddress
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from ben_cli.record import format_ts
from ben_cli.sink.queries import SavedQuery, bind
from ben_cli.sink.rows import MODERN
from ben_cli.sink.schema import LATEST, VERSIONS_TABLE, Schema, flavour_for, parse_version
from ben_cli.sink.target import ClickHouseTarget

SERVER_SIDE_PARAMS_SINCE = (22, 8)


class DbError(RuntimeError):
    """The server refused a statement; the message is the server's."""


def _run(client, sql: str, params: dict | None = None, **kw):
    from clickhouse_driver import errors

    try:
        return client.execute(sql, params, **kw)
    except errors.Error as exc:
        from ben_cli.sink.clickhouse import server_reason

        raise DbError(server_reason(exc)) from exc


def server_version(client) -> tuple[int, ...]:
    return parse_version(_run(client, "SELECT version()")[0][0])


@dataclass
class Status:
    flavour: str | None
    version: int
    server: str


def status(client, target: ClickHouseTarget) -> Status:
    server = ".".join(map(str, server_version(client)))
    exists = _run(client, "SELECT count() FROM system.tables WHERE database = %(d)s AND name = %(t)s",
                  {"d": target.database, "t": VERSIONS_TABLE})[0][0]
    if not exists:
        return Status(None, 0, server)
    rows = _run(client, f"SELECT flavour, max(version) FROM `{target.database}`.`{VERSIONS_TABLE}` "
                        "WHERE table = %(t)s GROUP BY flavour", {"t": target.table})
    return Status(rows[0][0], rows[0][1], server) if rows else Status(None, 0, server)


def schema_for(target: ClickHouseTarget, flavour: str, cluster: str | None = None, ttl_days: int | None = None) -> Schema:
    return Schema(target.database, target.table, flavour, cluster or target.cluster, ttl_days)


def plan(schema: Schema, current: int, to_version: int) -> list[tuple[int, str, list[str]]]:
    """(version, description, statements) still to run to bring a table to ``to_version``."""
    head = [schema.create_database(), schema.create_versions_table()] if current == 0 else []
    steps = [(m.version, m.description, stmts) for m, stmts in schema.statements_up_to(current, to_version)]
    if steps and head:
        steps[0] = (steps[0][0], steps[0][1], head + steps[0][2])
    return steps


def migrate(client, target: ClickHouseTarget, *, to_version: int = LATEST, flavour: str | None = None,
            cluster: str | None = None, ttl_days: int | None = None) -> list[tuple[int, str]]:
    """Apply the migrations the table lacks, recording each; returns what was applied. The
    flavour of an existing table is kept; a new one gets the flavour of the server's version."""
    if to_version > LATEST or to_version < 1:
        raise DbError(f"schema versions go from 1 to {LATEST}")
    current = status(client, target)
    chosen = current.flavour or flavour or flavour_for(server_version(client))
    if ttl_days is not None and chosen != MODERN:
        raise DbError("--ttl needs the modern schema (ClickHouse 22.3 or later)")
    schema = schema_for(target, chosen, cluster, ttl_days)
    applied = []
    for version, description, statements in plan(schema, current.version, to_version):
        for sql in statements:
            _run(client, sql)
        _run(client, f"INSERT INTO {schema.q(VERSIONS_TABLE)} (table, version, flavour, description) VALUES",
             [(target.table, version, chosen, description)])
        applied.append((version, description))
    return applied


def _jsonable(value: object) -> object:
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.UTC)
        return format_ts(int(value.timestamp()) * 1_000_000_000 + value.microsecond * 1000)
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID, ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def query(target: ClickHouseTarget, sql: str, params: dict[str, str] | None = None,
          saved: SavedQuery | None = None) -> tuple[list[str], Iterator[dict]]:
    """Column names and result rows as JSON-ready dicts. Values are bound, never pasted in: sent
    apart from the text to servers that take query parameters, escaped by the driver otherwise."""
    probe = target.connect()
    try:
        server_side = tuple(server_version(probe)[:2]) >= SERVER_SIDE_PARAMS_SINCE
    finally:
        probe.disconnect()
    given = dict(params or {})
    if "{table:Identifier}" in sql and "table" not in given:
        given["table"] = target.table
    text, values = bind(sql, given, server_side, saved.params if saved else ())
    client = target.connect(server_side_params=True) if server_side else target.connect()
    try:
        rows, types = _run(client, text, values or None, with_column_types=True)
    finally:
        client.disconnect()
    names = [n for n, _ in types]
    return names, (dict(zip(names, (_jsonable(v) for v in row), strict=True)) for row in rows)

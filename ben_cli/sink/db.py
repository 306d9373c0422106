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
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ben_cli.errors import BenError, UsageError
from ben_cli.record import format_ts
from ben_cli.sink.rows import LEGACY, MODERN
from ben_cli.sink.saved_queries import SavedQuery, bind
from ben_cli.sink.schema import LATEST, VERSIONS_TABLE, Schema, flavour_for, init_statements, parse_version, plan
from ben_cli.sink.target import ClickHouseTarget, TargetError, parse_target

SERVER_SIDE_PARAMS_SINCE = (22, 8)
SCHEMA_CHOICES = ("auto", MODERN, LEGACY)


class DbError(BenError):
    """The server refused a statement (the message is the server's), or the table cannot be
    brought where it was asked to go."""


def native_target(url: str) -> ClickHouseTarget:
    """The target of a ``ben db`` URL: schema work and queries speak the native protocol."""
    target = parse_target(url)
    if not isinstance(target, ClickHouseTarget) or target.http:
        raise TargetError(f"schema work and queries need a clickhouse:// URL (the native port), not {url!r}")
    return target


def _run(client: Any, sql: str, params: dict | list | None = None, **kw: Any) -> Any:
    from clickhouse_driver import errors

    try:
        return client.execute(sql, params, **kw)
    except errors.Error as exc:
        from ben_cli.sink.clickhouse import server_reason

        raise DbError(server_reason(exc)) from exc


@contextmanager
def _connected(target: ClickHouseTarget) -> Iterator[Any]:
    """A client on the ``default`` database: the target's database may not exist yet."""
    client = target.connect(database="default")
    try:
        yield client
    finally:
        client.disconnect()


def server_version(client: Any) -> tuple[int, ...]:
    return parse_version(_run(client, "SELECT version()")[0][0])


@dataclass
class Status:
    """Where a table stands: its schema flavour and version (None and 0: no ben table), the server."""

    flavour: str | None
    version: int
    server: str


def _status(client: Any, target: ClickHouseTarget) -> Status:
    server = ".".join(map(str, server_version(client)))
    exists = _run(client, "SELECT count() FROM system.tables WHERE database = %(d)s AND name = %(t)s",
                  {"d": target.database, "t": VERSIONS_TABLE})[0][0]
    if not exists:
        return Status(None, 0, server)
    rows = _run(client, f"SELECT flavour, max(version) FROM `{target.database}`.`{VERSIONS_TABLE}` "
                        "WHERE table = %(t)s GROUP BY flavour", {"t": target.table})
    return Status(rows[0][0], rows[0][1], server) if rows else Status(None, 0, server)


def status(target: ClickHouseTarget) -> Status:
    with _connected(target) as client:
        return _status(client, target)


def schema_for(target: ClickHouseTarget, flavour: str, cluster: str | None = None, ttl_days: int | None = None) -> Schema:
    return Schema(target.database, target.table, flavour, cluster or target.cluster, ttl_days)


def _check_version(to_version: int) -> None:
    if not 1 <= to_version <= LATEST:
        raise UsageError(f"schema versions go from 1 to {LATEST}")


def ddl(target: ClickHouseTarget, flavour: str, *, to_version: int = LATEST, cluster: str | None = None,
        ttl_days: int | None = None) -> list[str]:
    """The statements ``init`` would run on an empty server, without asking one (so the flavour
    must be named)."""
    if flavour not in (MODERN, LEGACY):
        raise UsageError("printing the DDL needs --schema modern or legacy (no server is asked)")
    _check_version(to_version)
    return init_statements(schema_for(target, flavour, cluster, ttl_days), to_version)


def migrate(target: ClickHouseTarget, *, to_version: int = LATEST, flavour: str = "auto",
            cluster: str | None = None, ttl_days: int | None = None) -> tuple[list[tuple[int, str]], Status]:
    """Apply the migrations the table lacks, recording each; returns (version, description) of
    each applied and where the table stands after. The flavour of an existing table is kept; a
    new one gets ``flavour``, or with ``auto`` the flavour of the server's version."""
    _check_version(to_version)
    if flavour not in SCHEMA_CHOICES:
        raise UsageError(f"the schema is one of {', '.join(SCHEMA_CHOICES)}, not {flavour!r}")
    with _connected(target) as client:
        current = _status(client, target)
        chosen = current.flavour or (flavour if flavour != "auto" else flavour_for(server_version(client)))
        if ttl_days is not None and chosen != MODERN:
            raise DbError(f"--ttl needs the modern schema (ClickHouse 22.3 or later); "
                          f"{target.database}.{target.table} has the {chosen} schema")
        schema = schema_for(target, chosen, cluster, ttl_days)
        applied = []
        for version, description, statements in plan(schema, current.version, to_version):
            for sql in statements:
                _run(client, sql)
            _run(client, f"INSERT INTO {schema.q(VERSIONS_TABLE)} (table, version, flavour, description) VALUES",
                 [(target.table, version, chosen, description)])
            applied.append((version, description))
        return applied, _status(client, target)


def execute(target: ClickHouseTarget, statements: list[str]) -> None:
    """Run DDL made elsewhere (a contract's views) on the target's server, in order."""
    with _connected(target) as client:
        for sql in statements:
            _run(client, sql)


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

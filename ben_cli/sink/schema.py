"""The telemetry table's DDL for each kind of server, and the migrations that move it forward.

Two flavours of the same logical schema (same column names, so queries and readers are shared):

* ``modern`` (ClickHouse 22.3 and later): in the spirit of the OpenTelemetry exporter's tables:
  ``DateTime64(9)`` times, ``LowCardinality`` strings, ``Map(LowCardinality(String), String)``
  attributes, per-column codecs, daily partitions, a TTL when asked for, a bloom-filter index on
  the batch id, and the server-side insert deduplication window that ``insert_deduplication_token``
  relies on.
* ``legacy`` (older servers, e.g. Debian's 18.16): ``DateTime`` seconds plus a ``ts_ns`` column for
  the nanoseconds, ``Nested(key, value)`` attributes, plain ``String``, monthly partitions.

With a cluster name, tables are ``ReplicatedMergeTree`` on every node (``NAME_local``) behind a
``Distributed`` table with the plain name, and every statement runs ``ON CLUSTER``.

Each migration is a list of statements that can be re-run safely (``IF NOT EXISTS``, drop-then-
create for derived tables), and its number is recorded in ``ben_schema`` only after it succeeded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ben_cli.errors import UsageError
from ben_cli.sink.rows import LEGACY, MODERN
from ben_cli.sink.target import check_identifier

MODERN_SINCE = (22, 3)  # DateTime64, Map, LowCardinality, codecs, TTL, insert_deduplication_token
VERSIONS_TABLE = "ben_schema"


def flavour_for(version: tuple[int, ...]) -> str:
    """The schema flavour a server of this version gets."""
    return MODERN if tuple(version[:2]) >= MODERN_SINCE else LEGACY


def parse_version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".") if p.isdigit())


@dataclass(frozen=True)
class Schema:
    database: str
    table: str = "telemetry"
    flavour: str = LEGACY
    cluster: str | None = None
    ttl_days: int | None = None

    def __post_init__(self) -> None:
        check_identifier(self.database, "database")
        check_identifier(self.table, "table")
        if self.cluster:
            check_identifier(self.cluster, "cluster")
        if self.flavour not in (LEGACY, MODERN):
            raise UsageError(f"unknown schema flavour {self.flavour!r} (modern or legacy)")
        if self.ttl_days is not None and self.flavour == LEGACY:
            raise UsageError("--ttl needs the modern schema (ClickHouse 22.3 or later)")

    # names -----------------------------------------------------------------------------------
    def q(self, name: str) -> str:
        """A database-qualified, quoted table name."""
        return f"`{self.database}`.`{name}`"

    @property
    def on_cluster(self) -> str:
        return f" ON CLUSTER `{self.cluster}`" if self.cluster else ""

    def storage(self, name: str) -> str:
        """Where a table's rows live: the per-node replicated table in a cluster, else the table."""
        return f"{name}_local" if self.cluster else name

    def engine(self, name: str, kind: str = "MergeTree", args: str = "") -> str:
        if not self.cluster:
            return f"{kind}({args})" if args else kind
        path = f"'/clickhouse/tables/{{shard}}/{self.database}/{self.storage(name)}', '{{replica}}'"
        return f"Replicated{kind}({path}{', ' + args if args else ''})"

    def _with_distributed(self, name: str, create_storage: str, shard_key: str = "rand()") -> list[str]:
        """``create_storage`` is a CREATE for ``self.storage(name)``; in a cluster, add the Distributed."""
        stmts = [create_storage]
        if self.cluster:
            stmts.append(
                f"CREATE TABLE IF NOT EXISTS {self.q(name)}{self.on_cluster} AS {self.q(self.storage(name))} "
                f"ENGINE = Distributed(`{self.cluster}`, `{self.database}`, `{self.storage(name)}`, {shard_key})"
            )
        return stmts

    # DDL ---------------------------------------------------------------------------------------
    def create_database(self) -> str:
        return f"CREATE DATABASE IF NOT EXISTS `{self.database}`{self.on_cluster}"

    def create_versions_table(self) -> str:
        return (
            f"CREATE TABLE IF NOT EXISTS {self.q(VERSIONS_TABLE)}{self.on_cluster} ("
            "table String, version UInt32, flavour String, description String, applied_at DateTime DEFAULT now()"
            ") ENGINE = " + (
                f"ReplicatedMergeTree('/clickhouse/tables/all/{self.database}/{VERSIONS_TABLE}', '{{replica}}')"
                if self.cluster else "MergeTree"
            ) + " ORDER BY (table, version)"
        )

    def _columns(self) -> str:
        if self.flavour == MODERN:
            z = " CODEC(ZSTD(1))"
            cols = [
                "ts DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1))",
                f"lane LowCardinality(String){z}", f"source LowCardinality(String){z}",
                f"name LowCardinality(String){z}", f"value Nullable(Float64){z}",
                f"unit LowCardinality(Nullable(String)){z}", f"severity LowCardinality(Nullable(String)){z}",
                f"body Nullable(String){z}", f"attrs Map(LowCardinality(String), String){z}",
                f"attrs_typed Array(LowCardinality(String)){z}", f"anomaly String{z}", "is_anomaly UInt8",
                f"anomaly_score Nullable(Float64){z}", f"anomaly_detector LowCardinality(String){z}",
                f"redacted Array(LowCardinality(String)){z}", f"extra String{z}", f"batch_id String{z}",
                "batch_row UInt32 CODEC(Delta, ZSTD(1))", "inserted_at DateTime DEFAULT now()",
                "time_ns Int64 ALIAS toUnixTimestamp64Nano(ts)",
                "INDEX idx_batch_id batch_id TYPE bloom_filter(0.001) GRANULARITY 1",
                "INDEX idx_attr_keys mapKeys(attrs) TYPE bloom_filter(0.01) GRANULARITY 1",
            ]
        else:
            cols = [
                "ts DateTime('UTC')", "ts_ns UInt32", "lane String", "source String", "name String",
                "value Nullable(Float64)", "unit Nullable(String)", "severity Nullable(String)",
                "body Nullable(String)", "attrs Nested(key String, value String)", "attrs_typed Array(String)",
                "anomaly String", "is_anomaly UInt8", "anomaly_score Nullable(Float64)", "anomaly_detector String",
                "redacted Array(String)", "extra String", "batch_id String", "batch_row UInt32",
                "inserted_at DateTime DEFAULT now()",
                "time_ns Int64 ALIAS toInt64(toUInt32(ts)) * 1000000000 + ts_ns",
            ]
        return ",\n    ".join(cols)

    def create_table(self) -> list[str]:
        name = self.storage(self.table)
        if self.flavour == MODERN:
            tail = (
                "PARTITION BY toDate(ts)\nORDER BY (lane, source, name, ts)\n"
                + (f"TTL toDateTime(ts) + toIntervalDay({int(self.ttl_days)})\n" if self.ttl_days else "")
                + "SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1"
                + ("" if self.cluster else ", non_replicated_deduplication_window = 10000")
            )
        else:
            tail = "PARTITION BY toYYYYMM(ts)\nORDER BY (lane, source, name, ts, ts_ns)"
        ddl = (
            f"CREATE TABLE IF NOT EXISTS {self.q(name)}{self.on_cluster} (\n    {self._columns()}\n)\n"
            f"ENGINE = {self.engine(self.table)}\n{tail}"
        )
        return self._with_distributed(self.table, ddl, "cityHash64(source, name)")

    def rollup_views(self) -> list[str]:
        """Per-minute aggregates of numeric series and a table of anomalies, fed by materialized
        views on the storage table. Dropped and rebuilt (with a backfill) so that a re-run after an
        interrupted migration cannot count a row twice."""
        src = self.q(self.storage(self.table))
        minute, anomalies = f"{self.table}_minute", f"{self.table}_anomalies"
        mv_minute, mv_anomalies = f"{self.table}_minute_mv", f"{self.table}_anomalies_mv"
        ts_type = "DateTime64(9, 'UTC')" if self.flavour == MODERN else "DateTime('UTC')"
        ns_col = "" if self.flavour == MODERN else "ts_ns UInt32, "
        ns_sel = "" if self.flavour == MODERN else "ts_ns, "
        rollup_select = (
            "SELECT lane, source, name, toStartOfMinute(ts) AS minute, countState() AS samples, "
            "sumState(assumeNotNull(value)) AS total, minState(assumeNotNull(value)) AS low, "
            "maxState(assumeNotNull(value)) AS high "
            f"FROM {src} WHERE value IS NOT NULL GROUP BY lane, source, name, minute"
        )
        anomaly_select = (
            f"SELECT ts, {ns_sel}lane, source, name, value, anomaly_score, anomaly_detector, anomaly, "
            f"batch_id, batch_row FROM {src} WHERE is_anomaly = 1"
        )
        stmts = [
            f"DROP TABLE IF EXISTS {self.q(mv_minute)}{self.on_cluster}",
            f"DROP TABLE IF EXISTS {self.q(mv_anomalies)}{self.on_cluster}",
        ]
        for name in (minute, anomalies):
            if self.cluster:
                stmts.append(f"DROP TABLE IF EXISTS {self.q(name)}{self.on_cluster}")
            stmts.append(f"DROP TABLE IF EXISTS {self.q(self.storage(name))}{self.on_cluster}")
        str_t = "LowCardinality(String)" if self.flavour == MODERN else "String"
        stmts += self._with_distributed(minute, (
            f"CREATE TABLE {self.q(self.storage(minute))}{self.on_cluster} (lane {str_t}, source {str_t}, "
            f"name {str_t}, minute DateTime('UTC'), samples AggregateFunction(count), "
            "total AggregateFunction(sum, Float64), low AggregateFunction(min, Float64), "
            "high AggregateFunction(max, Float64)) "
            f"ENGINE = {self.engine(minute, 'AggregatingMergeTree')} PARTITION BY toYYYYMM(minute) "
            "ORDER BY (lane, source, name, minute)"
        ), "cityHash64(source, name)")
        stmts += self._with_distributed(anomalies, (
            f"CREATE TABLE {self.q(self.storage(anomalies))}{self.on_cluster} (ts {ts_type}, {ns_col}"
            f"lane {str_t}, source {str_t}, name {str_t}, value Nullable(Float64), "
            f"anomaly_score Nullable(Float64), anomaly_detector {str_t}, anomaly String, batch_id String, "
            f"batch_row UInt32) ENGINE = {self.engine(anomalies)} PARTITION BY toYYYYMM(ts) "
            "ORDER BY (source, name, ts)"
        ), "cityHash64(source, name)")
        stmts += [
            f"CREATE MATERIALIZED VIEW {self.q(mv_minute)}{self.on_cluster} TO {self.q(self.storage(minute))} "
            f"AS {rollup_select}",
            f"CREATE MATERIALIZED VIEW {self.q(mv_anomalies)}{self.on_cluster} "
            f"TO {self.q(self.storage(anomalies))} AS {anomaly_select}",
            # backfill what the table held before the views existed (a no-op on a new table)
            f"INSERT INTO {self.q(self.storage(minute))} {rollup_select}",
            f"INSERT INTO {self.q(self.storage(anomalies))} {anomaly_select}",
        ]
        if self.cluster:  # a backfill must run on every node's local table, not once through one node
            stmts = stmts[:-2]
        return stmts

    def statements_up_to(self, current: int, target: int) -> list[tuple[Migration, list[str]]]:
        return [(m, m.build(self)) for m in MIGRATIONS if current < m.version <= target]


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    build: Callable[[Schema], list[str]]


MIGRATIONS: list[Migration] = [
    Migration(1, "telemetry table", Schema.create_table),
    Migration(2, "per-minute rollups and anomalies, by materialized views", Schema.rollup_views),
]
LATEST = MIGRATIONS[-1].version


def plan(schema: Schema, current: int, to_version: int) -> list[tuple[int, str, list[str]]]:
    """(version, description, statements) still to run to bring a table to ``to_version``; a new
    table (``current`` 0) first gets its database and the table that records versions."""
    head = [schema.create_database(), schema.create_versions_table()] if current == 0 else []
    steps = [(m.version, m.description, stmts) for m, stmts in schema.statements_up_to(current, to_version)]
    if steps and head:
        steps[0] = (steps[0][0], steps[0][1], head + steps[0][2])
    return steps


def init_statements(schema: Schema, target: int = LATEST) -> list[str]:
    """Everything ``ben db init`` runs on an empty server, in order (the versions are recorded by
    :func:`ben_cli.sink.db.migrate` as each migration completes)."""
    return [sql for _, _, statements in plan(schema, 0, target) for sql in statements]

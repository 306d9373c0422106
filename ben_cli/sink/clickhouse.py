"""Delivering a spooled batch to ClickHouse: columnar native inserts or JSONEachRow posted over
HTTP, retries for transient failures, bisection for rows the server refuses, and the check that
makes a resend safe.

Every row carries its batch id and its row number in the batch. When an insert's outcome is
unknown (the connection died mid-insert, the server was killed, or this is a replay of a batch an
earlier run had spooled), the rows already stored are read back by batch id and only the others
are sent. On servers that know ``insert_deduplication_token`` the same part is re-sent with the
same token instead, and the server itself drops the copy (see ``deepdives/clickhouse-pipeline.md``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from ben_cli.errors import BenError
from ben_cli.ndjson import BadRecord
from ben_cli.retry import RetryPolicy, retrying
from ben_cli.sink.batch import Batch
from ben_cli.sink.http import TRANSIENT_STATUSES, ServerError
from ben_cli.sink.rows import LEGACY, JsonLines, RowBuilder, RowList, insert_columns, to_columns
from ben_cli.sink.schema import VERSIONS_TABLE, parse_version
from ben_cli.sink.spool import Spool, SpooledBatch
from ben_cli.sink.target import ClickHouseTarget

T = TypeVar("T")

# Server error codes worth waiting out: overload, timeouts, network, replicas and keeper.
TRANSIENT_CODES = frozenset({
    3, 32, 159, 160, 164, 201, 202, 203, 209, 210, 236, 241, 242, 252, 285, 286, 319, 394, 425, 999, 225,
})
# Server error codes that blame the data: the rows, not the server or the query, are at fault.
DATA_CODES = frozenset({
    6, 26, 27, 38, 41, 43, 53, 69, 70, 72, 117, 131, 190, 349, 395, 469,
})
DEDUP_TOKEN_SINCE = (22, 2)
# JSONEachRow fills an omitted column with its DEFAULT expression (inserted_at's now()) only when
# told to; the setting was renamed in 19.12.
OMITTED_DEFAULTS_RENAMED = (19, 12)

class SinkError(BenError):
    """Delivery cannot go on (wrong table, no server within the retry time ...); the spool keeps
    every batch not yet confirmed, so a rerun loses nothing."""


class DataError(Exception):
    """The server (or the driver, converting a value) refused these rows for what is in them;
    ``row`` is the index in the part sent when the server named the row (a parse error)."""

    def __init__(self, reason: str, row: int | None = None):
        super().__init__(reason)
        self.row = row


def server_reason(exc: BaseException) -> str:
    """The server's message without its stack trace: what a person needs in a rejects file."""
    code = getattr(exc, "code", None)
    message = getattr(exc, "message", None) or str(exc)
    message = message.split("Stack trace:", 1)[0].strip().splitlines()[0] if message.strip() else type(exc).__name__
    return f"Code: {code}. {message}" if code is not None else message


def classify(exc: BaseException) -> str:
    """'transient', 'data' or 'fatal' for an exception raised by an insert."""
    import http.client

    if isinstance(exc, ServerError):
        if exc.code is None:
            return "transient" if exc.status in TRANSIENT_STATUSES else "fatal"
        if exc.code in TRANSIENT_CODES:
            return "transient"
        return "data" if exc.code in DATA_CODES else "fatal"
    if isinstance(exc, (http.client.HTTPException, OSError, EOFError)):  # the connection, not the data
        return "transient"
    from clickhouse_driver import errors

    if isinstance(exc, (errors.NetworkError, errors.SocketTimeoutError, EOFError, ConnectionError, TimeoutError)):
        return "transient"
    if isinstance(exc, errors.ServerException):
        if exc.code in TRANSIENT_CODES:
            return "transient"
        return "data" if exc.code in DATA_CODES else "fatal"
    if isinstance(exc, (errors.TypeMismatchError, errors.TooLargeStringSize, TypeError, ValueError, OverflowError,
                        UnicodeError)) or type(exc).__name__ == "error":  # struct.error from the driver's writers
        return "data"
    if isinstance(exc, OSError):
        return "transient"
    return "fatal"


def _transient(exc: Exception) -> bool:
    return classify(exc) == "transient"


# Columns whose every value in a batch is the column's default are left out of the insert (the
# server fills the default in): most batches carry no anomaly or redaction marks, and arrays are
# the slowest columns for the driver to encode.
OMITTABLE = {"attrs_typed": [], "redacted": [], "anomaly": "", "is_anomaly": 0, "anomaly_score": None,
             "anomaly_detector": "", "extra": "", "unit": None, "severity": None, "body": None, "value": None}


def drop_default_columns(names: Sequence[str], cols: list[list]) -> tuple[list[str], list[list]]:
    keep_names, keep_cols = [], []
    for name, col in zip(names, cols, strict=True):
        if name in OMITTABLE and col.count(OMITTABLE[name]) == len(col):
            continue
        keep_names.append(name)
        keep_cols.append(col)
    return keep_names, keep_cols


class ClickHouseWriter:
    """One connection's worth of delivery to one table."""

    def __init__(self, target: ClickHouseTarget, spool: Spool, on_reject: Callable[[BadRecord], None],
                 retry: RetryPolicy | None = None, notify: Callable[[str], None] = lambda _m: None,
                 sleep: Callable[[float], None] = time.sleep):
        self.target = target
        self.spool = spool
        self.on_reject = on_reject
        self.retry = retry or RetryPolicy()
        self.notify = notify
        self.sleep = sleep
        self.client = target.connect()
        self.flavour = LEGACY
        self.dedup_tokens = False
        self.table = f"`{target.database}`.`{target.table}`"
        self.stored = 0
        self.distributed = False
        self.insert_settings: dict[str, object] = {}

    # set-up -----------------------------------------------------------------------------------
    def open(self) -> None:
        """Find the table's schema flavour and version; wait out a server that is not up yet."""
        self.client = self.target.connect(database="default")
        try:
            rows = self._with_retry(lambda: self.client.execute(
                f"SELECT flavour, max(version) FROM `{self.target.database}`.`{VERSIONS_TABLE}` "
                "WHERE table = %(t)s GROUP BY flavour", {"t": self.target.table}), "connect")
        except SinkError as exc:
            if getattr(exc.__cause__, "code", None) in (60, 81):  # unknown table, unknown database
                rows = []
            else:
                raise
        if not rows:
            raise SinkError(f"no ben table {self.target.database}.{self.target.table} on {self.target.host}:"
                            f"{self.target.port}; create it with `ben db init --to URL`")
        self.flavour = rows[0][0]
        self.client.disconnect()
        self.client = self.target.connect()
        version = parse_version(self._with_retry(lambda: self.client.execute("SELECT version()"), "connect")[0][0])
        self.dedup_tokens = tuple(version[:2]) >= DEDUP_TOKEN_SINCE
        if self.target.http:
            renamed = tuple(version[:2]) >= OMITTED_DEFAULTS_RENAMED
            self.insert_settings = {"input_format_defaults_for_omitted_fields" if renamed
                                    else "insert_sample_with_metadata": 1}
        engine = self._with_retry(lambda: self.client.execute(
            "SELECT engine FROM system.tables WHERE database = %(d)s AND name = %(t)s",
            {"d": self.target.database, "t": self.target.table}), "connect")
        # a Distributed table confirms an insert once it is queued on this node, unless told to wait
        # for the shards: exactly once needs the shards' confirmation
        self.distributed = bool(engine) and engine[0][0] == "Distributed"
        self.builder = RowBuilder(self.flavour)
        self.columns = insert_columns(self.flavour)

    def new_rows(self) -> RowList | JsonLines:
        """How a batch keeps its rows until they are sent: as rows for a native insert, as lines of
        JSONEachRow for HTTP (made by the reader thread, so the sender only posts them)."""
        return JsonLines(self.flavour) if self.target.http else RowList()

    def close(self) -> None:
        self.client.disconnect()

    def _with_retry(self, fn: Callable[[], T], what: str) -> T:
        def again(exc: Exception, pause: float) -> None:
            self.notify(f"{what}: {server_reason(exc)}; retrying in {pause:.1f} s")
            self.client.disconnect()

        try:
            return retrying(fn, self.retry, transient=_transient, on_retry=again, sleep=self.sleep, gave_up=lambda exc, _w: SinkError(
                f"{what}: gave up after {self.retry.give_up_after:.0f} s: {server_reason(exc)}"))
        except SinkError:
            raise
        except Exception as exc:  # noqa: BLE001 - not transient: the server's reason, said once
            raise SinkError(f"{what}: {server_reason(exc)}") from exc

    # delivery ---------------------------------------------------------------------------------
    def deliver(self, spooled: SpooledBatch, batch: Batch, replay: bool) -> None:
        """Store every row of a spooled batch exactly once (or reject it), then drop the batch."""
        skip = self.spool.rejected_rows(spooled) if replay or batch.bad else set()
        for row, reason in batch.bad:  # lines the sink itself could not convert (after spooling)
            if row not in skip:
                self._reject(spooled, row, reason, batch)
        skip |= {row for row, _ in batch.bad}
        if replay:
            skip |= self._existing(spooled, batch)
        assert batch.rows is not None, "a batch's rows are made before it is delivered"
        todo = [i for i in range(len(batch.rows)) if i not in skip]
        parts = [todo] if todo else []
        while parts:
            part = parts.pop()
            try:
                self._insert(spooled, batch, part)
            except DataError as exc:
                reason = f"server refused the row: {exc}"
                if len(part) == 1:
                    self._reject(spooled, part[0], reason, batch)
                elif exc.row is not None and 0 <= exc.row < len(part):
                    # the server named the row it could not parse: reject it, send the others again
                    self._reject(spooled, part[exc.row], reason, batch)
                    parts.append(part[:exc.row] + part[exc.row + 1:])
                else:
                    mid = len(part) // 2
                    parts += [part[mid:], part[:mid]]
        self.spool.done(spooled)

    def _send(self, spooled: SpooledBatch, batch: Batch, part: list[int], settings: dict[str, object]) -> None:
        if isinstance(batch.rows, JsonLines):
            self.client.insert(self.table, batch.rows.payload(part), {**self.insert_settings, **settings})
            return
        assert isinstance(batch.rows, RowList)
        cols = to_columns(self.flavour, [batch.rows[i] for i in part], spooled.batch_id, part)
        names, cols = drop_default_columns(self.columns, cols)
        self.client.execute(f"INSERT INTO {self.table} ({', '.join(names)}) VALUES", cols,
                            columnar=True, types_check=False, settings=settings)

    def _insert(self, spooled: SpooledBatch, batch: Batch, part: list[int]) -> None:
        unsure = False  # an earlier attempt may have stored some rows

        def attempt() -> None:
            nonlocal part
            try:
                if unsure and not self.dedup_tokens:
                    have = self._existing(spooled, batch)
                    landed = [i for i in part if i in have]  # the lost attempt did store these
                    self.stored += len(landed)
                    part = [i for i in part if i not in have]
                    if not part:
                        return
                settings: dict[str, object] = {"insert_distributed_sync": 1} if self.distributed else {}
                if self.dedup_tokens:
                    settings["insert_deduplication_token"] = f"{spooled.batch_id}:{part[0]}:{part[-1]}:{len(part)}"
                self._send(spooled, batch, part, settings)
                self.stored += len(part)
            except Exception as exc:  # noqa: BLE001 - classified below
                kind = classify(exc)
                if kind == "data":
                    self.client.disconnect()
                    row = exc.row - 1 if isinstance(exc, ServerError) and exc.row is not None else None
                    raise DataError(server_reason(exc), row) from exc
                if kind == "fatal":
                    raise SinkError(f"insert into {self.target.database}.{self.target.table}: "
                                    f"{server_reason(exc)}") from exc
                raise

        def again(exc: Exception, pause: float) -> None:
            nonlocal unsure
            unsure = True
            self.notify(f"insert: {server_reason(exc)}; retrying in {pause:.1f} s")
            self.client.disconnect()

        retrying(attempt, self.retry, transient=_transient, on_retry=again, sleep=self.sleep, gave_up=lambda exc, _w: SinkError(
            f"gave up after {self.retry.give_up_after:.0f} s: {server_reason(exc)}; the spool keeps the batch for the next run"))

    def _existing(self, spooled: SpooledBatch, batch: Batch) -> set[int]:
        """Row numbers of this batch the server already has. The modern table finds them through
        its bloom-filter index on batch_id; on the legacy table, ts bounds skip other months."""
        sql = f"SELECT batch_row FROM {self.table} WHERE batch_id = %(b)s"
        params: dict[str, object] = {"b": spooled.batch_id}
        if self.flavour == LEGACY and batch.ts_low <= batch.ts_high:
            sql += " AND ts >= toDateTime(%(low)s, 'UTC') AND ts <= toDateTime(%(high)s, 'UTC')"
            params.update(low=batch.ts_low // 1_000_000_000, high=batch.ts_high // 1_000_000_000)
        found = self._with_retry(lambda: self.client.execute(sql, params), "check stored rows")
        return {r[0] for r in found}

    def _reject(self, spooled: SpooledBatch, row: int, reason: str, batch: Batch) -> None:
        file, lineno = batch.origins[row] if batch.origins else (f"spool batch {spooled.batch_id}", row + 1)
        self.on_reject(BadRecord(lineno, reason, batch.lines[row].rstrip(b"\n"), file))
        self.spool.mark_rejected(spooled, row)

"""``ben watch --from clickhouse://...``: the table ``ben sink`` writes, polled.

The first query takes the records whose time is at or after ``--since`` (default: the last five
minutes). Later polls (``--follow``) take what was *inserted* since the last poll, by the
``inserted_at`` column the server fills in: a record that arrives late, with an old time, is still
seen, which polling by record time would miss. ``inserted_at`` has whole seconds, so each poll
asks again for the last second it saw and leaves out the rows it already had (known by their
batch id and row number). Every answer is bounded (:data:`PAGE` rows); a longer backlog is read
page by page. Rows become records again exactly as ``ben db`` reads them back, and enter the
same reader as a pipe's bytes, so ``--tee`` passes on NDJSON.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import orjson

from ben_cli.errors import BenError, UsageError
from ben_cli.record import NS_PER_S, TimestampError, now_ns, to_ns
from ben_cli.sink.rows import LEGACY, MODERN, record_from_row, select_list
from ben_cli.sink.target import ClickHouseTarget, parse_target

PAGE = 50_000
DEFAULT_SINCE_S = 300


class PollError(BenError):
    """The server could not be asked (down, no such table)."""


def _flavour(client: Any, target: ClickHouseTarget) -> str:
    found = client.execute("SELECT name FROM system.columns WHERE database = %(d)s AND table = %(t)s",
                           {"d": target.database, "t": target.table})
    names = {row[0] for row in found}
    if not names:
        raise PollError(f"no table {target.database}.{target.table} (ben db init creates it; ben sink fills it)")
    return LEGACY if "ts_ns" in names else MODERN


def _since_ns(since: str | None) -> int:
    if since is None:
        return now_ns() - DEFAULT_SINCE_S * NS_PER_S
    try:
        return to_ns(since)
    except TimestampError as exc:
        raise UsageError(f"--since: {exc}") from None


def table_chunks(url: str, stop: threading.Event, *, follow: bool = False, since: str | None = None,
                 poll_s: float = 1.0) -> Iterator[bytes]:
    """NDJSON bytes of the table's records, page by page; with ``follow``, then of what is inserted."""
    target = parse_target(url)
    if not isinstance(target, ClickHouseTarget):
        raise UsageError(f"--from {url}: not a ClickHouse URL")
    start = _since_ns(since)
    try:
        client = target.connect(database="default")  # names are qualified: a missing database is said below
        flavour = _flavour(client, target)
    except BenError:
        raise
    except Exception as exc:  # noqa: BLE001 - the driver's many errors, said in one line
        reason = str(exc).split("Stack trace:")[0].strip().rstrip(".")
        raise PollError(f"--from {target.host}:{target.port}: {reason}") from None
    return _polled(client, target, flavour, start, stop, follow, poll_s)


def _polled(client: Any, target: ClickHouseTarget, flavour: str, start: int, stop: threading.Event,
            follow: bool, poll_s: float) -> Iterator[bytes]:
    table = f"`{target.database}`.`{target.table}`"
    columns = f"{select_list(flavour)}, toUInt32(inserted_at) AS inserted, batch_id, batch_row"
    order = "ORDER BY inserted, batch_id, batch_row"
    # the rows of the last second already read come again (a row inserted later in that second may
    # sort before them), so the limit makes room for them: every poll gets up to PAGE new rows
    first = f"SELECT {columns} FROM {table} WHERE time_ns >= %(since)s AND toUInt32(inserted_at) >= %(after)s {order} LIMIT %(limit)s"
    later = f"SELECT {columns} FROM {table} WHERE toUInt32(inserted_at) >= %(after)s {order} LIMIT %(limit)s"
    after = 0  # the insert second the next poll starts from
    seen: set[tuple[str, int]] = set()  # rows of that second already read
    query = first
    try:
        while not stop.is_set():
            rows = client.execute(query, {"since": start, "after": after, "limit": PAGE + len(seen)})
            fresh = [r for r in rows if (r[-2], r[-1]) not in seen]
            if rows:
                last = rows[-1][-3]
                if last != after:
                    after, seen = last, set()
                seen.update((r[-2], r[-1]) for r in rows if r[-3] == after)
            if fresh:
                yield b"".join(orjson.dumps(record_from_row(r[:-3])) + b"\n" for r in fresh)
            if len(fresh) >= PAGE:
                continue  # more of the backlog: the next page at once
            if not follow:
                return
            query = later
            if stop.wait(poll_s):
                return
    finally:
        client.disconnect()

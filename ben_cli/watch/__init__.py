"""``ben watch``: the live terminal dashboard of the stream.

The parts, UI-free first: :mod:`stats` counts (exact, bounded, no drawing), :mod:`source` reads
(a pipe, a file, a followed file, a ClickHouse table) in chunks that a stop flag can interrupt,
:mod:`text` says it in words (``--once``), :mod:`filter` reads the ``/`` filter. Only :mod:`app`
imports textual: the dashboard itself, and the SVG snapshot. Importing this package does not load
textual, so ``--once`` starts as fast as the other filters.

    stats = Stats()
    read(stats, "app.ndjson")            # the whole input, counted
    print(text.summary(stats.snapshot()))
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import BinaryIO

from ben_cli.errors import UsageError
from ben_cli.watch.filter import Filter
from ben_cli.watch.source import Pump, fd_chunks, file_chunks
from ben_cli.watch.stats import Limits, Snapshot, Stats

__all__ = ["Filter", "Limits", "Pump", "Snapshot", "Stats", "chunks", "read", "reader"]


def chunks(source: str | int, stop: threading.Event, *, follow: bool = False, since: str | None = None,
           poll_s: float = 1.0) -> Iterator[bytes]:
    """The bytes of ``source``: a descriptor (stdin's data, moved aside), a file path, or a
    ``clickhouse://`` / ``clickhouse+http://`` URL whose table is polled (``since``: from when)."""
    if isinstance(source, int):
        if follow:
            raise UsageError("--follow: only with --from FILE or a ClickHouse URL (a pipe follows by itself)")
        return fd_chunks(source, stop)
    if source.startswith(("clickhouse://", "clickhouse+http://", "clickhouse+https://")):
        from ben_cli.watch.poll import table_chunks

        return table_chunks(source, stop, follow=follow, since=since, poll_s=poll_s)
    if since is not None:
        raise UsageError("--since: only with --from a ClickHouse URL (a file is read from its start)")
    return file_chunks(source, stop, follow=follow)


def read(stats: Stats, source: str | int, *, tee: BinaryIO | None = None, since: str | None = None) -> Pump:
    """Count the whole of ``source`` (to its end, without following) into ``stats``."""
    stop = threading.Event()
    pump = Pump(stats, tee=tee, name=source if isinstance(source, str) else "-")
    # read to its end, stdin needs no polling: it is read as any input is (gzip, bzip2, xz too)
    pump.run(file_chunks("-", stop) if source == 0 else chunks(source, stop, since=since))
    stats.end()
    return pump


def reader(stats: Stats, source: str | int, stop: threading.Event, *, follow: bool = False,
           tee: BinaryIO | None = None, since: str | None = None,
           on_error: Callable[[Exception], None] | None = None) -> Callable[[threading.Event], None]:
    """The dashboard's reader: a function run in a thread until the input ends or ``stop`` is set.

    The input is opened here, before any thread or screen: a missing file or a server that does
    not answer is an error on the command line, not a message inside a dashboard."""
    made = chunks(source, stop, follow=follow, since=since)

    def run(_stop: threading.Event) -> None:
        pump = Pump(stats, tee=tee, name=source if isinstance(source, str) else "-")
        try:
            pump.run(made, stop)
        except Exception as exc:  # noqa: BLE001 - shown on the dashboard rather than lost in a thread
            stats.failure = str(exc) or type(exc).__name__
            if on_error is None:
                raise
            on_error(exc)
        finally:
            stats.end()

    return run

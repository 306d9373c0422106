"""``ben detect`` over NDJSON inputs: the shared reader's records through the series table."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ben_cli.detect.joint import table_for
from ben_cli.detect.options import DetectOptions
from ben_cli.detect.replay import Replays
from ben_cli.detect.table import SeriesTable
from ben_cli.errors import BenError
from ben_cli.ndjson import Reader, Writer
from ben_cli.rejects import Rejects, Summary


class UnknownPath(BenError):
    """A ``--by`` path that no record had: every record would have fallen into one series."""


def run(inputs: Sequence[str], writer: Writer, rejects: Rejects, options: DetectOptions,
        warn: Callable[[str], None] | None = None) -> Summary:
    """Mark every record of ``inputs`` to ``writer``, carrying state in ``options.state``; the
    counts, with the number of series (and of those expired). At the end, a ``--by`` path some
    series lack is a warning (to ``warn``); one that no series has raises :class:`UnknownPath`
    (exit 1, after every record was written)."""
    reader = Reader(inputs, rejects.add)
    table = table_for(options, on_reject=reader.reject)
    write = writer.write
    replays = None
    with table:
        if options.state is None or options.joint:  # a joint row mixes inputs' positions: no replay marks
            for rec in table.feed(reader.records()):
                write(rec)
        else:  # records read again after a crash are marked, not learned twice
            replays = Replays(table, options.state)
            table.on_save = replays.save
            restore = replays.restore
            for rec in table.feed(replays.records(reader.records())):
                restore()
                write(rec)
        writer.write_all(table.flush())
        table.save()
    writer.flush()
    summary = Summary("detect", read=reader.read, written=writer.count, rejected=rejects.count)
    summary.extra["series"] = len(table.table)
    if options.expire is not None:
        summary.extra["expired"] = table.expired
    if table.evicted:
        summary.extra["evicted"] = table.evicted
    if replays is not None and replays.replayed:
        summary.extra["seen before"] = replays.replayed
    if table.reset:
        summary.extra["reset"] = table.reset
    check_by(table, warn)
    return summary


def check_by(table: SeriesTable, warn: Callable[[str], None] | None = None) -> None:
    """At the end of a run: a ``--by`` path some series lack is a warning (to ``warn``); one that
    no series has raises :class:`UnknownPath`."""
    nowhere, some = table.missing_by()
    for message in some:
        if warn is not None:
            warn(message)
    if nowhere:
        names = ", ".join(nowhere)
        raise UnknownPath(f"--by {names}: no record has {'this field' if len(nowhere) == 1 else 'these fields'} "
                          f"(dots reach into objects: attrs.code)")

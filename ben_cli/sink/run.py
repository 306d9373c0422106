"""``ben sink``'s one entry point: the shared reader feeding the batcher, counts owned here."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from ben_cli.ndjson import Input, Reader, Writer, stdin_file
from ben_cli.rejects import Summary
from ben_cli.sink.batch import BatchLimits
from ben_cli.sink.batcher import Batcher, collect_per_batch
from ben_cli.sink.deliver import ClickHouseDelivery, DurableRejects, FileDelivery, FileOptions
from ben_cli.sink.held import Held
from ben_cli.sink.target import ClickHouseTarget, NatsTarget, Target, default_target


@dataclass
class SinkOptions:
    target: Target = field(default_factory=default_target)
    limits: BatchLimits = field(default_factory=BatchLimits)
    retry_for: float = 300.0
    file: FileOptions = field(default_factory=FileOptions)
    from_start: bool = False
    workers: int | None = None  # processes converting for the HTTP target (None: one per core, up to 4)
    ack: Path | None = None  # --ack: the ingest state whose inputs' positions this sink acknowledges
    # --policy: judges each record (record, line, file, line number) before it is stored; a record
    # it refuses is not stored (the judge itself sends it to the rejects or counts it)
    admit: Callable[[dict, bytes, str, int], bool] | None = None
    partitions: int | None = None  # nats: the stream's partition count (None: the stream's, else 12)
    by: tuple[str, ...] = ("source", "name")  # nats: the series key a record's partition is the hash of


def batcher_for(options: SinkOptions, rejects: DurableRejects, *, tee: bool = False,
                notify: Callable[[str], None] = lambda _m: None) -> Batcher:
    """The sink's core for ``options.target``. With ``tee`` the reader parses every record itself
    (no worker processes), so that only records that will be stored are passed on."""
    target = options.target
    held = Held(options.ack) if options.ack is not None else None
    if isinstance(target, NatsTarget):
        from ben_cli.retry import RetryPolicy
        from ben_cli.sink.nats import NatsDelivery

        nats = NatsDelivery(target.url, options.partitions, options.by, held=held, notify=notify,
                            retry=RetryPolicy(give_up_after=options.retry_for))
        return Batcher(nats, options.limits, tee=tee, on_reject=rejects.add, held=held)
    if isinstance(target, ClickHouseTarget):
        delivery: ClickHouseDelivery | FileDelivery = ClickHouseDelivery(
            target, rejects, retry_for=options.retry_for, from_start=options.from_start,
            workers=options.workers, use_workers=not tee, notify=notify, held=held)
    else:
        delivery = FileDelivery(target, options.file, notify=notify, held=held)
    return Batcher(delivery, options.limits, tee=tee, on_reject=rejects.add, held=held)


def _admitted(items: Iterator[tuple[dict | None, bytes, Input, int]], admit: Callable[[dict, bytes, str, int], bool],
              reader: Reader) -> Iterator[tuple[dict | None, bytes, Input, int]]:
    """The items whose records ``admit`` lets through (records are parsed here when workers would)."""
    loads = orjson.loads
    for item in items:
        rec, line = item[0], item[1]
        if admit(rec if rec is not None else loads(line), line.rstrip(b"\r\n"), reader.file, reader.lineno):
            yield item


def run(inputs: Sequence[str], writer: Writer | None, rejects: DurableRejects, options: SinkOptions,
        notify: Callable[[str], None] = lambda _m: None) -> Summary:
    """Store the records of ``inputs`` in ``options.target``; with a ``writer`` (``--tee``) pass
    them on, each line as it was read. ClickHouse targets resume each input file where earlier
    runs got to, after replaying what they left in the spool."""
    if "-" in inputs and (named := stdin_file()) is not None:  # continued like a file argument
        inputs = [named if p == "-" else p for p in inputs]
    reader = Reader(inputs, rejects.add)
    with collect_per_batch(), batcher_for(options, rejects, tee=writer is not None, notify=notify) as core:
        core.load()
        items = reader.positioned(core.resume, parse=core.parses)
        if options.admit is not None:
            items = _admitted(items, options.admit, reader)
        passed = core.feed_positioned(items, reader)
        if writer is None:
            for _ in passed:  # yields nothing: the loop is the core's
                pass
        else:
            try:
                for _rec, line in passed:
                    writer.write_line(line)
            finally:
                writer.flush()
        core.flush()
    for file, lineno in reader.unfinished:
        notify(f"{file}:{lineno}: the last line has no newline and is not a whole record (its writer is not "
               "done): left for the next run")
    summary = Summary("sink", read=reader.read, written=core.written, rejected=rejects.count)
    if isinstance(core.delivery, ClickHouseDelivery) and core.delivery.replayed:
        summary.extra["replayed"] = core.delivery.replayed
    if getattr(core.delivery, "duplicates", 0):
        summary.extra["already in the stream"] = core.delivery.duplicates  # type: ignore[attr-defined]
    if core.held is not None and core.held.dropped:
        summary.extra["already stored"] = core.held.dropped
    return summary

"""``ben sink``: read records, cut them into batches, hand each batch to its target.

Batches close on whichever comes first: ``rows``, ``bytes`` or ``age`` seconds since their first
record (the last also when the input is idle, so a slow ``tail -f`` still lands within a second).
The reader (this thread) parses and converts; a sender thread writes the closed batches. A
one-slot queue between them bounds memory to about three batches (one filling, one waiting, one
being sent) whatever the size of the input, and makes a slow server slow the reader down.
"""

from __future__ import annotations

import gc
import queue
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ben_cli.ndjson import BadRecord, Writer
from ben_cli.rejects import Rejects, Summary
from ben_cli.sink.convert import CHUNK_ROWS, Converted, Converters, convert
from ben_cli.sink.files import RotatingFile
from ben_cli.sink.reader import Input, iter_positioned
from ben_cli.sink.rows import JsonLines, RowBuilder, RowList
from ben_cli.sink.spool import Spool
from ben_cli.sink.target import ClickHouseTarget, FileTarget, StdoutTarget, Target, spool_root

COLLECT_EVERY = 20


@dataclass
class BatchLimits:
    rows: int = 100_000
    bytes: int = 32 << 20
    age: float = 1.0


@dataclass
class SinkOptions:
    limits: BatchLimits = field(default_factory=BatchLimits)
    retry_for: float = 300.0
    rotate_bytes: int | None = None
    rotate_seconds: float | None = None
    gzip: bool = False
    from_start: bool = False
    workers: int | None = None  # processes converting for the HTTP target (None: one per core, up to 4)


# A batch's rows as its target keeps them until it is sent: the rows themselves (native insert),
# their JSONEachRow lines (HTTP), or nothing (a file needs only the lines).
RowsFactory = Callable[[], RowList | JsonLines] | None


@dataclass
class Batch:
    batch_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    lines: list[bytes] = field(default_factory=list)
    rows: RowList | JsonLines | None = None
    origins: list[tuple[str, int]] = field(default_factory=list)
    inputs: dict = field(default_factory=dict)  # Input -> offset while filling; key -> position once closed
    nbytes: int = 0
    started: float = 0.0
    ts_low: int = 2**63  # the rows' earliest and latest ts_ns (to narrow the check for stored rows)
    ts_high: int = -(2**63)
    bad: list[tuple[int, str]] = field(default_factory=list)  # lines found unstorable after spooling
    converting: Any = None  # the workers' pending conversions, one per chunk (HTTP target)

    def take(self, converted: Converted) -> None:
        """Note what converting some of the batch's lines found: unstorable lines, the time span."""
        self.bad += converted.bad
        self.ts_low, self.ts_high = min(self.ts_low, converted.ts_low), max(self.ts_high, converted.ts_high)

    def add_record(self, builder: RowBuilder, rec: dict, lineno: int, file: str) -> None:
        """Convert a record into the batch's rows (or, without rows, only check it); a record the
        table cannot hold raises BadRecord and leaves the batch as it was."""
        if self.rows is not None:
            ts = self.rows.add_record(builder, rec, self.batch_id, lineno, file)
        else:
            ts = builder.row(rec, lineno, file)["ts_ns"]
        if ts < self.ts_low:
            self.ts_low = ts
        if ts > self.ts_high:
            self.ts_high = ts


@contextmanager
def collect_per_batch() -> Iterator[None]:
    """Switch the cyclic garbage collector from automatic to once per batch.

    A batch is hundreds of thousands of fresh lists and tuples; the automatic collector kept
    re-scanning them as they were built and took 60% of the time spent turning records into
    rows. Rows hold no reference cycles (reference counting frees them), so the sender runs a
    full collection every ``COLLECT_EVERY`` batches instead (one costs about as much as sending a
    batch), which still bounds what cycles from elsewhere (tracebacks of retried errors) can hold."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class DurableRejects(Rejects):
    """Rejects whose file can be forced to disk before the spool notes that a row was rejected."""

    def sync(self) -> None:
        if self._fh is not None:
            import os

            self._fh.flush()
            os.fsync(self._fh.fileno())


class _Sender(threading.Thread):
    """Takes closed batches off the queue and delivers them; closes an idle batch when it ages."""

    def __init__(self, deliver: Callable[[Batch], None], take_aged: Callable[[], Batch | None], age: float):
        super().__init__(name="ben-sink-sender", daemon=True)
        self.q: queue.Queue[Batch | None] = queue.Queue(maxsize=1)
        self.deliver = deliver
        self.take_aged = take_aged
        self.age = age
        self.error: BaseException | None = None
        self.delivered = 0

    def run(self) -> None:
        try:
            while True:
                try:
                    batch = self.q.get(timeout=max(self.age / 4, 0.01))
                except queue.Empty:
                    aged = self.take_aged()
                    if aged is not None:
                        self.deliver(aged)
                    continue
                if batch is None:
                    return
                self.deliver(batch)
                del batch
                self.delivered += 1
                if self.delivered % COLLECT_EVERY == 0:
                    gc.collect()
        except BaseException as exc:  # noqa: BLE001 - handed to the reader thread, which raises it
            self.error = exc

    def finish(self) -> None:
        """Deliver what is queued, stop, and raise what went wrong in this thread."""
        self.put(None)
        self.join()
        if self.error is not None:
            raise self.error

    def abandon(self) -> None:
        """The reader failed: stop after the batch in hand (the spool keeps what was not sent)."""
        try:
            self.put(None)
        except BaseException:  # noqa: BLE001 - the reader's own error is the one to report
            return
        self.join(timeout=60)

    def put(self, batch: Batch | None) -> None:
        while True:
            if self.error is not None:
                raise self.error
            try:
                self.q.put(batch, timeout=0.1)
                return
            except queue.Full:
                continue


class Batcher:
    """The batch being filled, shared by the reader (adds) and the sender (takes it when aged)."""

    def __init__(self, limits: BatchLimits, make_rows: RowsFactory = None, clock: Callable[[], float] = time.monotonic,
                 on_close: Callable[[Batch], None] | None = None, builder: RowBuilder | None = None,
                 on_chunk: tuple[int, Callable[[Batch], None]] | None = None):
        self.limits = limits
        self.make_rows = make_rows
        self.builder = builder  # converts (or checks) each record as it is added; None: workers convert later
        self.on_close = on_close
        self.chunk_rows, self.on_chunk = on_chunk or (0, None)  # called each time the batch grew by chunk_rows lines
        self.clock = clock
        self.mu = threading.Lock()
        self.current = self._new()

    def _new(self) -> Batch:
        return Batch(rows=self.make_rows() if self.make_rows else None)

    def add(self, line: bytes, rec: dict | None, origin: tuple[str, int], source: Input, offset: int) -> Batch | None:
        """Add a record (and its row, unless workers convert the batch's lines later); return the
        batch when this record filled it. A record the table cannot hold raises BadRecord and is not
        added. Only the last position per input matters, so positions become the header's dicts
        when the batch closes."""
        with self.mu:
            b = self.current
            if self.builder is not None:
                b.add_record(self.builder, rec, origin[1], origin[0])  # type: ignore[arg-type]
            if not b.lines:
                b.started = self.clock()
            b.lines.append(line)
            if self.on_chunk is not None and len(b.lines) % self.chunk_rows == 0:
                self.on_chunk(b)
            b.origins.append(origin)
            b.nbytes += len(line)
            if source.key is not None:
                b.inputs[source] = offset
            # age is the sender's to check (take_aged): a clock call per record costs more than it
            # buys while records flow, and an idle input is what age is for
            if len(b.lines) >= self.limits.rows or b.nbytes >= self.limits.bytes:
                return self._close()
        return None

    def _close(self) -> Batch:
        """Hand out the current batch (the caller holds the lock) and start a new one."""
        b, self.current = self.current, self._new()
        b.inputs = {source.key: source.position(offset) for source, offset in b.inputs.items()}
        if self.on_close is not None and b.lines:
            self.on_close(b)
        return b

    def take_aged(self) -> Batch | None:
        with self.mu:
            b = self.current
            if b.lines and self.clock() - b.started >= self.limits.age:
                return self._close()
        return None

    def take(self) -> Batch | None:
        with self.mu:
            b = self._close()
        return b if b.lines else None


def _stream(inputs: Iterable[str], rejects: Rejects, resume: dict | None, tee: Writer | None, summary: Summary,
            batcher: Batcher, sender: _Sender) -> None:
    """Read the inputs into batches. Without a builder in the batcher the lines are batched
    unparsed (workers convert them once the batch closes)."""
    def bad(exc: BadRecord) -> None:
        summary.rejected += 1
        rejects.add(exc)

    sender.start()
    try:
        for rec, line, lineno, name, source, offset in iter_positioned(inputs, resume, on_error=bad,
                                                                      parse=batcher.builder is not None):
            summary.read += 1
            try:
                full = batcher.add(line, rec, (name, lineno), source, offset)
            except BadRecord as exc:
                bad(exc)
                continue
            if tee is not None:
                tee.write_line(line)
            if full is not None:
                sender.put(full)
        last = batcher.take()
        if last is not None:
            sender.put(last)
    except BaseException:
        sender.abandon()
        raise
    sender.finish()


def sink_to_file(inputs: Iterable[str], target: FileTarget | StdoutTarget, rejects: Rejects, options: SinkOptions,
                 tee: Writer | None = None) -> Summary:
    """Append records to an NDJSON file (or stdout), flushing each batch; fsync at rotation and end."""
    summary = Summary("sink")
    builder = RowBuilder("modern")  # the file keeps records as they are; only the ts check applies
    if isinstance(target, StdoutTarget):
        out = Writer(sys.stdout.buffer)
        write, flush, close = out.write_line, out.flush, out.flush
    else:
        fh = RotatingFile(target.path, options.rotate_bytes, options.rotate_seconds, options.gzip)
        write, flush, close = fh.write, fh.flush, fh.close

    def deliver(batch: Batch) -> None:
        for line in batch.lines:
            write(line)
        flush()
        summary.written += len(batch.lines)
    batcher = Batcher(options.limits, builder=builder)
    sender = _Sender(deliver, batcher.take_aged, options.limits.age)
    try:
        _stream(inputs, rejects, None, tee, summary, batcher, sender)
    finally:
        close()
    return summary


def sink_to_clickhouse(inputs: Iterable[str], target: ClickHouseTarget, rejects: DurableRejects,
                       options: SinkOptions, tee: Writer | None = None,
                       notify: Callable[[str], None] = lambda _m: None, spool_dir: Path | None = None) -> Summary:
    """Store every record exactly once in the table (or in rejects): replay what earlier runs left
    in the spool, then stream the inputs from where those runs got to."""
    from ben_cli.sink.clickhouse import ClickHouseWriter, RetryPolicy

    summary = Summary("sink")
    spool = Spool(spool_dir or spool_root() / "clickhouse" / target.key)
    spool.lock()

    def on_reject(bad: BadRecord) -> None:
        summary.rejected += 1
        rejects.add(bad)
        rejects.sync()

    writer = ClickHouseWriter(target, spool, on_reject, RetryPolicy(give_up_after=options.retry_for), notify)
    converters = None
    try:
        writer.open()
        # HTTP rows are bytes, so worker processes can make them (forked now, before any thread);
        # with --tee the reader parses every record itself, to pass on only records
        if target.http and tee is None and options.workers != 1:
            converters = Converters(writer.flavour, spool.folder, options.workers,
                                    close=() if spool.lock_fd is None else (spool.lock_fd,))
        replayed = 0
        for old in spool.pending():
            batch = Batch(old.batch_id, lines=list(old.lines()))
            converted = convert(writer.builder, writer.new_rows(), old.batch_id, batch.lines, 0, old.path.name)
            batch.rows = converted.rows
            batch.take(converted)
            notify(f"replaying spooled batch {old.batch_id} ({len(batch.lines)} rows)")
            before = writer.stored
            writer.deliver(old, batch, replay=True)
            replayed += writer.stored - before
        resume = None if options.from_start else spool.offsets()

        def deliver(batch: Batch) -> None:
            spooled = spool.write(batch.batch_id, batch.lines, batch.inputs)
            if converters is not None:
                converters.finish(batch)
            writer.deliver(spooled, batch, replay=False)

        if converters is not None:
            batcher = Batcher(options.limits, on_close=converters.submit, on_chunk=(CHUNK_ROWS, converters.feed))
        else:
            batcher = Batcher(options.limits, writer.new_rows, builder=writer.builder)
        sender = _Sender(deliver, batcher.take_aged, options.limits.age)
        _stream(inputs, rejects, resume, tee, summary, batcher, sender)
        summary.written = writer.stored - replayed
        if replayed:
            summary.extra["replayed"] = replayed
    finally:
        if converters is not None:
            converters.close()
        writer.close()
        spool.unlock()
    return summary


def sink(inputs: Iterable[str], target: Target, rejects: DurableRejects, options: SinkOptions,
         tee: Writer | None = None, notify: Callable[[str], None] = lambda _m: None) -> Summary:
    with collect_per_batch():
        if isinstance(target, ClickHouseTarget):
            return sink_to_clickhouse(inputs, target, rejects, options, tee, notify)
        return sink_to_file(inputs, target, rejects, options, tee)

"""The sink's stage core: records in, cut into batches, each closed batch handed to a delivery.

Batches close on whichever comes first: ``rows``, ``bytes`` or ``age`` seconds since their first
record (the last also when the input is idle, so a slow ``tail -f`` still lands within a second).
The thread that feeds the core converts each record as it is added; a sender thread delivers
the closed batches. A one-slot queue between them bounds memory to about three batches (one
filling, one waiting, one being delivered) whatever the size of the input, and makes a slow
server slow the reader down.

The core passes nothing on unless it tees: a sink is the end of a pipeline. What it keeps
between runs (the ClickHouse spool and how far into each input earlier runs got) is its
delivery's, taken with :meth:`Batcher.load`.
"""

from __future__ import annotations

import gc
import queue
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import accumulate
from typing import TYPE_CHECKING, Protocol

import orjson

from ben_cli.acks import line_position, position
from ben_cli.ndjson import BadRecord, Input
from ben_cli.sink.batch import Batch, BatchLimits
from ben_cli.sink.convert import CHUNK_ROWS

if TYPE_CHECKING:
    from ben_cli.sink.convert import Converters
    from ben_cli.sink.held import Held
    from ben_cli.sink.rows import JsonLines, RowBuilder, RowList

COLLECT_EVERY = 20
NO_INPUT = Input(None, 0, 0)  # records handed over in memory: no file position to resume from


class Delivery(Protocol):
    """Where closed batches go (a file, stdout, a ClickHouse table through its spool)."""

    @property
    def builder(self) -> RowBuilder | None:
        """Converts (or checks) each record as it is added; None: worker processes convert the lines."""

    @property
    def converters(self) -> Converters | None:
        """The worker processes converting a batch's lines, when there are."""

    @property
    def written(self) -> int:
        """Records stored by this run (not counting replays of earlier runs' batches)."""

    def load(self) -> dict[str, dict]:
        """Take hold of the target and its state; return the input positions to resume from."""
        ...

    def new_rows(self) -> RowList | JsonLines | None: ...

    def deliver(self, batch: Batch) -> None: ...

    def save(self) -> None: ...

    def close(self) -> None: ...


class Position(Protocol):
    """Where the record being fed was read (an :class:`ben_cli.ndjson.Reader` while it loops)."""

    file: str
    lineno: int


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


class _Sender(threading.Thread):
    """Takes closed batches off the queue and delivers them; closes an idle batch when it ages."""

    def __init__(self, deliver: Callable[[Batch], None], close_if_aged: Callable[[], Batch | None], age: float):
        super().__init__(name="ben-sink-sender", daemon=True)
        self.q: queue.Queue[Batch | None] = queue.Queue(maxsize=1)
        self.deliver = deliver
        self.close_if_aged = close_if_aged
        self.age = age
        self.error: BaseException | None = None
        self.delivered = 0

    def run(self) -> None:
        try:
            while True:
                try:
                    batch = self.q.get(timeout=max(self.age / 4, 0.01))
                except queue.Empty:
                    aged = self.close_if_aged()
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
        except BaseException as exc:  # noqa: BLE001 - handed to the feeding thread, which raises it
            self.error = exc

    def finish(self) -> None:
        """Deliver what is queued, stop, and raise what went wrong in this thread."""
        self.put(None)
        self.join()
        if self.error is not None:
            raise self.error

    def abandon(self) -> None:
        """The feeding side failed: stop after the batch in hand (the spool keeps what was not sent)."""
        try:
            self.put(None)
        except BaseException:  # noqa: BLE001 - the feeding side's own error is the one to report
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


class _Numbered:
    """Records handed over in memory, as the lines a pipe would carry them in, numbered from 1."""

    file = "-"

    def __init__(self, records: Iterable[dict]):
        self.records = records
        self.lineno = 0

    def __iter__(self) -> Iterator[tuple[dict, bytes, Input, int]]:
        dumps, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE
        for rec in self.records:
            self.lineno += 1
            yield rec, dumps(rec, option=newline), NO_INPUT, 0


class Batcher:
    """The sink's core: :meth:`feed` records, :meth:`flush` at the end; :meth:`load` first.

    Use it as a context manager: leaving it stops the sender and releases the target (on an
    error, batches not yet confirmed stay in the spool for the next run)."""

    def __init__(self, delivery: Delivery, limits: BatchLimits, *, tee: bool = False,
                 on_reject: Callable[[BadRecord], None] | None = None, clock: Callable[[], float] = time.monotonic,
                 held: Held | None = None):
        self.delivery = delivery
        self.held = held  # --ack: positions held durably, shared with ingest
        self.limits = limits
        self.tee = tee
        self.on_reject = on_reject  # None: a record the target cannot hold is raised
        self.clock = clock
        self.resume: dict[str, dict] = {}  # where earlier runs got to, per input (after load)
        self.mu = threading.Lock()  # the batch being filled is shared with the sender (aged batches)
        self.current = Batch()
        self._sender: _Sender | None = None

    # state ---------------------------------------------------------------------------------
    def load(self) -> None:
        """Take the target: lock and replay the spool (ClickHouse) or open and lock the file, and
        learn where earlier runs got to in each input (:attr:`resume`). With ``held`` (``--ack``),
        the acknowledgements are locked and read first, so that replayed batches acknowledge
        too, and records at or below what is held after that are dropped."""
        if self.held is not None:
            self.held.open()
        self.resume = self.delivery.load()
        if self.held is not None:
            self.held.start()
        self.current = self._new()

    def save(self) -> None:
        """Make what was delivered durable. The spool is written as the sink goes (a batch is on
        disk before it is sent, positions are saved once it is confirmed), so only a file target
        has anything left to force to disk."""
        self.delivery.save()

    @property
    def reads_time_only(self) -> bool:
        """Whether each record is read for its ``ts`` alone: a file target (it stores each line as
        it came) without ``--ack`` or ``--tee``. A caller that holds the lines already may then
        hand in, with each line, a record of its time alone and spare parsing the rest."""
        from ben_cli.sink.deliver import FileDelivery

        return isinstance(self.delivery, FileDelivery) and self.held is None and not self.tee

    @property
    def parses(self) -> bool:
        """Whether the core needs records parsed; False when worker processes convert the lines."""
        return self.delivery.builder is not None

    @property
    def written(self) -> int:
        return self.delivery.written

    # records -------------------------------------------------------------------------------
    def feed(self, records: Iterable[dict]) -> Iterator[dict]:
        """Store records handed over in memory (another core's output); yields them with ``tee``."""
        numbered = _Numbered(records)
        for rec, _line in self.feed_positioned(numbered, numbered):
            if rec is not None:  # always: records handed over in memory are parsed
                yield rec

    def feed_positioned(self, items: Iterable[tuple[dict | None, bytes, Input, int]], where: Position
                        ) -> Iterator[tuple[dict | None, bytes]]:
        """Store (record, line, input, offset past the line) as :meth:`ben_cli.ndjson.Reader.positioned`
        yields them (``where`` is that reader); yields (record, line) with ``tee``, else nothing.

        The record is None when workers convert the lines (:attr:`parses` is False). A record the
        target cannot hold is rejected and not stored. Only the last position per input matters,
        so a batch keeps one offset per input, which becomes the spool header's position when the
        batch closes. Age is the sender's to check: a clock call per record costs more than it buys
        while records flow, and an idle input is what age is for."""
        sender = self._start()
        builder, converters = self.delivery.builder, self.delivery.converters
        max_rows, max_bytes, tee, mu = self.limits.rows, self.limits.bytes, self.tee, self.mu
        held = self.held
        before = held.before if held is not None else None
        pos = None
        for rec, line, source, offset in items:
            if before is not None:  # --ack: drop what an earlier run stored, note where the batch reaches
                pos = position(rec) if rec is not None else line_position(line)
                if pos is not None:
                    h = before.get(pos[0])
                    if h is not None and pos[1] <= h[0]:
                        held.dropped += 1  # type: ignore[union-attr]
                        continue
                    # and what this run already took: a long-running sink (behind ben bee listen)
                    # sees an edge's ingest rerun resend what it had not yet acknowledged
                    before[pos[0]] = [pos[1], pos[2]]
            with mu:
                b = self.current
                if pos is not None:
                    b.acks[pos[0]] = [pos[1], pos[2]]
                if builder is not None:
                    try:
                        b.add_record(builder, rec, where.lineno, where.file)  # type: ignore[arg-type]
                    except BadRecord as bad:
                        bad.raw = line[:-1]
                        self._reject(bad)
                        continue
                lines = b.lines
                if not lines:
                    b.started = self.clock()
                lines.append(line)
                if converters is not None and len(lines) % CHUNK_ROWS == 0:
                    converters.convert_full_chunks(b)
                b.origins.append((where.file, where.lineno))
                b.nbytes += len(line)
                if source.key is not None:
                    b.inputs[source] = offset
                full = self._cut() if len(lines) >= max_rows or b.nbytes >= max_bytes else None
            if full is not None:
                sender.put(full)
            if tee:
                yield rec, line

    def feed_checked(self, lines: list[bytes], bad: Sequence[tuple[int, str]] = (), file: str = "-") -> None:
        """Store NDJSON lines whose records another process checked as this sink would (with its
        builder's ``ts_ns``: a worker of ``ben run``, which holds the records and made the lines):
        ``bad`` gives (index, reason) of the lines that failed, which are rejected here, numbered
        from 1 in ``lines`` as :meth:`feed_positioned` numbers them. For a target that stores lines
        as they came and reads only their time (:attr:`reads_time_only`), with rejects kept (not
        ``--strict``): nothing is left to do per line but keep it, so lines join a batch a slice
        at a time, and the batch closes at the line that reaches a limit, as one by one."""
        sender = self._start()
        if bad:
            skip = set()
            for i, reason in bad:
                self._reject(BadRecord(i + 1, reason, lines[i][:-1], file))
                skip.add(i)
            lines = [line for i, line in enumerate(lines) if i not in skip]
        max_rows, max_bytes = self.limits.rows, self.limits.bytes
        while lines:
            with self.mu:
                b = self.current
                if not b.lines:
                    b.started = self.clock()
                take = lines[:max_rows - len(b.lines)]
                ends = list(accumulate(map(len, take), initial=b.nbytes))
                reach = bisect_left(ends, max_bytes, 1)  # the first line whose end reaches the limit
                if reach < len(ends):
                    take = take[:reach]
                b.lines += take
                b.nbytes = ends[len(take)]
                full = self._cut() if len(b.lines) >= max_rows or b.nbytes >= max_bytes else None
            if full is not None:
                sender.put(full)
            lines = lines[len(take):]

    def flush(self) -> Iterator[dict]:
        """Close and deliver the last batch and wait for every delivery; nothing comes out.

        Done at once, not when the returned iterator is read: a sink's flush is for its effect."""
        with self.mu:
            last = self._cut()
        if last.lines:
            self._start().put(last)
        if self._sender is not None:
            sender, self._sender = self._sender, None
            sender.finish()
        return iter(())

    # the batch being filled ----------------------------------------------------------------
    def _new(self) -> Batch:
        return Batch(rows=self.delivery.new_rows())

    def _cut(self) -> Batch:
        """Hand out the current batch (the caller holds the lock) and start a new one."""
        b, self.current = self.current, self._new()
        b.inputs = {source.key: source.position(offset) for source, offset in b.inputs.items()}
        if self.delivery.converters is not None and b.lines:
            self.delivery.converters.convert_rest(b)
        return b

    def _close_if_aged(self) -> Batch | None:
        with self.mu:
            b = self.current
            if b.lines and self.clock() - b.started >= self.limits.age:
                return self._cut()
        return None

    def _reject(self, bad: BadRecord) -> None:
        if self.on_reject is None:
            raise bad
        self.on_reject(bad)

    def _start(self) -> _Sender:
        """The sender, started on first use: after :meth:`load`, which may fork worker processes
        (a fork copies only the calling thread, so no other thread's lock can be copied locked)."""
        if self._sender is None:
            self._sender = _Sender(self.delivery.deliver, self._close_if_aged, self.limits.age)
            self._sender.start()
        return self._sender

    # lifetime ------------------------------------------------------------------------------
    def __enter__(self) -> Batcher:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._sender is not None:
                sender, self._sender = self._sender, None
                sender.abandon()
        finally:
            try:
                self.delivery.close()
            finally:
                if self.held is not None:
                    self.held.close()

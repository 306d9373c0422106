"""``ben ingest --from nats://HOST/SUBJECT --durable NAME``: records from NATS JetStream, each
acknowledged only once it is handed on.

One durable pull consumer per partition owned (``DURABLE-P``, acknowledging all up to a message).
Each record gets the mark of an ingested input: ``_ingest.in`` names the stream and partition,
``_ingest.at`` (and ``line``) the message's stream sequence, so a sink's acknowledgements
(``ben sink --ack STATE``) and a detector's learned positions hold NATS positions the way they
hold file offsets. Handed on means: written and flushed to stdout; with ``--ack --state STATE``,
held in ``STATE.ack`` by the sink at the pipeline's end. The NATS acknowledgement follows that.
A restart reads each partition from past the least of what the sink holds and what the
detectors saved (in ``ben run``: :attr:`IngestOptions.floors`), so records after it are read
again and records at or below it never; the stream keeps acknowledged messages (limits
retention), which is what lets a restart go back behind the acknowledgement floor.

A server that goes away (restarted, a cut connection) does not end the consumer: it connects
again with backoff for up to :data:`RETRY_FOR` seconds and binds each partition's consumer right
after the last message it handed on (the pipe downstream is still the same, so nothing is read
twice and nothing skipped); acknowledgements not sent on the lost connection are made moot by
that rebinding. Past the limit it exits 1 naming the server, and a rerun resumes as above.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import orjson

from ben_cli import acks
from ben_cli.errors import BadRecord, UsageError
from ben_cli.ingest.options import IngestOptions
from ben_cli.ingest.summary import IngestSummary
from ben_cli.jetstream import Bus, JetStreamError, committed, owned, parse_address
from ben_cli.ndjson import Writer
from ben_cli.rejects import Rejects
from ben_cli.retry import RetryPolicy, retrying

FETCH = 1024  # messages fetched per partition at a time
POLL = 0.05  # seconds a fetch waits for a batch to fill (nats-py waits this long for a partial one)
RETRY_FOR = 300.0  # seconds a consumer keeps reconnecting to a server that went away, as ben sink's --retry-for


def consume(inputs: Sequence[str], writer: Writer, rejects: Rejects, options: IngestOptions) -> IngestSummary:
    """Read the owned partitions until SIGTERM/SIGINT, or until ``max_idle`` seconds bring nothing."""
    if list(inputs) not in ([], ["-"]):
        raise UsageError("--from reads NATS, not files: name no inputs")
    for flag, on in (("--follow", options.follow), ("--since-last", options.since_last),
                     ("--listen", options.listen), ("--output", options.output)):
        if on:
            raise UsageError(f"--from cannot be combined with {flag}")
    if not options.durable:
        raise UsageError("--from needs --durable NAME (the consumers' name on the server, kept across runs)")
    if options.ack and options.state is None:
        raise UsageError("--from with --ack needs --state STATE (the sink's --ack STATE)")
    address = parse_address(options.source or "")
    summary = IngestSummary()
    if options.wrap_writer is not None:  # --contract, --policy: held at the door as from files
        writer = options.wrap_writer(writer)
    bus = Bus(address)
    reader = None
    try:
        parts = owned(bus.ensure_stream(None), options.partitions)
        reader = _Consumer(bus, parts, writer, rejects, options)
        reader.run(summary)
    finally:
        (reader.bus if reader is not None else bus).close()
    summary.written, summary.rejected = writer.count, rejects.count
    return summary


class _Consumer:
    def __init__(self, bus: Bus, parts: list[int], writer: Writer, rejects: Rejects, options: IngestOptions):
        self.bus, self.writer, self.rejects, self.options = bus, writer, rejects, options
        self.ids = {p: bus.address.input_id(p) for p in parts}
        self.sink = acks.ack_path(options.state) if options.ack and options.state is not None else None
        self.learned = list(options.floors)
        self.starts = self.start_positions()
        self.subs = {p: bus.consumer(str(options.durable), p, self.starts[p]) for p in parts}
        self.pending: dict[int, list[Any]] = {p: [] for p in parts}  # handed on, not yet acknowledged
        self.handed: dict[int, int] = {}  # partition -> stream sequence of the last message handed on
        self.retry = RetryPolicy(give_up_after=RETRY_FOR)
        self.stop = False

    def _table(self, path: Path) -> dict[str, int]:
        try:
            return committed(path.read_bytes())
        except FileNotFoundError:
            return {}

    def stored(self) -> dict[str, int] | None:
        """How far the sink holds each partition (None without ``--ack``: what was handed on)."""
        if self.sink is None:
            return None
        have = self._table(self.sink)
        return {key: have.get(key, 0) for key in self.ids.values()}

    def start_positions(self) -> dict[int, int | None]:
        """Where each partition is read from: past the least of what the sink holds and what the
        detectors saved (a detector whose file names a partition has seen it; none naming it: its
        records are all fed again). None without such files: the consumer's own floor."""
        stored = self.stored()
        tables = [self._table(Path(f)) for f in self.learned]
        if stored is None and not tables:
            return dict.fromkeys(self.ids)
        starts: dict[int, int | None] = {}
        for partition, key in self.ids.items():
            held = [stored[key]] if stored is not None else []
            if tables:
                named = [t[key] for t in tables if key in t]
                held.append(min(named) if named else 0)
            starts[partition] = min(held) + 1
        return starts

    def run(self, summary: IngestSummary) -> None:
        restore = self._on_signals()
        try:
            self._loop(summary)
        finally:
            restore()
            self.writer.flush()
            self.acknowledge()

    def _loop(self, summary: IngestSummary) -> None:
        last = time.monotonic()
        max_idle = self.options.max_idle
        while not self.stop:
            try:
                got = [(p, msgs) for p, msgs in self.bus.fetch(self.subs, FETCH, POLL) if msgs]
                if got:
                    last = time.monotonic()
                    for partition, msgs in got:
                        read, emitted = self._hand_on(partition, msgs)
                        summary.add("nats", read, emitted, read - emitted)
                self.writer.flush()
                self.acknowledge()
            except JetStreamError as exc:
                self._reconnect(exc)
                last = time.monotonic()
                continue
            if not got and max_idle is not None and time.monotonic() - last >= max_idle:
                return

    def _reconnect(self, lost: JetStreamError) -> None:
        """Connect again and bind each partition after the last message handed on (where it was
        to start, if none was): with backoff, until :data:`RETRY_FOR` seconds have passed."""
        self.writer.flush()
        self.bus.close()

        def attempt() -> Bus | None:
            if self.stop:
                return None
            bus = Bus(self.bus.address)
            try:
                bus.ensure_stream(self.bus.partitions)
                resume = {p: self.handed[p] + 1 if p in self.handed else self.starts[p] for p in self.subs}
                self.subs = {p: bus.consumer(str(self.options.durable), p, at) for p, at in resume.items()}
            except JetStreamError:
                bus.close()
                raise
            return bus

        def again(exc: Exception, pause: float) -> None:
            if self.options.notify is not None:
                self.options.notify(f"{exc}; connecting again in {pause:.1f} s")

        bus = retrying(attempt, self.retry, transient=lambda exc: isinstance(exc, JetStreamError), on_retry=again,
                       failed=lost, gave_up=lambda exc, waited: JetStreamError(f"gave up after {waited:.0f} s: {exc}"),
                       sleep=lambda pause: None if self.stop else time.sleep(pause))
        if bus is None:  # stopped (SIGTERM) while the server was away
            return
        self.bus = bus
        for msgs in self.pending.values():
            msgs.clear()

    def _hand_on(self, partition: int, msgs: list[Any]) -> tuple[int, int]:
        """Write each message's record (a message that is not one goes to the rejects). A message
        at or below the last one handed on is a redelivery (a server restarted behind its own
        consumer state, under a client that reconnected by itself): passed over; acknowledging a
        later one acknowledges it (the consumers acknowledge all up to a message)."""
        key, write, loads = self.ids[partition], self.writer.write, orjson.loads
        last = self.handed.get(partition)
        if last is not None and msgs[0].metadata.sequence.stream <= last:
            msgs = [m for m in msgs if m.metadata.sequence.stream > last]
        emitted = 0
        for msg in msgs:
            seq = msg.metadata.sequence.stream
            try:
                rec = loads(msg.data)
                if type(rec) is not dict:
                    raise ValueError("a message is not a JSON object")
            except ValueError as exc:
                self.rejects.add(BadRecord(seq, str(exc), bytes(msg.data)[:4096], key))
            else:
                rec["_ingest"] = {"format": "nats", "in": key, "at": seq, "line": seq}
                write(rec)
                emitted += 1
        self.pending[partition].extend(msgs)
        if msgs:
            self.handed[partition] = msgs[-1].metadata.sequence.stream
        return len(msgs), emitted

    def acknowledge(self) -> None:
        """Acknowledge, per partition, the last message handed on at or below what the sink holds
        (all that was handed on, without ``--ack``). A restart reads from the start positions, not
        from this floor: the stream keeps acknowledged messages, so acknowledging here never
        waits for a detector's save (which would stall the consumer at its pending limit)."""
        stored = self.stored()
        last = []
        for partition, msgs in self.pending.items():
            if not msgs:
                continue
            if stored is None:
                upto = len(msgs)
            else:
                limit = stored[self.ids[partition]]
                upto = 0
                while upto < len(msgs) and msgs[upto].metadata.sequence.stream <= limit:
                    upto += 1
            if upto:
                last.append(msgs[upto - 1])
                del msgs[:upto]
        if last:
            self.bus.ack(last)

    def _on_signals(self) -> Any:
        def stop(_signum: int, _frame: FrameType | None) -> None:
            self.stop = True

        try:
            old = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
        except ValueError:  # not the main thread: stopped by max_idle only
            return lambda: None
        return lambda: [signal.signal(s, h) for s, h in old.items()]

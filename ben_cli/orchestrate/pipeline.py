"""``ben run`` in one process: the stages' cores joined by lists of records, no bytes between them.

Ingest, when it is the first stage, runs as ``ben ingest`` runs (files, ``--follow``,
``--since-last``, ``--listen``: the same call), with a writer that collects records into batches
and pushes each batch through the other stages. Without ingest the first stage reads NDJSON from
its inputs or stdin with the shared reader. The last stage's output goes to stdout as NDJSON,
unless the last stage is a sink (which stores it) or a report (narrate without ``--every``).

Supervision is per batch: a stage that raises anything but a ben error (which is the user's to
see: a bad option, a strict reject, a held lock) is rebuilt from its options, with the state its
last save left, and given the batch again after a pause that doubles each time; after
``max_restarts`` failures in a row the pipeline stops with a report naming the stage and the
error. SIGTERM ends reading at the next batch boundary; what was read is carried through every
stage, flushed and saved, and the run exits 0 (``--follow`` and ``--listen`` take SIGTERM
themselves, the same way).
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from types import FrameType
from typing import Any, BinaryIO

import orjson

from ben_cli.errors import BenError, UsageError
from ben_cli.ndjson import Reader, Writer, dumps_lines
from ben_cli.orchestrate.steps import Planned, RouteStep, SinkStep, Step, make_step
from ben_cli.record import format_ts, now_ns
from ben_cli.rejects import Rejects, Summary

BATCH = 1024  # records per batch: large enough that a stage's per-call setup is noise


class StageFailed(BenError):
    """A stage kept failing after its restarts: the pipeline stopped (exit status 1)."""


@dataclass
class RunOptions:
    batch: int = BATCH
    workers: int = 1
    stats_every: float | None = None  # seconds between diag records about the pipeline
    max_restarts: int = 5  # failures in a row before a stage stops the pipeline
    backoff: float = 0.05  # seconds before the first restart; doubled each time, at most 5 s
    quiet: bool = False
    reload: Callable[[], Sequence[Planned]] | None = None  # SIGHUP: the pipeline file read again
    shard: tuple[int, int] | None = None  # --shard i/N: keep the series whose hash is i mod N
    dispatch: str = "hash"  # --workers: hash (of the series key; round robin without one), round-robin, least-loaded


def _silent(_message: str) -> None:
    pass


def _to_stderr(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def check_plans(plans: Sequence[Planned]) -> None:
    """A pipeline's shape: ingest only first, a sink or a report only last, inputs only for the
    first stage. A :class:`UsageError` naming the stage otherwise."""
    if not plans:
        raise UsageError("a pipeline needs at least one stage")
    for i, plan in enumerate(plans):
        last = i == len(plans) - 1
        if plan.use == "ingest" and i > 0:
            raise UsageError(f"{plan.where}: ingest can only be the first stage (it reads producers' formats)")
        if plan.use == "sink" and not last:
            raise UsageError(f"{plan.where}: sink can only be the last stage (it passes nothing on)")
        if plan.use == "narrate" and plan.options.every_ns is None and not last:
            raise UsageError(f"{plan.where}: narrate without --every writes a report, so it can only be the last stage")
        if plan.inputs and i > 0:
            raise UsageError(f"{plan.where}: only the first stage reads files ({' '.join(plan.inputs)})")
        if plan.use == "route":
            branch = plan.options.branch
            if any(p.use == "ingest" for p in branch):
                raise UsageError(f"{plan.where}: a branch takes the records routed to it; it holds no ingest")
            if any(p.inputs for p in branch):
                raise UsageError(f"{plan.where}: a branch's stages read no files")
            check_plans(branch)


class Drain(Exception):
    """SIGTERM arrived: stop reading at this batch boundary and carry what was read to the end."""


class Flow:
    """The stages after the source, a batch at a time, and where the last one's output goes."""

    def __init__(self, steps: list[Step], out: Writer, options: RunOptions, say: Callable[[str], None]):
        self.steps, self.out, self.options, self.say = steps, out, options, say
        self.draining = False
        self.waiting = False  # blocked reading stdin between batches: SIGTERM may stop the read itself
        self.reload_wanted = False  # SIGHUP came: reload at the next batch boundary
        self.source: Planned | None = None
        self.stack: ExitStack | None = None  # where the rejects of reloaded stages are closed
        self.started = time.monotonic()
        self.next_stats = self.started + options.stats_every if options.stats_every else None
        self.source_read = 0

    def push(self, batch: list[dict], start: int = 0) -> None:
        """``batch`` through the steps from ``start`` on, and out."""
        for step in self.steps[start:]:
            if not batch:
                return
            batch = self.supervised(step, step.feed, batch)
        self.emit(batch)
        if self.next_stats is not None and time.monotonic() >= self.next_stats:
            self.emit_stats()
        if self.reload_wanted and start == 0:
            self.reload()

    def reload(self) -> None:
        """Replace the stages after the source with those of the pipeline file read again, if it
        still validates and keeps the source: the old stages flush, save and close first, so a
        new stage with the same ``--state`` continues where the old one stopped."""
        self.reload_wanted = False
        if self.options.reload is None or self.stack is None:
            return
        try:
            plans = list(self.options.reload())
            check_plans(plans)
        except BenError as exc:
            self.say(f"ben run: SIGHUP: {exc}; the running pipeline goes on")
            return
        source = plans[0] if plans[0].use == "ingest" else None
        if (source is None) != (self.source is None) or (source and self.source and source.inputs != self.source.inputs):
            self.say("ben run: SIGHUP: the first stage (the source) cannot change while it reads; "
                     "the running pipeline goes on")
            return
        self.end()
        for step in self.steps:
            step.finish(self.out)
            step.close()
        rest = plans[1:] if source else plans
        steps = [make_step(p, self.stack.enter_context(p.open_rejects())) for p in rest]
        wire(steps, self.out, self.options, self.say)
        for step in steps:
            self.stack.callback(step.close)
            step.start()
        self.steps = steps
        self.say(f"ben run: SIGHUP: pipeline reloaded ({len(plans)} stages)")

    def to_end(self, lines: bytes) -> None:
        """NDJSON lines a worker made: to the last stage, or to stdout as they are."""
        if len(self.steps) == 1 and isinstance(self.steps[0], SinkStep):
            self.supervised(self.steps[0], lambda _b: self.steps[0].feed_lines(lines) or [], [])  # type: ignore[attr-defined]
            return
        if self.steps:
            self.push(parse_lines(lines))
            return
        self.out.write_lines(lines)

    def emit(self, batch: list[dict]) -> None:
        """The last stage's output to stdout, a batch in one write (a sink or a report passes
        nothing on: its batches come out empty)."""
        if batch:
            self.out.write_lines(dumps_lines(batch), len(batch))

    def supervised(self, step: Step, call: Callable[[list[dict]], list[dict]], batch: list[dict]) -> list[dict]:
        """``call(batch)``, restarting the step on a failure that is not a ben error."""
        failures = 0
        while True:
            read = step.read
            try:
                return call(batch)
            except BenError:
                raise
            except Exception as exc:
                failures += 1
                step.read = read  # the batch is fed again: count it once
                where = step.plan.where
                if failures > self.options.max_restarts:
                    raise StageFailed(f"{where} failed {failures} times in a row, stopping: "
                                      f"{type(exc).__name__}: {exc}") from exc
                pause = min(5.0, self.options.backoff * 2 ** (failures - 1))
                self.say(f"ben run: {where} failed ({type(exc).__name__}: {exc}); restarting in {pause:g}s")
                time.sleep(pause)
                kept = step.restart()
                if kept is not None:
                    batch = kept  # as it came in: the failed attempt may have marked some records

    def end(self) -> None:
        """The input has ended: each step's flush flows through the steps after it."""
        for i, step in enumerate(self.steps):
            rest = self.supervised(step, lambda _b, s=step: s.flush(), [])  # type: ignore[misc]
            if rest:
                self.push(rest, i + 1)
        if self.options.stats_every:
            self.emit_stats()

    def emit_stats(self) -> None:
        """One ``diag`` record per stage: what it read, wrote and rejected, records/s since the
        start, restarts; so a pipeline's own health flows where its records go."""
        now = time.monotonic()
        elapsed = max(now - self.started, 1e-9)
        ts = format_ts(now_ns())
        records = [stats_record(ts, 1, "source", self.source_read, self.source_read, 0, 0, elapsed)]
        for n, step in enumerate(self.steps, 2):
            queue = len(step.pending) if isinstance(step, RouteStep) else None  # what its branch has yet to take
            records.append(stats_record(ts, n, step.name, step.read, step.written, step.rejects.count, step.restarts,
                                        elapsed, queue))
        if self.next_stats is not None and self.options.stats_every:
            self.next_stats = now + self.options.stats_every
        if self.steps and isinstance(self.steps[-1], SinkStep):
            self.steps[-1].feed(records)
        else:
            for rec in records:
                self.out.write(rec)


def stats_record(ts: str, n: int, name: str, read: int, written: int, rejected: int, restarts: int,
                 elapsed: float, queue: int | None = None) -> dict:
    attrs: dict[str, Any] = {"stage": n, "use": name, "read": read, "written": written, "rejected": rejected,
                             "restarts": restarts}
    if queue is not None:
        attrs["queue"] = queue
    return {"ts": ts, "lane": "diag", "source": "ben.run", "name": "ben.run.stage", "value": round(read / elapsed, 1),
            "unit": "records/s", "attrs": attrs}


def wire(steps: list[Step], out: Writer, options: RunOptions, say: Callable[[str], None]) -> None:
    """Give each route step its branch: a flow of its own into ``out``, its routes wired too."""

    def flow_of(branch: list[Step]) -> Flow:
        wire(branch, out, options, say)
        return Flow(branch, out, options, say)

    for step in steps:
        if isinstance(step, RouteStep):
            step.attach(flow_of)


def summaries_of(steps: list[Step]) -> list[Summary]:
    """Each step's counts, a route's followed by those of its branch."""
    out: list[Summary] = []
    for step in steps:
        out.append(step.summary())
        if isinstance(step, RouteStep):
            out += step.summaries()
    return out


def parse_lines(lines: bytes) -> list[dict]:
    """The records of NDJSON lines this program wrote (so each line is one object)."""
    loads = orjson.loads
    return [loads(line) for line in lines.splitlines()]


class Feed:
    """A writer for ``ben ingest``'s run that collects records into batches for the flow: it is
    the point where ingest's output becomes the next stage's input without bytes between them."""

    def __init__(self, flow: Flow, size: int, push: Callable[[list[dict]], None] | None = None):
        self.flow, self.size = flow, size
        self.push = push or flow.push
        self.batch: list[dict] = []
        self.count = 0

    def write(self, record: dict) -> None:
        self.count += 1
        batch = self.batch
        batch.append(record)
        if len(batch) >= self.size:
            self.send()

    def write_line(self, line: bytes) -> None:
        from ben_cli.ndjson import parse_object

        self.write(parse_object(line))

    def write_all(self, records: Iterable[dict]) -> None:
        for rec in records:
            self.write(rec)

    def send(self) -> None:
        batch, self.batch = self.batch, []
        self.flow.source_read += len(batch)
        self.push(batch)
        if self.flow.draining:
            raise Drain()

    def flush(self) -> None:
        """Ingest has nothing more ready (a listener between packets, a follower between polls):
        what it gave so far goes through now, so the pipeline stays live."""
        if self.batch:
            self.send()
        self.flow.out.flush()


def run(plans: Sequence[Planned], options: RunOptions, say: Callable[[str], None] | None = None,
        out: BinaryIO | None = None) -> list[Summary]:
    """Run the pipeline ``plans``, writing what leaves its last stage to ``out`` (stdout by
    default); the summaries of its stages, first to last."""
    check_plans(plans)
    if plans[0].use == "ingest" and getattr(plans[0].options, "source", None) is not None:
        from ben_cli.orchestrate.nats import adopt  # --shard picks NATS partitions; acks follow sink and detectors

        plans, options = adopt(plans, options)
    tell = say or (_silent if options.quiet else _to_stderr)
    if options.workers > 1:
        from ben_cli.orchestrate.keys import check_dispatch
        from ben_cli.orchestrate.shards import run_sharded

        check_dispatch(plans, options.dispatch)

        return run_sharded(plans, options, tell, out)
    with ExitStack() as stack:
        all_rejects = [stack.enter_context(plan.open_rejects()) for plan in plans]
        source = plans[0] if plans[0].use == "ingest" else None
        rest = list(plans[1:] if source else plans)
        rest_rejects = all_rejects[1:] if source else all_rejects
        steps = [make_step(p, r) for p, r in zip(rest, rest_rejects, strict=True)]
        writer = stack.enter_context(Writer(out))
        wire(steps, writer, options, tell)
        for step in steps:
            stack.callback(step.close)
            step.start()
        flow = Flow(steps, writer, options, tell)
        flow.source, flow.stack = source, stack
        if options.reload is not None:
            _on_sighup(flow, stack)
        push: Callable[[list[dict]], None] = flow.push
        if options.shard is not None:
            from ben_cli.orchestrate.keys import shard_filter

            keep = shard_filter(plans, options.shard)
            push = lambda batch: flow.push(keep(batch))  # noqa: E731 - the flow's push, filtered
        summaries = _read(flow, source, plans[0], all_rejects[0], options, stack, push)
        flow.end()
        for step in flow.steps:
            step.finish(writer)
        writer.flush()
        summaries += summaries_of(flow.steps)
        for step in flow.steps:
            step.check()
    return summaries


def _read(flow: Flow, source: Planned | None, first: Planned, rejects: Rejects, options: RunOptions,
          stack: ExitStack, push: Callable[[list[dict]], None]) -> list[Summary]:
    """Read the pipeline's input into the flow, until its end or SIGTERM."""
    own_signals = source is None or not (source.options.follow or source.options.listen)
    if own_signals:
        _on_sigterm(flow, stack)
    try:
        if source is not None:
            from ben_cli.ingest import run as ingest

            feed = Feed(flow, options.batch, push)
            summary: Summary = ingest(source.inputs, feed, rejects, source.options)  # type: ignore[arg-type]
            if feed.batch:
                feed.send()
            return [summary]
        read_batches(flow, Reader(first.inputs or ["-"], rejects.add).records(), options.batch, push)
        return []
    except Drain:
        return []


def read_batches(flow: Flow, records: Iterable[dict], size: int, push: Callable[[list[dict]], None]) -> None:
    """NDJSON records into ``push`` a batch at a time, until their end or SIGTERM. A SIGTERM
    while the reader waits for input ends the wait; the records of the batch begun are pushed."""

    def cut() -> Iterator[list[dict]]:
        batch: list[dict] = []
        try:
            for rec in records:
                batch.append(rec)
                if len(batch) >= size:
                    yield batch
                    batch = []
        except Drain:
            pass
        if batch:
            yield batch

    flow.waiting = True
    try:
        for batch in cut():
            flow.waiting = False
            flow.source_read += len(batch)
            push(batch)
            if flow.draining:
                return
            flow.waiting = True
    except Drain:
        return
    finally:
        flow.waiting = False


def _on_sighup(flow: Flow, stack: ExitStack) -> None:
    """SIGHUP: reload the pipeline file at the next batch boundary (at once while waiting on stdin)."""

    def reload(_signum: int, _frame: FrameType | None) -> None:
        flow.reload_wanted = True
        if flow.waiting:
            flow.reload()

    try:
        old = signal.signal(signal.SIGHUP, reload)
    except ValueError:  # not the main thread
        return
    stack.callback(signal.signal, signal.SIGHUP, old)


def _on_sigterm(flow: Flow, stack: ExitStack) -> None:
    """SIGTERM: finish the batch in hand, then end as if the input had ended."""
    def drain(_signum: int, _frame: FrameType | None) -> None:
        flow.draining = True
        if flow.waiting:  # between records of a batch, waiting for input: stop the wait now
            raise Drain()

    try:
        old = signal.signal(signal.SIGTERM, drain)
    except ValueError:  # not the main thread (a test runner's thread): no handler
        return
    stack.callback(signal.signal, signal.SIGTERM, old)

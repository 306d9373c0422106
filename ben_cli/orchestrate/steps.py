"""Each stage of a pipeline as one object around its part's core, fed a batch at a time.

A :class:`Step` is what ``ben run`` holds per stage: the core the stage's command uses (built
from the same options object the command builds), its rejects, its counts, and the four moments
of its life: ``start`` (take locks, load state), ``feed`` a batch, ``flush`` at the end, ``finish``
(save state) and ``close`` (always). A batch is a list: each step's output for a batch is made
whole before the next step sees it, which costs one list per batch per step and gives the
supervisor and the statistics a unit to count, retry and measure.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from ben_cli.detect import DetectOptions, SeriesTable, table_for
from ben_cli.detect.replay import Replays
from ben_cli.detect.stream import check_by
from ben_cli.errors import BadRecord, UsageError
from ben_cli.ndjson import Writer, dumps_lines
from ben_cli.rejects import Rejects, Summary
from ben_cli.scrub import Scrubber, ScrubOptions
from ben_cli.scrub.policy import Policy, load_policy
from ben_cli.sink import DurableRejects, SinkOptions, batcher_for
from ben_cli.sink.batcher import NO_INPUT, collect_per_batch

if TYPE_CHECKING:  # count and narrate are imported when a pipeline holds them: a tenth of the start-up
    from ben_cli.count import Counter, CountOptions, RateOptions, Rater
    from ben_cli.narrate import Narrator
    from ben_cli.narrate import Options as NarrateOptions

# Records fed between two snapshots of a stage's state, at least (more when the state is large).
SNAPSHOT_RECORDS = 16384

# The commands a pipeline can hold (ingest only as its source, see pipeline.py), and route.
STAGES = ("ingest", "scrub", "count", "rate", "detect", "narrate", "sink")


@dataclass
class Planned:
    """One stage as the command's parser read it: its options object, and the rejects options
    every command shares."""

    use: str
    options: Any
    where: str = ""
    inputs: list[str] = field(default_factory=list)
    rejects: Path | None = None
    strict: bool = False
    keep_raw: bool = True
    max_reject_share: float | None = None  # ingest: exit 1 when more of its lines were rejected
    replays: bool = True  # detect --state: records read again are not learned twice (see DetectStep)

    def open_rejects(self) -> Rejects:
        if self.use == "sink":
            return DurableRejects(self.rejects, stage="sink", strict=self.strict)
        return Rejects(self.rejects, stage=self.use, strict=self.strict, keep_raw=self.keep_raw)

    def for_shard(self, index: int, count: int) -> Planned:
        """This stage as worker ``index`` of ``count`` runs it: a state file of its own."""
        state = getattr(self.options, "state", None)
        if count <= 1 or state is None or self.use not in ("detect", "count"):
            return self
        path = Path(state)
        return replace(self, options=replace(self.options, state=path.with_name(f"{path.name}.{index}-of-{count}")))


@dataclass(frozen=True)
class RouteOptions:
    """A ``route`` stage: records for which every ``when`` filter holds (``ben count --where``'s
    grammar: ``severity>=error``, ``lane=control``, ``redacted~.``) also go to the ``branch``
    stages, a copy each; with ``move`` they leave the main line instead. ``queue``: records a
    branch takes before they are pushed through it (its bounded queue: a full one makes the main
    line wait while the branch works, which is backpressure in one process)."""

    branch: tuple[Planned, ...]
    when: tuple[str, ...] = ()
    move: bool = False
    queue: int = 1024



class Step:
    """A stage in a pipeline: ``feed`` a batch, get the batch that comes out.

    A stage that keeps state in memory (``STATE``: the core's attributes that hold it) is
    restarted with that state: every so often the step takes a copy of it (a snapshot), and it
    keeps a copy of each batch fed since, as it came in (stages mark records in place). A restart
    builds a fresh core, gives it the snapshot, feeds it the batches since again (their output is
    dropped: it went on already) and hands back the failed batch as it came, to be fed again. So
    the stage after a restart is in the state it would have been in without the failure."""

    STATE: tuple[str, ...] = ()

    def __init__(self, plan: Planned, rejects: Rejects):
        self.plan, self.name, self.rejects = plan, plan.use, rejects
        self.read = self.written = 0
        self.restarts = 0
        self.held = ExitStack()
        self.core: Any = None
        self.remember = bool(self.STATE)  # False in a worker, whose process is its unit of recovery
        self.snap: dict | None = None
        self.log: list[list[dict]] = []  # the batches fed since the snapshot, as they came in
        self.logged = 0
        self.replaying = False

    # the core's life -------------------------------------------------------------------------
    def build(self) -> Any:
        """The stage's core (its command's library object). Not abstract: a route builds none, its
        branches' stages are the cores (RouteStep overrides start)."""
        raise NotImplementedError

    def start(self) -> None:
        """Build the core and take what it holds (state files, locks); again after a restart."""
        self.core = self.build()
        if hasattr(self.core, "load"):
            self.core.load()
        if hasattr(self.core, "close"):
            self.held.callback(self.core.close)

    def restart(self) -> list[dict] | None:
        """A fresh core after a failure: with the state it had before the failed batch when the
        step remembers it, else with the state its last save left (the one a rerun of the command
        would start from). Returns the failed batch as it came in, when kept."""
        self.held.close()
        self.held = ExitStack()
        self.restarts += 1
        self.start()
        if not self.remember or self.snap is None or not self.log:
            return None
        for name, value in copy.deepcopy(self.snap).items():
            setattr(self.core, name, value)
        failed = self.log.pop()
        self.logged -= len(failed)
        self.replaying = True
        try:
            for batch in self.log:
                for _ in self.core.feed([dict(rec) for rec in batch]):
                    pass
        finally:
            self.replaying = False
        return [dict(rec) for rec in failed]

    def wrap(self, batch: list[dict]) -> Iterable[dict]:
        """What the core is fed for ``batch`` (a stage may note things on the way)."""
        return batch

    def after(self) -> None:
        """Called once the core has taken the whole batch."""

    def snapshot(self) -> None:
        """Copy the state the core holds in memory; forget the batches fed before."""
        self.snap = copy.deepcopy({name: getattr(self.core, name) for name in self.STATE})
        self.log, self.logged = [], 0

    def feed(self, batch: list[dict]) -> list[dict]:
        self.read += len(batch)
        if self.remember:
            if self.snap is None:
                self.snapshot()
            self.log.append([dict(rec) for rec in batch])  # shallow: stages mark a record's top level
            self.logged += len(batch)
        out = list(self.core.feed(self.wrap(batch)))
        self.after()
        self.written += len(out)
        if self.remember and self.logged >= max(SNAPSHOT_RECORDS, 8 * len(getattr(self.core, self.STATE[0]))):
            self.snapshot()  # the copy costs about as much per series as the records since cost
        return out

    def flush(self) -> list[dict]:
        out = list(self.core.flush())
        self.written += len(out)
        return out

    def save(self) -> None:
        """Make the stage's state durable (a checkpoint: workers call it between batches)."""
        if hasattr(self.core, "save"):
            self.core.save()

    def finish(self, out: Writer) -> None:
        """The input has ended and every record is through: save the state."""
        self.save()

    def close(self) -> None:
        self.held.close()

    def summary(self) -> Summary:
        return Summary(self.name, read=self.read, written=self.written, rejected=self.rejects.count)

    def check(self) -> None:
        """Raise what the command would raise at its end (after its output is out)."""

    def reject(self, reason: str, data: bytes = b"", size: int | None = None) -> None:
        """A record this stage cannot handle: to its rejects, numbered by its place in the stage's
        input (once: not again while a restart feeds the batches since the snapshot again)."""
        if self.replaying:
            return
        self.rejects.add(BadRecord(self.read, reason, data, f"<{self.name} input>", size=size))


class ScrubStep(Step):
    def build(self) -> Scrubber:
        o: ScrubOptions = self.plan.options
        policy = o.policy if isinstance(o.policy, Policy) else load_policy(o.policy)
        return Scrubber(policy, key=o.key, dry_run=o.dry_run, on_reject=self.reject)


class DetectStep(Step):
    """With ``--state``, records read again after a crash (at or below the positions learned,
    ``STATE.positions``) are marked but not learned twice, as ``ben detect --state`` does. Not
    with a state file a worker made for itself in a folder of this run (``plan.replays`` off):
    no earlier run learned from it, and a worker restarted in this run is sent only what came
    after its checkpoint, so no record there is read again."""

    STATE = ("table", "newest", "expired", "reset", "evicted", "ticks")
    replays: Replays | None = None

    def build(self) -> SeriesTable:
        o: DetectOptions = self.plan.options
        table = table_for(o, on_reject=self.reject)
        if o.state is not None and not o.joint and self.plan.replays:
            self.replays = Replays(table, o.state)
            table.on_save = self.replays.save
        return table

    def wrap(self, batch: list[dict]) -> Iterable[dict]:
        return batch if self.replays is None else self.replays.records(batch)

    def after(self) -> None:
        if self.replays is not None:
            self.replays.restore()  # the last record's detector, if it was seen before

    def summary(self) -> Summary:
        s = super().summary()
        s.extra["series"] = len(self.core.table)
        if self.replays is not None and self.replays.replayed:
            s.extra["seen before"] = self.replays.replayed
        return s

    def check(self) -> None:
        check_by(self.core, _warn)


def _warn(message: str) -> None:
    sys.stderr.write(f"ben run: detect: warning: {message}\n")


class CountStep(Step):
    STATE = ("keys", "windows", "newest", "last_closed", "late", "matched", "untimed")
    def build(self) -> Counter:
        from ben_cli.count import Counter

        o: CountOptions = self.plan.options
        return Counter(o)


class RateStep(Step):
    STATE = ("last", "first", "resets", "rates")
    def build(self) -> Rater:
        from ben_cli.count import Rater

        o: RateOptions = self.plan.options
        return Rater(o)


class NarrateStep(Step):
    """Streaming (``--every``): records pass and narratives join them. Otherwise the last stage:
    records are taken in and one report is written at the end, as ``ben narrate`` writes it."""

    def build(self) -> Narrator:
        from ben_cli.narrate import Narrator
        from ben_cli.narrate.run import read_rejected

        o: NarrateOptions = self.plan.options
        return Narrator(o, rejected=read_rejected(o.rejected_files) if o.rejected_files else None)

    @property
    def streaming(self) -> bool:
        return self.plan.options.every_ns is not None

    def finish(self, out: Writer) -> None:
        from ben_cli.narrate import render

        if not self.streaming:
            report = self.core.report(own_rejects=self.rejects.count)
            out.stream.write(render(report, self.plan.options.format).encode("utf-8"))
            out.flush()
            self.verdicts = {report.verdict}
        else:
            self.verdicts = self.core.verdicts or {"nodata"}

    def feed(self, batch: list[dict]) -> list[dict]:
        if self.streaming:
            return super().feed(batch)
        self.read += len(batch)
        for _ in self.core.feed(batch):
            pass
        return []

    def check(self) -> None:
        from ben_cli.narrate.run import NarrateSummary, check_verdict

        summary = NarrateSummary("narrate", verdicts=getattr(self, "verdicts", set()))
        check_verdict(summary, self.plan.options)


class SinkStep(Step):
    """The last stage: stores each batch; nothing comes out. Its spool, acknowledgements and
    exactly-once delivery are the sink's own (``ben_cli.sink``)."""

    def build(self) -> Any:
        o: SinkOptions = self.plan.options
        return batcher_for(o, self.rejects)  # type: ignore[arg-type]  # the plan opened DurableRejects

    time_check: Callable[[dict], Any] | None = None

    def start(self) -> None:
        self.held.enter_context(collect_per_batch())
        self.core = self.build()
        self.held.enter_context(self.core)
        self.core.load()
        self.time_check = self.checker()

    def summary(self) -> Summary:
        return Summary(self.name, read=self.read, written=self.core.written, rejected=self.rejects.count)

    def feed(self, batch: list[dict]) -> list[dict]:
        """Store a batch of records. Their lines are made in one block and cut apart: a line
        from ``orjson.dumps`` alone keeps the 4 KiB buffer it was written in, and a sink batch
        holds 100,000 of them (400 MB where 50 MB do). When the check of each record's time is
        all the target needs (:meth:`checker`), it is made here and the lines are stored whole."""
        block = dumps_lines(batch)
        if self.time_check is not None:
            self.feed_checked(block, verdicts(batch, self.time_check))
            return []
        self.store(_Lines(block.splitlines(keepends=True), batch))
        return []

    def feed_lines(self, lines: bytes) -> None:
        """Store NDJSON lines another process made (a worker's answer) as the bytes they came in,
        not serialised again. Each is parsed for the sink's checks; when the sink reads only the
        time (a file target), only the time is: parsing the whole line cost more than the rest of
        the sink's work on it."""
        cut = lines.splitlines(keepends=True)
        parse = _time_only if self.core.reads_time_only else orjson.loads
        self.store(_Lines(cut, [parse(line) for line in cut]))

    def checker(self) -> Callable[[dict], Any] | None:
        """What a worker process runs on each record it answers with, so that this step need not
        read the line again (:meth:`feed_checked`): the sink's check of a record's time, when that
        is all a file target checks and rejects are kept; else None."""
        if not self.core.reads_time_only or self.plan.strict:
            return None
        return self.core.delivery.builder.ts_ns

    def feed_checked(self, lines: bytes, bad: list[tuple[int, str]]) -> None:
        """Store NDJSON lines a worker made and checked with :meth:`checker` (``bad``: the index
        and reason of each line that failed): the lines are kept as they came, unread."""
        cut = lines.splitlines(keepends=True)
        self.read += len(cut)
        self.core.feed_checked(cut, bad)

    def store(self, items: _Lines) -> None:
        self.read += len(items.lines)
        for _ in self.core.feed_positioned(items, items):
            pass


def verdicts(records: list[dict], check: Callable[[dict], Any]) -> list[tuple[int, str]]:
    """(index, reason) of each record ``check`` (a sink's :meth:`SinkStep.checker`) rejects."""
    bad: list[tuple[int, str]] = []
    for i, rec in enumerate(records):
        try:
            check(rec)
        except BadRecord as exc:
            bad.append((i, exc.reason))
    return bad


def _time_only(line: bytes) -> dict:
    """The record of an NDJSON line this program wrote, as far as its ``ts`` (``{"ts": ...}``):
    an envelope starts with it. Any other line (a ``ts`` elsewhere or not a string, an escape in
    it) is parsed whole."""
    if line.startswith(b'{"ts":"'):
        end = line.find(b'"', 7)
        ts = line[7:end]
        if end > 0 and b"\\" not in ts:
            return {"ts": ts.decode()}
    return orjson.loads(line)


class _Lines:
    """Records and their lines as the sink's positioned items: (record, line, no input, 0), numbered."""

    file = "-"

    def __init__(self, lines: list[bytes], records: list[dict]):
        self.lines, self.records = lines, records
        self.lineno = 0

    def __iter__(self) -> Iterator[tuple[dict, bytes, Any, int]]:
        for rec, line in zip(self.records, self.lines, strict=True):
            self.lineno += 1
            yield rec, line, NO_INPUT, 0


class RouteStep(Step):
    """Records the filters match go (a copy each) to the branch's stages as well, or only there
    with ``move``. The branch is a flow of its own: its stages are supervised, flushed, saved and
    closed with this one, and its output goes where the pipeline's does."""

    def __init__(self, plan: Planned, rejects: Rejects):
        super().__init__(plan, rejects)
        from ben_cli.count import parse_where

        self.match = parse_where(plan.options.when)
        self.branch: Any = None  # the branch's Flow, made by attach()
        self.pending: list[dict] = []
        self.routed = 0

    def attach(self, make_flow: Callable[[list[Step]], Any]) -> None:
        o: RouteOptions = self.plan.options
        self.branch = make_flow([make_step(p, p.open_rejects()) for p in o.branch])

    def start(self) -> None:
        for step in self.branch.steps:
            self.held.callback(step.rejects.close)
            self.held.callback(step.close)
            step.start()

    def restart(self) -> None:  # the filters hold no state; the branch's stages restart themselves
        self.restarts += 1

    def feed(self, batch: list[dict]) -> list[dict]:
        self.read += len(batch)
        match, o = self.match, self.plan.options
        taken = [rec for rec in batch if match(rec)]
        if taken:
            self.routed += len(taken)
            self.pending += orjson.loads(orjson.dumps(taken))  # copies: a branch may mark its records
            if len(self.pending) >= o.queue:
                self._drain()
        out = [rec for rec in batch if not match(rec)] if o.move and taken else batch
        self.written += len(out)
        return out

    def _drain(self) -> None:
        pending, self.pending = self.pending, []
        self.branch.push(pending)

    def flush(self) -> list[dict]:
        if self.pending:
            self._drain()
        self.branch.end()
        return []

    def save(self) -> None:
        for step in self.branch.steps:
            step.save()

    def finish(self, out: Writer) -> None:
        for step in self.branch.steps:
            step.finish(out)

    def summary(self) -> Summary:
        s = super().summary()
        s.extra["routed"] = self.routed
        return s

    def summaries(self) -> list[Summary]:
        """The branch's stages' counts, named by their place in the branch."""
        out = []
        for step in self.branch.steps:
            each = step.summary()
            each.stage = f"{self.name} -> {each.stage}"
            out.append(each)
        return out

    def check(self) -> None:
        for step in self.branch.steps:
            step.check()


MAKERS: dict[str, Callable[[Planned, Rejects], Step]] = {
    "scrub": ScrubStep, "detect": DetectStep, "count": CountStep, "rate": RateStep,
    "narrate": NarrateStep, "sink": SinkStep, "route": RouteStep,
}


def prepare(plans: Iterable[Planned]) -> list[Planned]:
    """The plans with what every copy of them shares built once, before worker processes are
    forked: each worker then finds it in its (copied) memory instead of building its own. For
    scrub: the policy read and parsed, and the pattern database compiled (together 0.25 to 0.4
    CPU-s per worker)."""
    out = []
    for plan in plans:
        if plan.use == "scrub" and not isinstance(plan.options.policy, Policy):
            plan = replace(plan, options=replace(plan.options, policy=load_policy(plan.options.policy)))
        out.append(plan)
    if any(plan.use == "scrub" for plan in out):
        from ben_cli.scrub.finder import shared_prefilter

        shared_prefilter()
    return out


def make_step(plan: Planned, rejects: Rejects) -> Step:
    maker = MAKERS.get(plan.use)
    if maker is None:
        raise UsageError(f"{plan.where}: {plan.use!r} is not a stage ben run holds ({', '.join(STAGES)}, route)")
    return maker(plan, rejects)

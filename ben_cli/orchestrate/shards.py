"""``ben run --workers N``: the stages between the source and the end in N processes, sharded
by the series key, supervised, with every record's output delivered exactly once.

The main process reads (ingest or NDJSON), hashes each record's series key (the ``--by`` of the
first detect or count stage; without one, batches go round robin) to a worker, and sends each
worker its records in batches: one ``orjson`` array per batch, so the cost of crossing a process
boundary is paid per batch, not per record. A worker runs its copy of the stages (a detector's
state lives on the worker its series hashes to) and sends back the batch's output as NDJSON
lines; the main process writes them to stdout or hands them to the sink, which stays one (a file
or a spool has one writer). Order is kept per series: a series goes to one worker, which answers
its batches in order, and the main process takes each worker's answers in order.

Recovery. Every batch is numbered per worker, and the main process keeps the batches it sent
since the worker's last checkpoint. Every ``CHECKPOINT`` batches a worker saves its stages' state
(to the stage's ``--state`` file, suffixed per worker, or to a private one in a temporary folder)
and says so in its answer; the main process then forgets the batches up to there. When a worker
dies (SIGKILL, a crash), a new one is forked with the same index: it loads the saved state, is
sent the batches since the checkpoint again, computes the answers the main process already has
without sending them, and answers the rest. An answer is one message that arrives whole or not
at all, so each batch's output is taken exactly once and the state is the one an uninterrupted
worker would have had.
"""

from __future__ import annotations

import multiprocessing
import pickle
import queue
import signal
import struct
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from ben_cli.errors import BenError, ExitStatus
from ben_cli.ingest.summary import IngestSummary
from ben_cli.ndjson import Reader, Writer, dumps_lines
from ben_cli.orchestrate.blocks import Input, block_inputs, decode, re_add
from ben_cli.orchestrate.blocks import cut as cut_blocks
from ben_cli.orchestrate.keys import first_keyed, series_hash, shard_filter, shard_key, shardable
from ben_cli.orchestrate.pipeline import (
    Drain,
    Feed,
    Flow,
    RunOptions,
    StageFailed,
    _on_sigterm,
    read_batches,
    summaries_of,
    wire,
)
from ben_cli.orchestrate.steps import Planned, SinkStep, Step, make_step, prepare, verdicts
from ben_cli.rejects import Rejects, Summary

CHECKPOINT = 16  # batches between a worker's state saves
IN_FLIGHT = 4  # batches a worker may hold unanswered before the reader waits for it
DECODING = 2  # blocks a worker may hold undecoded before the main process waits for it
# A batch is b"B", its number and an orjson array of records; a block to decode b"D" and a pickle.
# An answer is b"A", the batch number, the batch number the worker's state is saved through (0:
# none), the size of the verdicts on its lines (pickled, when the worker checks them for the file
# sink) and the batch's output lines; b"P" and a pickle the answer for a block; b"F" and a pickle
# is the end (output of the flush, its verdicts, counts); b"E" and a pickle a ben error (message,
# exit status).
_HEAD = struct.Struct("<QQI")
_BATCH = struct.Struct("<QI")  # batch number, size of its pickled layout (0: every record is in it)  # batch number, saved through, size of the pickled sink verdicts (0: none)
_END = b""


class WorkerError(BenError):
    """A worker met a ben error (a strict reject, a bad state file): the pipeline stops with it."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = ExitStatus(status)


# the worker side --------------------------------------------------------------------------------
@dataclass
class Reading:
    """What a worker needs to decode blocks of the input itself (``blocks.py``): the files, ingest's
    options, how many of the stages run before the shares cross to their workers (the stateless
    ones before the first keyed stage; all of them without a key), and how a record finds its
    worker (the key's getters, the worker count, ``--shard``'s count and index)."""

    inputs: list[Input]
    options: Any
    pre: int
    getters: list[Callable[[dict], Any]] | None
    n: int
    shards: int = 1
    shard: tuple[int, int] | None = None


def _worker(plans: list[Planned], conn_in: Connection, conn_out: Connection, answered: int,
            reading: Reading | None = None, check: Callable[[dict], Any] | None = None, me: int = 0) -> None:
    """Run ``plans`` over the batches arriving on ``conn_in``; answer on ``conn_out``. Batches
    numbered up to ``answered`` were answered by a worker before this one: only learned from."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the main process drains; a worker is told by its input
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        _work(plans, conn_in, conn_out, answered, reading, check, me)
    except BenError as exc:  # the user's to see (a strict reject, a held lock): no restart can help
        conn_out.send_bytes(b"E" + pickle.dumps((str(exc), int(exc.status))))


def _through(steps: list[Step], batch: list[dict]) -> list[dict]:
    for step in steps:
        if not batch:
            break
        batch = step.feed(batch)
    return batch


def _lines(records: list[dict], check: Callable[[dict], Any] | None) -> tuple[bytes, list[tuple[int, str]]]:
    """The records as NDJSON lines, and (with ``check``, the file sink's check of a record) the
    index and reason of each record that fails it: the main process then stores the lines unread."""
    bad = verdicts(records, check) if check is not None else []
    return dumps_lines(records), bad


def _work(plans: list[Planned], conn_in: Connection, conn_out: Connection, answered: int,
          reading: Reading | None, check: Callable[[dict], Any] | None, me: int) -> None:
    with ExitStack() as stack:
        rejects = [stack.enter_context(plan.open_rejects()) for plan in plans]
        steps = [make_step(p, r) for p, r in zip(plans, rejects, strict=True)]
        for step in steps:
            step.remember = False  # the process is the unit of recovery here (checkpoint files)
            stack.callback(step.close)
            step.start()
        # with blocks, a batch (of records another worker decoded) starts at the first keyed stage
        after = steps[reading.pre:] if reading is not None else steps
        since_save = 0
        kept: dict[int, list[dict]] = {}  # block number -> this worker's own share of it, not sent
        while True:
            msg = conn_in.recv_bytes()
            if msg == _END:
                break
            if msg[:1] == b"D":
                assert reading is not None
                conn_out.send_bytes(b"P" + _decoded(reading, steps, pickle.loads(memoryview(msg)[1:]), check, me, kept))
                continue
            seq, size = _BATCH.unpack_from(msg, 1)
            start = 1 + _BATCH.size
            batch = orjson.loads(memoryview(msg)[start + size:])
            if size:  # shares kept here are part of it: put them in their place, in block order
                assert reading is not None
                batch = _laid_out(batch, pickle.loads(memoryview(msg)[start:start + size]), kept, reading, steps, me)
            batch = _through(after, batch)
            since_save += 1
            saved = 0
            if since_save >= CHECKPOINT:
                for step in steps:
                    step.save()
                since_save, saved = 0, seq
            if seq > answered or saved:
                body, bad = _lines(batch, check) if seq > answered else (b"", [])
                verdicts = pickle.dumps(bad) if bad else b""
                conn_out.send_bytes(b"A" + _HEAD.pack(seq, saved, len(verdicts)) + verdicts + body)
        out: list[dict] = []
        for i, step in enumerate(steps):
            rest = step.flush()
            for later in steps[i + 1:]:
                rest = later.feed(rest) if rest else rest
            out += rest
        for step in steps:
            step.save()
        lines, bad = _lines(out, check)
        conn_out.send_bytes(b"F" + pickle.dumps((lines, bad, [s.summary() for s in steps])))


Job = tuple[int, int, int, int, int]  # block number, input, start, end, lines before it


def _decode(reading: Reading, job: Job) -> tuple[list[dict], int, int, int, list]:
    """The records of a block (those ``--shard`` keeps), the lines read, the records decoded,
    those given the time of reading, and the bad lines."""
    _index, k, start, end, lineno = job
    records, read, read_time, bad = decode(reading.inputs[k], reading.options, start, end, lineno)
    decoded = len(records)
    if reading.shard is not None:
        getters, (i, count) = reading.getters, reading.shard
        records = [rec for rec in records if series_hash(rec, getters) % count == i]
    return records, read, decoded, read_time, bad


def _split(reading: Reading, records: list[dict]) -> list[list[dict]]:
    """Records to the shares of the workers their series hash to."""
    getters, n, shards = reading.getters, reading.n, reading.shards
    shares: list[list[dict]] = [[] for _ in range(n)]
    for rec in records:
        shares[series_hash(rec, getters) // shards % n].append(rec)
    return shares


def _decoded(reading: Reading, steps: list[Step], job: Job, check: Callable[[dict], Any] | None, me: int,
             kept: dict[int, list[dict]]) -> bytes:
    """A block decoded (``blocks.decode``): without a series key, through every stage, as output
    lines; with one, each record to the share of the worker its series hashes to, each share
    through the stages before the keyed one, as an ``orjson`` array, except this worker's own,
    kept here until a batch names it. The answer: the job, its counts and bad lines, then the
    output lines or the shares and their sizes."""
    records, read, decoded, read_time, bad = _decode(reading, job)
    if reading.getters is None:
        return pickle.dumps((job, read, decoded, read_time, bad, _lines(_through(steps, records), check), None))
    pre = steps[:reading.pre]
    outs = [_through(pre, share) for share in _split(reading, records)]
    if outs[me]:
        kept[job[0]] = outs[me]
    return pickle.dumps((job, read, decoded, read_time, bad,
                         [orjson.dumps(o) if o and i != me else b"" for i, o in enumerate(outs)], [len(o) for o in outs]))


def _laid_out(received: list[dict], layout: list, kept: dict[int, list[dict]], reading: Reading,
              steps: list[Step], me: int) -> list[dict]:
    """A batch from the records received and the shares this worker kept, in the order of
    ``layout``: a number takes that many received records, a job its kept share (decoded again
    when this process did not decode it: a worker started after a death)."""
    batch: list[dict] = []
    taken = 0
    for item in layout:
        if type(item) is int:
            batch += received[taken:taken + item]
            taken += item
            continue
        share = kept.pop(item[0], None)
        if share is None:
            share = _through(steps[:reading.pre], _split(reading, _decode(reading, item)[0])[me])
        batch += share
    return batch


# the main side ----------------------------------------------------------------------------------
@dataclass
class Worker:
    index: int
    plans: list[Planned]
    proc: Any = None
    conn_in: Connection | None = None  # the main process sends here
    conn_out: Connection | None = None  # and receives here
    sent = 0  # the newest batch number sent
    answered = 0  # the newest batch number whose answer was taken
    log: deque = field(default_factory=deque)  # (number, message) since the last checkpoint
    ended = False
    final: tuple[bytes, list, list[Summary]] | None = None
    restarts = 0
    failures = 0  # restarts in a row without an answer between them
    generation = 0  # which process of this index: answers of one replaced are ignored
    reading: Reading | None = None  # set when the workers decode the input's blocks
    jobs: dict = field(default_factory=dict)  # block number -> its message, until its answer is taken
    check: Callable[[dict], Any] | None = None  # the file sink's check, run by the worker on its answers

    def spawn(self, ctx: Any) -> None:
        recv_in, send_in = ctx.Pipe(duplex=False)
        recv_out, send_out = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=_worker, args=(self.plans, recv_in, send_out, self.answered, self.reading,
                                                          self.check, self.index),
                                name=f"ben run worker {self.index}", daemon=True)
        self.generation += 1
        self.proc.start()
        recv_in.close()
        send_out.close()
        self.conn_in, self.conn_out = send_in, recv_out


class Shards:
    """The workers, the batches in flight, and the answers' way to the end of the pipeline."""

    def __init__(self, plans: list[Planned], n: int, flow: Flow, options: RunOptions, tell: Callable[[str], None],
                 state_dir: Path, source: Planned | None = None, inputs: list[Input] | None = None):
        self.ctx = multiprocessing.get_context("fork")
        self.n, self.flow, self.options, self.tell = n, flow, options, tell
        self.getters = shard_key(plans)
        self.shards = options.shard[1] if options.shard else 1  # --shard i/N took the hash mod N already
        self.least_loaded = options.dispatch == "least-loaded"
        plans = prepare(plans)  # built once here, not once per worker
        self.workers = [Worker(i, [_private_state(p, i, n, state_dir) for p in plans]) for i in range(n)]
        # the file sink, when the workers check its records' times and it stores their lines unread
        end = flow.steps[0] if len(flow.steps) == 1 and isinstance(flow.steps[0], SinkStep) else None
        self.checked = end if end is not None and end.checker() is not None else None
        for w in self.workers:
            w.check = end.checker() if self.checked is not None and end is not None else None
        # blocks (blocks.py): numbered in input order; answers wait in `decoded` for their turn
        self.inputs = inputs
        self.blocks = self.forwarded = 0
        self.decoded: dict[int, tuple] = {}
        self.shares: list[list[tuple]] = [[] for _ in range(n)]  # (array or kept share's job, records)
        self.share_count = [0] * n
        self.ingest: IngestSummary | None = None
        if inputs is not None and source is not None:
            pre = first_keyed(plans) if self.getters is not None else None
            pre = len(plans) if pre is None else pre
            reading = Reading(inputs, source.options, pre, self.getters, n, self.shards, options.shard)
            for w in self.workers:
                w.reading = reading
            self.ingest = IngestSummary()
            self.per_input = [[0, 0, 0] for _ in inputs]  # read, written, rejected
            self.source_rejects: Any = None
        self.pending: list[list[dict]] = [[] for _ in range(n)]
        self.round = 0
        self.answers: queue.Queue = queue.Queue()
        self.lock = threading.Lock()
        for w in self.workers:
            w.spawn(self.ctx)
        self.collector = threading.Thread(target=self._collect, name="ben run collector", daemon=True)
        self.stop = False
        self.collector.start()

    # sending -----------------------------------------------------------------------------------
    def push(self, batch: list[dict]) -> None:
        """A batch read: each record to its worker; a worker's records leave when a batch is full."""
        size = self.options.batch
        if self.getters is None:
            if self.least_loaded:  # the worker with the fewest batches unanswered
                i = min(range(self.n), key=lambda k: self.workers[k].sent - self.workers[k].answered)
            else:
                i, self.round = self.round, (self.round + 1) % self.n
            self.pending[i] += batch
        else:
            getters, n, pending, shards = self.getters, self.n, self.pending, self.shards
            for rec in batch:
                pending[series_hash(rec, getters) // shards % n].append(rec)
        for i, recs in enumerate(self.pending):
            if len(recs) >= size:
                self.send(i)
        self.take(block=False)

    def send(self, i: int) -> None:
        recs, self.pending[i] = self.pending[i], []
        if not recs:
            return
        w = self.workers[i]
        while w.sent - w.answered >= IN_FLIGHT:
            self.take(block=True)
        self._send_body(w, orjson.dumps(recs))

    def _send_body(self, w: Worker, body: bytes, layout: bytes = b"") -> None:
        """A batch (an ``orjson`` array of records, and how shares the worker kept fit among
        them) to worker ``w``, numbered and kept until a checkpoint covers it."""
        w.sent += 1
        msg = b"".join([b"B", _BATCH.pack(w.sent, len(layout)), layout, body])
        w.log.append((w.sent, msg))
        self._deliver(w, msg)

    # blocks: the workers decode -------------------------------------------------------------------
    def read_blocks(self, rejects: Rejects) -> IngestSummary:
        """Hand out every block of the inputs (at most DECODING per worker in flight, to the worker
        with the fewest), and pass their answers on in block order; ingest's summary."""
        assert self.inputs is not None and self.ingest is not None
        self.source_rejects = rejects
        for k, start, end, lineno in cut_blocks(self.inputs):
            if self.flow.draining:
                break
            w = min(self.workers, key=lambda x: len(x.jobs))
            while len(w.jobs) >= DECODING:
                self.take(block=True)
                w = min(self.workers, key=lambda x: len(x.jobs))
            self.blocks += 1
            msg = b"D" + pickle.dumps((self.blocks, k, start, end, lineno))
            w.jobs[self.blocks] = msg
            self._deliver(w, msg)
            self.take(block=False)
        while self.forwarded < self.blocks:
            self.take(block=True)
        summary = self.ingest
        for each, (read, written, rejected) in zip(self.inputs, self.per_input, strict=True):
            summary.add(each.format, read, written, rejected)
        summary.written, summary.rejected = sum(c[1] for c in self.per_input), rejects.count
        return summary

    def _decoded(self, w: Worker, answer: tuple) -> None:
        """A block's answer: kept until every block before it is passed on, then passed on."""
        index = answer[0][0]
        if w.jobs.pop(index, None) is None:
            return  # answered before (by a process replaced since)
        w.failures = 0
        self.decoded[index] = (answer, w.index)
        while self.forwarded + 1 in self.decoded:
            self.forwarded += 1
            self._forward(*self.decoded.pop(self.forwarded))

    def _forward(self, answer: tuple, decoder: int) -> None:
        job, read, decoded, read_time, bad, out, counts = answer
        k = job[1]
        assert self.ingest is not None
        before = self.source_rejects.count
        re_add(bad, self.source_rejects.add)
        tally = self.per_input[k]
        tally[0] += read
        tally[1] += decoded
        tally[2] += self.source_rejects.count - before
        self.ingest.read_time += read_time
        self.flow.source_read += decoded
        if counts is None:  # no series key: the block's output lines, in input order
            self.flow_lines(*out)
            return
        size = self.options.batch
        for i, (share, count) in enumerate(zip(out, counts, strict=True)):
            if not count:
                continue
            self.shares[i].append((job if i == decoder else share, count))  # the decoder kept its own
            self.share_count[i] += count
            if self.share_count[i] >= size:
                self._send_shares(i)

    def _send_shares(self, i: int) -> None:
        """Worker ``i``'s shares gathered so far, as one batch: the arrays joined without parsing,
        and, when some shares are the worker's own, where they go among them."""
        shares, self.shares[i], self.share_count[i] = self.shares[i], [], 0
        if not shares:
            return
        arrays = [share for share, _count in shares if type(share) is bytes]
        body = arrays[0] if len(arrays) == 1 else b"[" + b",".join([a[1:-1] for a in arrays]) + b"]"
        own = len(arrays) < len(shares)
        layout = pickle.dumps([count if type(share) is bytes else share for share, count in shares]) if own else b""
        self._send_body(self.workers[i], body, layout)

    def _deliver(self, w: Worker, msg: bytes) -> None:
        try:
            assert w.conn_in is not None
            w.conn_in.send_bytes(msg)
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass  # it died: the collector has seen its answers end, the restart resends this batch

    def finish(self) -> list[Summary]:
        """The input has ended: send what is pending and the end, take every answer."""
        for i in range(self.n):
            self.send(i)
            self._send_shares(i)
        for w in self.workers:
            self._deliver(w, _END)
            w.ended = True
        while any(w.final is None for w in self.workers):
            self.take(block=True)
        self.stop = True
        summaries: list[Summary] = []
        for w in self.workers:
            assert w.final is not None
            lines, bad, per_stage = w.final
            self.flow_lines(lines, bad)
            if not summaries:
                summaries = per_stage
            else:
                for total, each in zip(summaries, per_stage, strict=True):
                    total.read += each.read
                    total.written += each.written
                    total.rejected += each.rejected
                    for k, v in each.extra.items():
                        total.extra[k] = total.extra.get(k, 0) + v
            w.proc.join()
        return summaries

    # taking answers ------------------------------------------------------------------------------
    def _collect(self) -> None:
        """In a thread: wait on every worker's answers and its process; queue what comes."""
        while not self.stop:
            with self.lock:
                conns = {w.conn_out: (w, w.generation) for w in self.workers if w.conn_out is not None and w.final is None}
            if not conns:
                time.sleep(0.01)
                continue
            for conn in wait(list(conns), timeout=0.1):
                w, generation = conns[conn]  # type: ignore[index]  # wait() gives back what it was given
                try:
                    msg = conn.recv_bytes()  # type: ignore[union-attr]
                except (EOFError, OSError):
                    with self.lock:
                        if w.conn_out is conn:
                            w.conn_out = None  # no more from this process: it died
                    self.answers.put((w, None, generation))
                    continue
                self.answers.put((w, msg, generation))

    def take(self, block: bool) -> None:
        """Take the answers that arrived (with ``block``, wait for at least one)."""
        while True:
            try:
                w, msg, generation = self.answers.get(block=block, timeout=None)
            except queue.Empty:
                return
            block = False
            if generation != w.generation:
                continue  # from a process already replaced
            if msg is None:
                self.restart(w)
                continue
            if msg[:1] == b"P":
                self._decoded(w, pickle.loads(msg[1:]))
                continue
            if msg[:1] == b"F":
                w.final = pickle.loads(msg[1:])
                continue
            if msg[:1] == b"E":
                message, status = pickle.loads(msg[1:])
                raise WorkerError(message, status)
            seq, saved, size = _HEAD.unpack_from(msg, 1)
            if seq <= w.answered:
                continue
            w.answered, w.failures = seq, 0
            if saved:
                while w.log and w.log[0][0] <= saved:
                    w.log.popleft()
            start = 1 + _HEAD.size
            self.flow_lines(msg[start + size:], pickle.loads(msg[start:start + size]) if size else [])

    def flow_lines(self, lines: bytes, bad: list[tuple[int, str]]) -> None:
        """A worker's answer to the end of the pipeline: stdout as it is, or the last stage (a
        file sink takes the lines unread, with the worker's verdicts on them)."""
        if not lines:
            return
        if self.checked is not None:
            self.flow.supervised(self.checked, lambda _b: self.checked.feed_checked(lines, bad) or [], [])  # type: ignore[union-attr]
            return
        self.flow.to_end(lines)

    def restart(self, w: Worker) -> None:
        """Worker ``w`` died: fork another with its index, from its last checkpoint."""
        if w.final is not None:
            return
        w.proc.join()
        w.failures += 1
        w.restarts += 1
        code = w.proc.exitcode
        if w.failures > self.options.max_restarts:
            raise StageFailed(f"worker {w.index} died {w.failures} times in a row (last exit status {code}), stopping")
        pause = min(5.0, self.options.backoff * 2 ** (w.failures - 1))
        self.tell(f"ben run: worker {w.index} ended (exit status {code}); restarting it in {pause:g}s "
                  f"from its checkpoint, {len(w.log)} batches to resend")
        time.sleep(pause)
        if w.conn_in is not None:
            w.conn_in.close()
        with self.lock:
            w.spawn(self.ctx)
        for _seq, msg in list(w.log):
            self._deliver(w, msg)
        for msg in list(w.jobs.values()):  # blocks it had not answered: decoded again
            self._deliver(w, msg)
        if w.ended:
            self._deliver(w, _END)

    def close(self) -> None:
        self.stop = True
        for w in self.workers:
            if w.proc is not None and w.proc.is_alive():
                w.proc.kill()
                w.proc.join()


def _private_state(plan: Planned, index: int, n: int, state_dir: Path) -> Planned:
    """The plan as worker ``index`` runs it: keyed stages get a state file of their own (the
    user's ``--state`` with a suffix, or one in ``state_dir``), saved only when the worker says."""
    if plan.use == "detect":
        if plan.options.state is None:
            plan = replace(plan, options=replace(plan.options, state=state_dir / f"{plan.where.replace(' ', '-')}.detect"),
                           replays=False)
        plan = replace(plan, options=replace(plan.options, checkpoint=0.0))
    elif plan.use == "count" and plan.options.state is None:
        plan = replace(plan, options=replace(plan.options, state=state_dir / f"{plan.where.replace(' ', '-')}.count"))
    return plan.for_shard(index, n)


def run_sharded(plans: Sequence[Planned], options: RunOptions, tell: Callable[[str], None],
                out: BinaryIO | None = None) -> list[Summary]:
    """:func:`ben_cli.orchestrate.pipeline.run` with the middle stages in ``options.workers`` processes."""
    source = plans[0] if plans[0].use == "ingest" else None
    body = list(plans[1:] if source else plans)
    cut = shardable(body)
    body, end = body[:cut], body[cut:]
    with ExitStack() as stack:
        first_rejects = stack.enter_context(plans[0].open_rejects())
        end_steps: list[Step] = []
        for plan in end:
            end_steps.append(make_step(plan, stack.enter_context(plan.open_rejects())))
        writer = stack.enter_context(Writer(out))
        wire(end_steps, writer, options, tell)
        for step in end_steps:
            stack.callback(step.close)
            step.start()
        flow = Flow(end_steps, writer, options, tell)
        state_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ben-run-")))
        inputs = block_inputs(source)
        shards = Shards(body, options.workers, flow, options, tell, state_dir, source, inputs)
        stack.callback(shards.close)
        summaries: list[Summary] = []
        push = shards.push
        if options.shard is not None:
            keep = shard_filter(plans, options.shard)
            push = lambda batch: shards.push(keep(batch))  # noqa: E731 - the workers' push, filtered
        _on_sigterm(flow, stack)
        if options.reload is not None:
            _refuse_reload(tell, stack)
        try:
            if inputs is not None:
                summaries.append(shards.read_blocks(first_rejects))
            elif source is not None:
                from ben_cli.ingest import run as ingest

                feed = Feed(flow, options.batch, push=push)
                summaries.append(ingest(source.inputs, feed, first_rejects, source.options))  # type: ignore[arg-type]
                if feed.batch:
                    feed.send()
            else:
                read_batches(flow, Reader(plans[0].inputs or ["-"], first_rejects.add).records(), options.batch, push)
        except Drain:
            pass
        summaries += shards.finish()
        restarts = sum(w.restarts for w in shards.workers)
        if restarts and summaries:
            summaries[-1].extra["worker restarts"] = restarts
        flow.end()
        for step in end_steps:
            step.finish(writer)
        writer.flush()
        summaries += summaries_of(end_steps)
        for step in end_steps:
            step.check()
    return summaries


def _refuse_reload(tell: Callable[[str], None], stack: ExitStack) -> None:
    """SIGHUP with workers: said and ignored (the workers' stages cannot be swapped in flight)."""

    def refuse(_signum: int, _frame: Any) -> None:
        tell("ben run: SIGHUP: a reload is not done with --workers; the running pipeline goes on")

    try:
        old = signal.signal(signal.SIGHUP, refuse)
    except ValueError:  # not the main thread
        return
    stack.callback(signal.signal, signal.SIGHUP, old)

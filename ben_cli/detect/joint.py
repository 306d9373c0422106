"""``ben detect --joint``: several series that report together, scored as one state.

The channels of one machine (a pump's flow, pressure and temperature; a host's cpu, load and
run queue) move together. A univariate detector watches each alone, so a break of the usual
relation between two channels, each still inside its own usual range, goes unseen. ``--joint``
gathers them: the last ``--by`` field names the channel, the ones before it name the group
(``--by source,name``: each source is a group, each metric name one of its channels).

Records of a group whose timestamps lie within ``--joint-tolerance`` of the row's first one form a
row. A row closes when a record past that window arrives (from any series: the stream is read in
time order) or when one of its channels reports a second time; a channel that did not report in a
row keeps its last value. The row's vector goes to the group's vector detector (``spca``), and
every record of the row passes through with the row's mark, naming the channels that contributed
most when the row is an anomaly. Records leave in the order they came: a record waits at most
until its row closes.

A channel the group has not had before restarts the group's model with one more dimension (so a
group's first rows, as its channels appear, are warm-up). A group with fewer channels than the
detector needs (``k + 1`` for spca) passes through unmarked until more appear.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar

from ben_cli.detect.base import Config, Detector
from ben_cli.detect.options import DetectOptions
from ben_cli.detect.pvalue import squash
from ben_cli.detect.table import CHECK_EVERY, NS_PER_S, TOP_SCORE, Reject, SeriesTable, _label, _number, unhashable_key
from ben_cli.errors import UsageError
from ben_cli.record import TimestampError, parse_rfc3339
from ben_cli.record import path_getter as getter

BLAME_TOP = 3  # channels named in an anomaly's mark, largest share first
BLAME_FLOOR = 0.05  # a channel with a smaller share of the row's surprise is not named


class JointSeries(Detector[Config]):
    """One group's state: its channels in the order they appeared, each one's last value, and the
    vector detector (``model``) over them. Made per run for the run's detector by :func:`joint_of`."""

    inner: ClassVar[type[Detector[Any]]]
    __slots__ = ("channels", "last", "model")

    def __init__(self, cfg: Config):
        super().__init__(cfg)
        self.channels: list[str] = []
        self.last: list[float] = []
        self.model: Detector[Any] = self.inner(cfg)


def joint_of(inner: type[Detector[Any]]) -> type[JointSeries]:
    """The group state class for vector detector ``inner``."""
    return type(f"Joint{inner.__name__}", (JointSeries,), {"inner": inner, "__slots__": ()})


class _Row:
    """The records of one group within the tolerance of ``start`` (ns): channel -> value."""

    __slots__ = ("group", "start", "values", "recs", "done")

    def __init__(self, group: tuple, start: int):
        self.group = group
        self.start = start
        self.values: dict[str, float] = {}
        self.recs: list[tuple[dict, str]] = []
        self.done = False


class JointTable(SeriesTable):
    """The series table of a ``--joint`` run: its keys are groups, its detectors :class:`JointSeries`."""

    def __init__(self, options: DetectOptions, on_reject: Reject | None = None):
        super().__init__(options, on_reject)
        if len(options.by) < 2:
            raise UsageError("--joint: --by needs two or more fields: the last names the channel, the others the group "
                             "(--by source,name)")
        self.cls = joint_of(self.cls)
        self.identity["joint"] = options.joint_tolerance
        self.need = getattr(self.cfg, "k", 0) + 1  # channels a row needs to be scored
        self.tolerance = int(options.joint_tolerance * NS_PER_S)
        self.alarm = self.cfg.alarm_s()
        self.queue: deque[tuple[dict, _Row | None]] = deque()
        self.open: dict[tuple, _Row] = {}
        self.pending: deque[_Row] = deque()  # open rows, oldest first
        self.waiting: dict[tuple, JointSeries] = {}  # groups with too few channels yet (not saved)

    def probe(self) -> Detector[Any]:
        det = self.cls(self.cfg)
        assert isinstance(det, JointSeries)
        det.channels = [f"c{i}" for i in range(self.need + 1)]
        det.last = [0.0] * len(det.channels)
        for i in range(1, 6):
            det.model.score([float(i * (1 + (i + j) % 2) + j) for j in range(len(det.channels))], 60.0 * i)
        return det

    # -- rows -------------------------------------------------------------------------------
    def _close(self, row: _Row) -> None:
        """Score a row and mark its records (once)."""
        if row.done:
            return
        row.done = True
        if self.open.get(row.group) is row:
            del self.open[row.group]
        table = self.table
        det: Any = table.get(row.group) or self.waiting.get(row.group)
        if det is None:
            det = self.cls(self.cfg)
            det.seen = row.start
        for channel in row.values:
            if channel not in det.channels:
                det.channels.append(channel)
                det.last.append(row.values[channel])
                det.model = det.inner(self.cfg)  # one more dimension: the model starts again
        if len(det.channels) < self.need:
            self.waiting[row.group] = det
            return  # too few channels yet to be scored: the records pass through unmarked
        if row.group not in table:
            self.waiting.pop(row.group, None)
            if len(table) >= self.options.max_series:
                self.evict(min(max(1, self.options.max_series // 100), len(table)))
            table[row.group] = det
        det.used = self.ticks
        det.seen = max(det.seen or row.start, row.start)
        last = det.last
        for i, channel in enumerate(det.channels):
            value = row.values.get(channel)
            if value is not None:
                last[i] = value
        blame = getattr(det.model, "blame", None)
        shares = blame(last) if blame is not None else None
        s, _ = det.model.score(list(last), row.start / NS_PER_S)
        score = squash(s, self.alarm)
        hit = score >= self.options.threshold
        mark: dict[str, Any] = {"detector": self.options.detector, "score": round(score, 6) if score < TOP_SCORE else 0.999999,
                                "is_anomaly": hit, "joint": _label(row.group), "channels": len(det.channels)}
        if hit and shares is not None:
            named = sorted(zip(shares, det.channels, strict=True), reverse=True)[:BLAME_TOP]
            head = _label(row.group)
            mark["contributors"] = [{"series": f"{head}/{channel}", "share": round(share, 3)}
                                    for share, channel in named if share >= BLAME_FLOOR]
        for rec, channel in row.recs:
            rec["anomaly"] = {**mark, "series": f"{_label(row.group)}/{channel}"}

    def _ready(self) -> Iterator[dict]:
        queue, only = self.queue, self.options.only_anomalies
        while queue and (queue[0][1] is None or queue[0][1].done):
            rec, row = queue.popleft()
            if only and not (row is not None and rec.get("anomaly", {}).get("is_anomaly")):
                continue
            yield rec

    def flush(self) -> Iterator[dict]:
        """Close every open row and let the records still waiting out."""
        while self.pending:
            self._close(self.pending.popleft())
        return self._ready()

    def feed(self, records: Iterable[dict]) -> Iterator[dict]:
        """Each record, after its row closed, marked with the row's score."""
        options = self.options
        by_getters = [getter(b) for b in options.by]
        field = getter(options.fields[0])
        tolerance = self.tolerance
        queue, open_rows, pending, close = self.queue, self.open, self.pending, self._close
        newest = self.newest or 0
        last_ts: Any = ""
        last_ns: int | None = None
        count = self.ticks
        checkpoint = options.checkpoint if options.state is not None else 0.0
        next_save = time.monotonic() + checkpoint
        for rec in records:
            count += 1
            self.ticks = count
            value = _number(field(rec))
            if value is None:
                queue.append((rec, None))
                yield from self._ready()
                continue
            key = tuple(get(rec) for get in by_getters)
            try:
                hash(key)
            except TypeError:
                self._reject(unhashable_key(options.by, key), rec, count)
                continue
            ts = rec.get("ts")
            if ts != last_ts:
                last_ts, last_ns = ts, _ns(ts)
            ns = last_ns
            if ns is None:
                self._reject("--joint needs each record's time (ts) to line up the channels", rec, count)
                continue
            if ns > newest:
                newest = ns
                self.newest = newest
                while pending and pending[0].start + tolerance < ns:
                    close(pending.popleft())
            group, channel = key[:-1], _label(key[-1:])
            row = open_rows.get(group)
            if row is None or channel in row.values or abs(ns - row.start) > tolerance:
                if row is not None:
                    close(row)
                row = open_rows[group] = _Row(group, ns)
                pending.append(row)
            row.values[channel] = value
            row.recs.append((rec, channel))
            queue.append((rec, row))
            if ns + tolerance < newest:  # a late record: no later one will join its row
                close(row)
            yield from self._ready()
            if checkpoint and count % CHECK_EVERY == 0 and time.monotonic() >= next_save:
                self.save()
                next_save = time.monotonic() + checkpoint
        self.newest = newest or None


def _ns(ts: Any) -> int | None:
    if type(ts) is not str:
        return None
    try:
        return parse_rfc3339(ts)
    except TimestampError:
        return None


def table_for(options: DetectOptions, on_reject: Callable[[str, bytes], None] | None = None) -> SeriesTable:
    """The stage core for ``options``: a :class:`JointTable` with ``--joint``, else a :class:`SeriesTable`."""
    return JointTable(options, on_reject) if options.joint else SeriesTable(options, on_reject)

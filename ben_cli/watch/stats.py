"""What ``ben watch`` knows about the stream: exact counts in bounded memory, no drawing.

The dashboard reads from one :class:`Stats`; the reader thread writes to it. Counting and drawing
are kept apart on purpose: every record is counted (totals, lanes, severities, sources, names,
anomalies, scrub marks), while what is *shown* is sampled (the last records, the last anomalies,
the last points of a series) and taken as a :class:`Snapshot` only when the screen refreshes. A
slow terminal or a resize then costs frames, never counts.

Memory is bounded whatever the length of the stream: rates are rings of per-second buckets,
the key tables stop adding keys at :attr:`Limits.keys` (later keys count under ``(other)``),
the lists of records and anomalies are fixed-length deques, and the narrator (narrate's engine,
for the incidents and the verdict) sees one window at a time with at most
:attr:`Limits.narrated_points` points per series in it.

The narrator is the costly part (about half the time per record when it sees them all), so it
sees at most :attr:`Limits.narrated_per_s` records a second of arrival, and every anomaly
always: above that rate its sentences count a sample, while every count on the panels stays
exact.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ben_cli.errors import BadRecord
from ben_cli.narrate import Narrator, Options, Report
from ben_cli.narrate.collect import NARRATIVE_NAME
from ben_cli.narrate.report import build
from ben_cli.record import LANES, SEVERITIES, TimestampError, to_ns

OTHER = "(other)"
NONE = "(none)"
ERRORS = frozenset({"error", "fatal"})


@dataclass(frozen=True)
class Limits:
    """The bounds that keep memory flat over an endless stream."""

    history_s: int = 300  # seconds of per-second rates kept for the sparklines
    keys: int = 10_000  # distinct sources (and names) counted by name; the rest under (other)
    records: int = 500  # last records kept for the feed and for `enter`
    anomalies: int = 500  # last anomalies kept for the feed
    series: int = 1_000  # series whose last points are kept for the chart
    points: int = 240  # points kept per series for the chart
    points_per_s: int = 4  # of a series' points in one second of arrival, those charted (anomalies always)
    narrated_points: int = 2_000  # numeric points per series per narrated window (anomalies always pass)
    narrated_per_s: int = 20_000  # records a second the narrator sees (anomalies always pass)
    rejects: int = 50  # last rejected lines kept


@dataclass(slots=True)
class KeyCount:
    """One source or name: its records, errors among them, and its recent rate."""

    records: int = 0
    errors: int = 0
    mark: int = 0  # records at the last rate tick
    rate: float = 0.0  # records per second between the last two rate ticks


@dataclass
class Anomaly:
    """One record ``ben detect`` flagged, as the feed shows it."""

    arrived: float  # seconds since the start of the watch
    ts: str
    series: str
    score: float | None
    value: object
    expected: object
    field: str
    source: str
    severity: str
    record: dict


@dataclass
class Window:
    """A narrated window that is over and found something (the incidents panel lists the last few)."""

    start: str
    end: str
    verdict: str
    why: str
    titles: list[str]


@dataclass(slots=True)
class Point:
    """One point of a series for the chart: the value and, where detect gave one, the expected value."""

    value: float
    expected: float | None
    flagged: bool


class Ring:
    """Counts per second over the last ``size`` seconds, for a sparkline."""

    __slots__ = ("counts", "size")

    def __init__(self, size: int):
        self.size = size
        self.counts = [0] * size

    def last(self, now_s: int, n: int) -> list[int]:
        """The ``n`` seconds before the current one, oldest first (the current second is incomplete)."""
        n = min(n, self.size - 1)
        return [self.counts[(now_s - k) % self.size] for k in range(n, 0, -1)]


@dataclass
class Snapshot:
    """Everything one frame draws, copied out of :class:`Stats` under its lock."""

    uptime_s: float
    total: int
    rejected: int
    lanes: dict[str, tuple[int, float, list[int]]]  # name -> (records, records/s now, per-second history)
    severities: dict[str, tuple[int, float, list[int]]]
    overall: tuple[int, float, list[int]]
    sources: list[tuple[str, KeyCount]]
    names: list[tuple[str, KeyCount]]
    anomalies: list[Anomaly]
    anomaly_total: int
    marked: int
    records: list[dict]
    entities: dict[str, int]
    scrubbed: int
    reject_reasons: dict[str, int]
    last_rejects: list[str]
    lag_s: float | None
    newest_ts: str | None
    report: Report
    series: dict[str, list[Point]] = field(default_factory=dict)
    earlier: list[Window] = field(default_factory=list)
    ended: bool = False
    failure: str | None = None
    other_keys: int = 0


class Stats:
    """The counting model. :meth:`feed` is the hot path (called by the reader thread with a batch of
    records); :meth:`snapshot` copies what a frame needs. ``clock`` (seconds, monotonic) and
    ``wall_ns`` (the time now, for the input lag) are injectable so tests are deterministic."""

    def __init__(self, limits: Limits | None = None, *, window_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic, wall_ns: Callable[[], int] = time.time_ns):
        import threading

        self.limits = limits or Limits()
        self.clock, self.wall_ns = clock, wall_ns
        self.started = clock()
        self.lock = threading.Lock()
        h = self.limits.history_s
        self.total = 0
        self.lane_counts: dict[str, int] = dict.fromkeys((*LANES, "other"), 0)
        self.lane_rings: dict[str, Ring] = {k: Ring(h) for k in self.lane_counts}
        self.sev_counts: dict[str, int] = dict.fromkeys((*SEVERITIES, NONE), 0)
        self.sev_rings: dict[str, Ring] = {k: Ring(h) for k in self.sev_counts}
        self.ring = Ring(h)
        self._second = 0  # the second (since start) the rings' current slot belongs to
        self.sources: dict[str, KeyCount] = {}
        self.names: dict[str, KeyCount] = {}
        self.other_keys = 0
        self._rate_at = self.started
        self.records: deque[dict] = deque(maxlen=self.limits.records)
        self.anomalies: deque[Anomaly] = deque(maxlen=self.limits.anomalies)
        self.anomaly_total = 0
        self.marked = 0  # records carrying detect's mark (judged), anomalous or not
        self.series: dict[str, deque[Point]] = {}
        self._drawn: dict[str, tuple[int, int]] = {}  # series -> (second, points seen in it)
        self.entities: dict[str, int] = {}
        self.scrubbed = 0
        self.rejected = 0
        self.reject_reasons: dict[str, int] = {}
        self.last_rejects: deque[str] = deque(maxlen=self.limits.rejects)
        self.newest_ns: int | None = None
        self.newest_ts: str | None = None
        self.ended = False
        self.failure: str | None = None  # why reading stopped early (the status line says it)
        self.narrate_options = Options(every_ns=int(window_s * 1e9))
        self.narrator = Narrator(self.narrate_options)
        self._narrated: dict[str, int] = {}  # series -> points the narrator got in its open window
        self._narrated_window: int | None = None
        self._narrate_left = self.limits.narrated_per_s  # of this second's budget
        self._report: Report | None = None
        self.earlier: deque[Window] = deque(maxlen=5)
        self._report_at = -1e9

    # -- the hot path ----------------------------------------------------------------------------
    def _advance(self) -> int:
        """Move the rings to the current second, zeroing the seconds that passed without records."""
        now = int(self.clock() - self.started)
        last = self._second
        if now != last:
            size = self.limits.history_s
            rings = (self.ring, *self.lane_rings.values(), *self.sev_rings.values())
            for s in range(last + 1, min(now, last + size) + 1):
                slot = s % size
                for ring in rings:
                    ring.counts[slot] = 0
            self._second = now
            self._narrate_left = self.limits.narrated_per_s
        return now % self.limits.history_s

    def feed(self, records: Iterable[dict]) -> int:
        """Count a batch of records (all arrived now); returns how many."""
        with self.lock:
            return self._feed(records)

    def _feed(self, records: Iterable[dict]) -> int:
        slot = self._advance()
        lane_counts, sev_counts = self.lane_counts, self.sev_counts
        sources, names, count_key = self.sources, self.names, self._count_key
        marks = self._marks
        # a batch arrives in one second: lanes and severities are summed here, added to the rings once
        lanes: dict[str, int] = {}
        sevs: dict[str, int] = {}
        keep, n, last = self.records.append, 0, None
        to_narrate: list[dict] = []
        narrate = to_narrate.append
        for rec in records:
            n += 1
            last = rec
            keep(rec)
            lane = rec.get("lane")
            if type(lane) is not str or lane not in lane_counts:
                lane = "other"
            lanes[lane] = lanes.get(lane, 0) + 1
            sev = rec.get("severity")
            if type(sev) is not str or sev not in sev_counts:
                sev = NONE
            sevs[sev] = sevs.get(sev, 0) + 1
            error = sev in ERRORS
            key = rec.get("source")
            entry = sources.get(key) if type(key) is str else None
            if entry is None:
                count_key(sources, key, error)
            else:
                entry.records += 1
                if error:
                    entry.errors += 1
            key = rec.get("name")
            entry = names.get(key) if type(key) is str else None
            if entry is None:
                count_key(names, key, error)
            else:
                entry.records += 1
                if error:
                    entry.errors += 1
            if marks(rec, self._narrate_left > 0):
                narrate(rec)
                self._narrate_left -= 1
        for table, rings, counts in ((lanes, self.lane_rings, lane_counts), (sevs, self.sev_rings, sev_counts)):
            for name, k in table.items():
                counts[name] += k
                rings[name].counts[slot] += k
        self.ring.counts[slot] += n
        self.total += n
        if last is not None:
            self._newest(last.get("ts"))
        self._narrate(to_narrate)
        return n

    def _count_key(self, table: dict[str, KeyCount], key: object, error: bool) -> None:
        if type(key) is not str:
            key = NONE if key is None else str(key)
        entry = table.get(key)
        if entry is None:
            if len(table) >= self.limits.keys:
                self.other_keys += 1
                key = OTHER
                entry = table.get(key)
            if entry is None:
                entry = table[key] = KeyCount()
        entry.records += 1
        if error:
            entry.errors += 1

    def _marks(self, rec: dict, budget: bool) -> bool:
        """Count scrub and detect marks and keep chart points; whether the narrator should see it
        (an anomaly always; another record while ``budget`` lasts and its series' budget too)."""
        redacted = rec.get("redacted")
        if redacted:
            self.scrubbed += 1
            entities = self.entities
            for entity in redacted if isinstance(redacted, list) else [redacted]:
                if isinstance(entity, str):
                    if entity not in entities and len(entities) >= self.limits.keys:
                        entity = OTHER
                    entities[entity] = entities.get(entity, 0) + 1
        mark = rec.get("anomaly")
        value = rec.get("value")
        flagged = False
        if type(mark) is dict:
            self.marked += 1
            flagged = mark.get("is_anomaly") is True
            if "field" in mark:
                value = mark.get("value")
            key = mark.get("series")
            series = key if isinstance(key, str) else f"{rec.get('source')}/{rec.get('name')}"
            expected = mark.get("expected")
            if flagged:
                self.anomaly_total += 1
                score = mark.get("score")
                self.anomalies.append(Anomaly(
                    self.clock() - self.started, str(rec.get("ts", "")), series,
                    float(score) if isinstance(score, (int, float)) and not isinstance(score, bool) else None, value, expected,
                    str(mark.get("field", "value")), str(rec.get("source", "")), str(rec.get("severity", "")), rec))
        elif type(value) in (int, float):
            series, expected = f"{rec.get('source')}/{rec.get('name')}", None
        else:
            return budget  # no point: the narrator only counts it
        if type(value) not in (int, float):
            return budget or flagged
        points = self.series.get(series)
        if points is None and len(self.series) < self.limits.series:
            points = self.series[series] = deque(maxlen=self.limits.points)
        if points is not None:  # drawn, so sampled: a few points a second per series, every anomaly
            second, drawn = self._drawn.get(series, (-1, 0))
            if second != self._second:
                second, drawn = self._second, 0
            if drawn < self.limits.points_per_s or flagged:
                points.append(Point(float(value), float(expected) if type(expected) in (int, float) else None,  # type: ignore[arg-type]
                                    flagged))
            self._drawn[series] = (second, drawn + 1)
        if flagged:
            return True
        if not budget:
            return False
        seen = self._narrated.get(series, 0)
        if seen >= self.limits.narrated_points or (not seen and len(self._narrated) >= self.limits.series):
            return False
        self._narrated[series] = seen + 1
        return True

    def _narrate(self, records: list[dict]) -> None:
        if records:
            for out in self.narrator.feed(records):
                if out.get("name") == NARRATIVE_NAME and out.get("source") == "ben.narrate":
                    self._closed(out)
        if self.narrator.window != self._narrated_window:  # a new window: the budget starts again
            if self._narrated_window is not None:
                self._narrated.clear()
            self._narrated_window = self.narrator.window

    def _closed(self, narrative: dict) -> None:
        """A window the narrator finished: kept (the last few) when it found something."""
        attrs = narrative.get("attrs") or {}
        if attrs.get("verdict") in ("degraded", "incident"):
            titles = [str(attrs[k]) for k in sorted(attrs) if k.startswith("incident.") and k.endswith(".title")]
            self.earlier.append(Window(str(attrs.get("window_start")), str(attrs.get("window_end")),
                                       str(attrs["verdict"]), str(attrs.get("why", "")), titles))

    def _newest(self, ts: object) -> None:
        """The newest record time seen, read once per batch (from its last record) for the lag."""
        if ts is None:
            return
        try:
            ns = to_ns(ts)
        except (TimestampError, ValueError, OverflowError):
            return
        if self.newest_ns is None or ns > self.newest_ns:
            self.newest_ns = ns
            self.newest_ts = ts if isinstance(ts, str) else None

    def reject(self, bad: BadRecord) -> None:
        """A line the reader could not read: counted by reason, the last few kept."""
        with self.lock:
            self.rejected += 1
            kind = bad.reason.split(":", 1)[0]
            self.reject_reasons[kind] = self.reject_reasons.get(kind, 0) + 1
            self.last_rejects.append(str(bad))

    def end(self) -> None:
        """The input has ended (the footer says so)."""
        with self.lock:
            self.ended = True

    # -- what a frame draws ----------------------------------------------------------------------
    def _rates(self, now: float) -> None:
        """Per-key rates since the last tick (at most one tick a second)."""
        elapsed = now - self._rate_at
        if elapsed < 1.0:
            return
        for table in (self.sources, self.names):
            for entry in table.values():
                entry.rate = (entry.records - entry.mark) / elapsed
                entry.mark = entry.records
        self._rate_at = now

    REPORT_EVERY_S = 2.0

    def report(self) -> Report:
        """The narrator's judgement of its open window (NO DATA before any timed record), judged
        again at most every :attr:`REPORT_EVERY_S` seconds while records flow (it is the costly part
        of a frame), and always once the input has ended."""
        now = self.clock()
        if self._report is None or self.ended or now - self._report_at >= self.REPORT_EVERY_S:
            self._report, self._report_at = self._judge(), now
        return self._report

    def _judge(self) -> Report:
        n = self.narrator
        every = self.narrate_options.every_ns or 1
        window = None if n.window is None else (n.window * every, (n.window + 1) * every)
        return build(n.collector, self.narrate_options, own_rejects=self.rejected, window=window, partial=True)

    def snapshot(self, *, top: int = 20, history: int = 120, series: Iterable[str] = ()) -> Snapshot:
        """A copy of what one frame shows: ``top`` keys per table, ``history`` seconds of rates,
        the points of the chosen ``series``."""
        with self.lock:
            now = self.clock()
            self._advance()
            self._rates(now)
            second = self._second
            window = max(1.0, min(10.0, now - self.started))

            def row(count: int, ring: Ring) -> tuple[int, float, list[int]]:
                hist = ring.last(second, history)
                recent = hist[-int(window):] if hist else []
                return count, sum(recent) / window, hist

            def ranked(table: dict[str, KeyCount]) -> list[tuple[str, KeyCount]]:
                best = sorted(table.items(), key=lambda kv: (-kv[1].records, kv[0]))[:top]
                return [(k, KeyCount(v.records, v.errors, v.mark, v.rate)) for k, v in best]

            lag = None if self.newest_ns is None else (self.wall_ns() - self.newest_ns) / 1e9
            return Snapshot(
                uptime_s=now - self.started, total=self.total, rejected=self.rejected,
                lanes={k: row(c, self.lane_rings[k]) for k, c in self.lane_counts.items()},
                severities={k: row(c, self.sev_rings[k]) for k, c in self.sev_counts.items()},
                overall=row(self.total, self.ring),
                sources=ranked(self.sources), names=ranked(self.names),
                anomalies=list(self.anomalies), anomaly_total=self.anomaly_total, marked=self.marked,
                records=list(self.records), entities=dict(sorted(self.entities.items(), key=lambda kv: (-kv[1], kv[0]))),
                scrubbed=self.scrubbed, reject_reasons=dict(self.reject_reasons), last_rejects=list(self.last_rejects),
                lag_s=lag, newest_ts=self.newest_ts, report=self.report(),
                series={k: list(self.series[k]) for k in series if k in self.series},
                earlier=list(self.earlier), ended=self.ended, failure=self.failure, other_keys=self.other_keys,
            )

    def series_names(self) -> list[str]:
        """The charted series, those with anomalies first (then by name)."""
        with self.lock:
            flagged = {a.series for a in self.anomalies}
            return sorted(self.series, key=lambda k: (k not in flagged, k))

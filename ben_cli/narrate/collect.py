"""Reading the stream into what a report needs: numeric series, volume counters, scrub marks.

One pass, one dict lookup or two per record. Numeric points go into compact per-series columns
(``array``: 8 bytes per number instead of a Python float object) because telling a spike from a
level shift, and drawing the sparkline, needs the values around each anomaly, not just the
flagged ones. Everything else (volume, severities, scrub marks) is counted, never stored.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field

from ben_cli.record import NS_PER_S, SEVERITIES, TimestampError, days_from_civil, to_ns

NARRATIVE_NAME = "ben.narrative"
SEVERITY_RANK = {name: i for i, name in enumerate(SEVERITIES)}  # trace 0 ... fatal 5
WARN, ERROR = SEVERITY_RANK["warn"], SEVERITY_RANK["error"]
BUCKET_NS = 60 * NS_PER_S  # volume is counted per minute
NAN = math.nan


@dataclass
class Flag:
    """One point ``ben detect`` marked as anomalous."""

    index: int
    score: float
    severity: int  # rank in SEVERITIES, -1 when the record named none
    detector: str


@dataclass
class Series:
    """The points of one series (``anomaly.series`` when detect named it, else source and name)."""

    key: str
    source: str
    name: str
    unit: str | None
    lane: str
    t: array = field(default_factory=lambda: array("q"))
    v: array = field(default_factory=lambda: array("d"))
    e: array = field(default_factory=lambda: array("d"))  # detect's expected value, NaN when absent
    flags: list[Flag] = field(default_factory=list)
    first: int = 0  # points before this index are context carried over from an earlier window
    watched: int = 0  # points of this window that ben detect judged (carried a mark)

    def __len__(self) -> int:
        return len(self.t)

    def ordered(self) -> Series:
        """The series sorted by time (input is usually in order; late points are put in place)."""
        t = self.t
        if all(t[i] <= t[i + 1] for i in range(len(t) - 1)):
            return self
        order = sorted(range(len(t)), key=lambda i: (t[i], i))
        where = {old: new for new, old in enumerate(order)}
        out = Series(self.key, self.source, self.name, self.unit, self.lane, first=0)
        out.t = array("q", (t[i] for i in order))
        out.v = array("d", (self.v[i] for i in order))
        out.e = array("d", (self.e[i] for i in order))
        out.flags = sorted((Flag(where[f.index], f.score, f.severity, f.detector) for f in self.flags),
                           key=lambda f: f.index)
        out.first = min((where[i] for i in range(self.first, len(t))), default=len(t))
        out.watched = self.watched
        return out


@dataclass
class Volume:
    """Records of one source in one lane, per minute: [records, warnings, errors]."""

    source: str
    lane: str
    buckets: dict[int, list[int]] = field(default_factory=dict)


class Collector:
    """Accumulates records of one report window.

    ``since``/``until`` (ns, half-open) drop records outside the range; ``count`` is what was
    kept. Records without a readable ``ts`` are counted in ``untimed`` and otherwise ignored,
    because a report is about when things happened.
    """

    def __init__(self, since: int | None = None, until: int | None = None):
        self.since, self.until = since, until
        self.series: dict[str, Series] = {}
        self.volume: dict[tuple[str, str], Volume] = {}
        self.errors: dict[str, array] = {}  # source -> times of error and fatal records
        self.entities: dict[str, int] = {}
        self.scrubbed_records = 0
        self.count = 0
        self.untimed = 0
        self.outside = 0
        self.narratives = 0
        self.first_ns: int | None = None
        self.last_ns: int | None = None
        self._minutes: dict[str, int] = {}

    # -- time ---------------------------------------------------------------------------------
    def ns_of(self, ts: object) -> int | None:
        """Nanoseconds of a ``ts``; canonical strings take a cached per-minute fast path."""
        if type(ts) is str and len(ts) >= 20 and ts[-1] == "Z" and ts[16] == ":" and ts[19] in ".Z":
            minute = self._minutes.get(ts[:16])
            if minute is None:
                try:
                    y, mo, d = int(ts[0:4]), int(ts[5:7]), int(ts[8:10])
                    minute = (days_from_civil(y, mo, d) * 1440 + int(ts[11:13]) * 60 + int(ts[14:16])) * 60
                    to_ns(ts[:16] + ":00Z")  # validates the calendar once per minute
                except (ValueError, TimestampError):
                    return self._slow_ns(ts)
                self._minutes[ts[:16]] = minute
            frac = ts[20:-1]
            if not ts[17:19].isdigit() or (frac and not frac.isdigit()) or len(frac) > 9:
                return self._slow_ns(ts)
            return (minute + int(ts[17:19])) * NS_PER_S + (int(frac.ljust(9, "0")) if frac else 0)
        return self._slow_ns(ts)

    @staticmethod
    def _slow_ns(ts: object) -> int | None:
        if ts is None:
            return None
        try:
            ns = to_ns(ts)
        except (TimestampError, ValueError, OverflowError):
            return None
        return ns if -(2**63) <= ns < 2**63 else None  # columns hold int64 nanoseconds: 1677 to 2262

    # -- the hot path -------------------------------------------------------------------------
    def add(self, rec: dict) -> None:
        ns = self.ns_of(rec.get("ts"))
        if ns is None:
            self.untimed += 1
            return
        if (self.since is not None and ns < self.since) or (self.until is not None and ns >= self.until):
            self.outside += 1
            return
        name = rec.get("name")
        if name == NARRATIVE_NAME:  # an earlier narrate's output is not telemetry to narrate again
            self.narratives += 1
            return
        self.count += 1
        if self.first_ns is None or ns < self.first_ns:
            self.first_ns = ns
        if self.last_ns is None or ns > self.last_ns:
            self.last_ns = ns
        source = rec.get("source")
        if type(source) is not str or not source:
            source = "-"
        lane = rec.get("lane")
        if type(lane) is not str:
            lane = "diag"
        vol = self.volume.get((source, lane))
        if vol is None:
            vol = self.volume[(source, lane)] = Volume(source, lane)
        bucket = vol.buckets.get(ns // BUCKET_NS)
        if bucket is None:
            bucket = vol.buckets[ns // BUCKET_NS] = [0, 0, 0]
        bucket[0] += 1
        level = rec.get("severity")
        severity = SEVERITY_RANK.get(level, -1) if type(level) is str else -1  # a list or object ranks nothing
        if severity >= WARN:
            if severity >= ERROR:
                bucket[2] += 1
                times = self.errors.get(source)
                if times is None:
                    times = self.errors[source] = array("q")
                times.append(ns)
            else:
                bucket[1] += 1
        redacted = rec.get("redacted")
        if redacted:
            self._count_redacted(redacted)
        value = rec.get("value")
        mark = rec.get("anomaly")
        if type(mark) is dict and "field" in mark:  # detect watched another field: its mark says which, and the value
            value = mark.get("value")
        kind = type(value)
        if kind is float or kind is int:
            self._add_point(rec, ns, source, name, lane, value, severity)  # type: ignore[arg-type]

    def _count_redacted(self, redacted: object) -> None:
        names = redacted if isinstance(redacted, list) else [redacted]
        self.scrubbed_records += 1
        for entity in names:
            if isinstance(entity, str):
                self.entities[entity] = self.entities.get(entity, 0) + 1

    def _add_point(self, rec: dict, ns: int, source: str, name: object, lane: str, value: float, severity: int) -> None:
        mark = rec.get("anomaly")
        if type(mark) is not dict:
            mark = None
        key = None
        if mark is not None:
            key = mark.get("series")
        if key is None:
            key = f"{source}/{name}"
        elif type(key) is not str:
            key = str(key)
        s = self.series.get(key)
        if s is None:
            unit = rec.get("unit")
            label = str(name) if name is not None else "value"
            field = mark.get("field") if mark is not None else None
            if isinstance(field, str) and field != "value":  # the unit is the envelope value's, not this field's
                leaf = field.rsplit(".", 1)[-1]
                label, unit = (f"{name} {leaf}" if name is not None else leaf), None
            s = self.series[key] = Series(key, source, label, unit if isinstance(unit, str) else None, lane)
        s.t.append(ns)
        s.v.append(value)
        if mark is None:
            s.e.append(NAN)
            return
        s.watched += 1
        expected = mark.get("expected")
        s.e.append(expected if type(expected) is float or type(expected) is int else NAN)
        if mark.get("is_anomaly") is True:
            score = mark.get("score")
            detector = mark.get("detector")
            s.flags.append(Flag(len(s.t) - 1, float(score) if type(score) is float or type(score) is int else 1.0, severity,
                                detector if isinstance(detector, str) else "?"))

    # -- windows ------------------------------------------------------------------------------
    def carry_context(self, previous: Collector, points: int) -> None:
        """Start this window with the last ``points`` of each series of the previous one, as the
        baseline the first anomalies of this window are measured against."""
        for key, old in previous.series.items():
            n = len(old.t)
            lo = max(0, n - points)
            s = Series(key, old.source, old.name, old.unit, old.lane)
            s.t, s.v, s.e = old.t[lo:], old.v[lo:], old.e[lo:]
            s.first = len(s.t)
            self.series[key] = s

"""The guard against label explosions: distinct values of an attrs key, per kind and window.

Memory is bounded by what the contract says: per key, the set of the first ``limit`` values of the
window and a Space-Saving summary (Metwally, Agrawal, El Abbadi 2005) of ``TOP`` counters for the
values past the limit, which keeps the most frequent offenders exactly enough to name them. When a
key's window ends, its overflow is reported once: the limit, how many records went past it and
the top offending values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

TOP = 8  # Space-Saving counters per overflowing key: the values a report names


@dataclass
class SpaceSaving:
    """The heaviest values of a stream in ``size`` counters; a count may be over by at most the
    smallest counter's value when the value was admitted."""

    size: int = TOP
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, value: str) -> None:
        counts = self.counts
        if value in counts:
            counts[value] += 1
        elif len(counts) < self.size:
            counts[value] = 1
        else:
            low = min(counts, key=counts.__getitem__)
            counts[value] = counts.pop(low) + 1

    def top(self, n: int = 5) -> list[tuple[str, int]]:
        return sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


class Limit:
    """One limited key of one kind, and its current window: the first ``limit`` values seen in it,
    and the Space-Saving summary of the values past the limit."""

    __slots__ = ("key", "limit", "line", "every", "window", "seen", "over", "overflowed")

    def __init__(self, key: str, limit: int, line: int, every: float):
        self.key, self.limit, self.line, self.every = key, limit, line, every
        self.window = -(1 << 62)
        self.seen: set[str] = set()
        self.over: SpaceSaving | None = None
        self.overflowed = 0  # records past the limit in this window


_minutes: dict[str, float] = {}


def epoch_of(ts: object) -> float | None:
    """Seconds since the epoch of an RFC 3339 ``ts`` (None when it is not one). The minute is
    parsed once and cached, so a stream pays a slice and a dict look-up per record."""
    if type(ts) is not str or len(ts) < 19:
        return None
    minute = _minutes.get(ts[:16])
    if minute is None:
        try:
            minute = datetime.fromisoformat(ts[:16]).replace(tzinfo=UTC).timestamp()
        except ValueError:
            return None
        if len(_minutes) > 4096:
            _minutes.clear()
        _minutes[ts[:16]] = minute
    seconds = ts[17:19]
    if not seconds.isdigit():
        return None
    offset = 0.0
    tail = ts[19:]
    if tail[-6:-5] in ("+", "-") and tail[-3:-2] == ":":  # not UTC: back to UTC
        sign = 1 if tail[-6] == "+" else -1
        try:
            offset = sign * (int(tail[-5:-3]) * 3600 + int(tail[-2:]) * 60)
        except ValueError:
            return None
    return minute + int(seconds) - offset


class Guard:
    """Counts distinct values of limited keys. ``limits``: per kind index, the (key, limit, contract
    line, window seconds) of its limited attrs. ``report`` receives each overflow once per key and
    window: ``{lane, kind, key, window, limit, over, top}``."""

    def __init__(self, limits: dict[int, list[tuple[str, int, int, float]]], kinds: list[tuple[str, str]],
                 report: Callable[[dict], None]):
        self.kinds = kinds
        self.report = report
        self.limits = {kind: [Limit(*spec) for spec in specs] for kind, specs in limits.items()}
        self.last = 0.0  # the latest record time seen: a record without one counts in its window
        # the minute every window was last brought up to ("YYYY-MM-DDTHH:MM", UTC): records of
        # that minute skip reading their time, when every window is a whole number of minutes
        self.minute = ""
        self.whole_minutes = all(spec.every % 60 == 0 for specs in self.limits.values() for spec in specs)
        self.overflows = 0

    def _time(self, ts: object) -> float:
        """The record's time (the latest seen, when it has none of its own)."""
        t = epoch_of(ts)
        if t is None:
            return self.last
        if t > self.last:
            self.last = t
        return t

    def see(self, kind: int, rec: dict, out: list) -> None:
        """Count ``rec``'s limited values; a value new past the limit appends a ``cardinality``
        violation to ``out``."""
        attrs = rec.get("attrs")
        if type(attrs) is not dict:
            return
        ts = rec.get("ts")
        if type(ts) is str and ts[:16] == self.minute and ts[-1:] == "Z":
            # the fast path: the minute of the last record, so (windows being whole minutes) every
            # window is the one open; most records only find their value among those seen
            for spec in self.limits[kind]:
                value = attrs.get(spec.key)
                if value is not None and (value if type(value) is str else str(value)) not in spec.seen:
                    self._add(kind, spec, value, out)
            return
        t = -1.0
        for spec in self.limits[kind]:
            value = attrs.get(spec.key)
            if value is None:
                continue
            if t < 0:
                t = self._time(ts)
                if self.whole_minutes and type(ts) is str and ts[-1:] == "Z" and epoch_of(ts) is not None:
                    self._roll(t)  # every window up to date: the next records of this minute go fast
            window = int(t // spec.every)
            if window > spec.window:
                self._close(kind, spec)
                spec.window = window
            if (value if type(value) is str else str(value)) not in spec.seen:
                self._add(kind, spec, value, out)

    def _roll(self, t: float) -> None:
        """Bring every key's window up to time ``t`` (reporting those that end), and remember the minute."""
        for kind, specs in self.limits.items():
            for spec in specs:
                window = int(t // spec.every)
                if window > spec.window:
                    self._close(kind, spec)
                    spec.window = window
        minute = datetime.fromtimestamp(t - t % 60, UTC).strftime("%Y-%m-%dT%H:%M")
        self.minute = minute

    def _add(self, kind: int, spec: Limit, value: object, out: list) -> None:
        text = value if type(value) is str else str(value)
        if len(spec.seen) < spec.limit:
            spec.seen.add(text)
            return
        if spec.over is None:
            spec.over = SpaceSaving()
        spec.over.add(text)
        spec.overflowed += 1
        out.append(("cardinality", f"attrs.{spec.key}", value, spec.line))

    def _close(self, kind: int, spec: Limit) -> None:
        """End ``spec``'s window: report its overflow, if any, and start afresh."""
        if spec.over is not None:
            self.overflows += 1
            lane, glob = self.kinds[kind]
            start = datetime.fromtimestamp(spec.window * spec.every, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            self.report({"lane": lane, "kind": glob, "key": spec.key, "window": start, "limit": spec.limit,
                         "over": spec.overflowed, "top": [list(kv) for kv in spec.over.top()]})
        spec.seen.clear()  # in place: the compiled fast path holds the set
        spec.over, spec.overflowed = None, 0

    def seen_sets(self, kind: int) -> tuple[tuple[str, set[str]], ...]:
        """(key, set of the values seen in its open window) of each limited key of ``kind``."""
        return tuple((spec.key, spec.seen) for spec in self.limits[kind])

    def state(self, kind: int, key: str) -> Limit:
        return next(spec for spec in self.limits[kind] if spec.key == key)

    def flush(self) -> None:
        """Report the overflows of the windows still open (the input has ended)."""
        for kind, specs in self.limits.items():
            for spec in specs:
                self._close(kind, spec)

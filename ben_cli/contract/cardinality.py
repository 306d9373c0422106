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


@dataclass
class _Key:
    window: int
    seen: set[str] = field(default_factory=set)
    over: SpaceSaving | None = None
    overflowed: int = 0  # records past the limit in this window


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
    window: ``{kind, key, window, limit, over, top}``."""

    def __init__(self, limits: dict[int, list[tuple[str, int, int, float]]], kinds: list[tuple[str, str]],
                 report: Callable[[dict], None]):
        self.limits = limits
        self.kinds = kinds
        self.report = report
        self.keys: dict[tuple[int, str], _Key] = {}
        self.last = 0.0  # the latest record time seen: a record without one counts in its window
        self.overflows = 0

    def see(self, kind: int, rec: dict, out: list) -> None:
        """Count ``rec``'s limited values; a value new past the limit appends a ``cardinality``
        violation to ``out``."""
        attrs = rec.get("attrs")
        if type(attrs) is not dict:
            return
        t = epoch_of(rec.get("ts"))
        if t is None:
            t = self.last
        elif t > self.last:
            self.last = t
        for key, limit, line, every in self.limits[kind]:
            value = attrs.get(key)
            if value is None:
                continue
            text = value if type(value) is str else str(value)
            window = int(t // every)
            state = self.keys.get((kind, key))
            if state is None:
                state = self.keys[(kind, key)] = _Key(window)
            elif window > state.window:
                self._close(kind, key, state, every)
                state = self.keys[(kind, key)] = _Key(window)
            if text in state.seen:
                continue
            if len(state.seen) < limit:
                state.seen.add(text)
                continue
            if state.over is None:
                state.over = SpaceSaving()
            state.over.add(text)
            state.overflowed += 1
            out.append(("cardinality", f"attrs.{key}", value, line))

    def _close(self, kind: int, key: str, state: _Key, every: float) -> None:
        if state.over is None:
            return
        self.overflows += 1
        lane, glob = self.kinds[kind]
        limit = next(lim for k, lim, _, _ in self.limits[kind] if k == key)
        start = datetime.fromtimestamp(state.window * every, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.report({"lane": lane, "kind": glob, "key": key, "window": start, "limit": limit,
                     "over": state.overflowed, "top": [list(kv) for kv in state.over.top()]})

    def flush(self) -> None:
        """Report the overflows of the windows still open (the input has ended)."""
        for (kind, key), state in self.keys.items():
            every = next(e for k, _, _, e in self.limits[kind] if k == key)
            self._close(kind, key, state, every)
        self.keys.clear()

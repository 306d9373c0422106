"""From flagged points to episodes: when a series left its usual range, how far, and how it ended.

``ben detect`` says *which* points are unusual; it does not say how long the trouble lasted.
Detectors adapt (an EWMA follows a plateau within a few points and then flags the *return* to
normal as a second anomaly) and drift tests alarm late by design. So the flags are used as
triggers, and the extent of an episode is read from the data itself:

1. flags closer than the gap tolerance form a cluster;
2. the baseline is the median of the (up to) ``BASELINE_POINTS`` points before it, with a robust
   spread (1.4826 x MAD);
3. the episode is every point that still sits past half the way to the peak (and at least
   ``BAND_SIGMAS`` spreads out), walking forward and backward from the cluster and bridging
   gaps no longer than the tolerance; the baseline is re-measured once before the refined start;
4. an episode that is still away from its baseline when the data ends, or whose next points have
   not come back, is a sustained change: a
   least-squares fit on the stretch before and after tells a step (one knot, two means) from a
   slow drift (flat, then a straight line), and the knot is its start;
5. an episode is *notable* when the change is at least ``min_change`` of the baseline and
   ``BAND_SIGMAS`` spreads, and lasted at least two points or was extreme (``LONE_SIGMAS`` spreads
   and ``LONE_CHANGE`` of the usual value).
   Everything else is noise: counted in the report, not narrated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import median

from ben_cli.narrate.collect import Series

BASELINE_POINTS = 30
MIN_BASELINE = 5
BAND_SIGMAS = 3.0
LONE_SIGMAS = 6.0
LONE_CHANGE = 0.5  # a single reading is news only if it is also half again (or half) the usual value
WALK_SIGMAS = 2.5
GAP_INTERVALS = 3
DRIFT_ADVANTAGE = 0.8  # a drift must fit with at most 80% of a step's squared error


@dataclass
class Episode:
    """One stretch of one series away from its usual value."""

    series: Series
    kind: str  # spike, dip (went and came back), shift (a step that stayed), drift (a slow slide)
    direction: int  # +1 up, -1 down
    start: int  # index of the first point of the episode
    end: int  # index of the last point of the episode
    interval_ns: int  # the series' usual sampling interval
    gap_ns: int  # the tolerance that closed the episode
    baseline: float
    level: float  # typical value during (spike/dip), new level (shift), last fitted value (drift)
    peak: float  # the most extreme value
    sigma: float
    ongoing: bool  # still away from the baseline when the data ends
    flags: int
    peak_score: float
    severity: int
    detectors: list[str] = field(default_factory=list)
    notable: bool = True

    @property
    def start_ns(self) -> int:
        return self.series.t[self.start]

    @property
    def end_ns(self) -> int:
        """When it was over: one interval after the last point, or the last point if ongoing."""
        last = self.series.t[self.end]
        return last if self.ongoing else last + self.interval_ns

    @property
    def active_end_ns(self) -> int:
        """The end used to group episodes into incidents. A step that stayed (or a slide) is news
        where it began, not for the rest of the day: it groups by its start and one gap."""
        if self.kind in ("shift", "drift"):
            return self.start_ns + self.interval_ns
        return self.end_ns

    @property
    def change(self) -> float:
        return self.level - self.baseline

    @property
    def relative(self) -> float:
        """The change as a fraction of the baseline (infinite from a zero baseline)."""
        if self.baseline == 0:
            return math.inf if self.change else 0.0
        return abs(self.change) / abs(self.baseline)


def sampling_interval(t: Sequence[int]) -> int:
    """The median spacing of a series' points (0 for fewer than two distinct times)."""
    steps = [b - a for a, b in zip(t, t[1:], strict=False) if b > a]
    return int(median(steps)) if steps else 0


def _robust(values: list[float]) -> tuple[float, float]:
    """Median and noise spread. The spread comes from successive differences (1.4826 x their
    MAD / sqrt 2), so a slope or a step inside the window does not pass for noise."""
    m = median(values)
    diffs = [b - a for a, b in zip(values, values[1:], strict=False)]
    if len(diffs) >= 2:
        dm = median(diffs)
        return m, 1.4826 * median(abs(d - dm) for d in diffs) / math.sqrt(2)
    return m, 1.4826 * median(abs(x - m) for x in values)


def _spread_floor(sigma: float, base: float, v: Sequence[float]) -> float:
    """A zero spread (a constant series) would make every wobble infinitely unusual."""
    return max(sigma, 1e-9 * max(1.0, abs(base)), 1e-12)


def _clusters(s: Series, gap: int) -> list[list[int]]:
    out: list[list[int]] = []
    for f in s.flags:
        if out and s.t[f.index] - s.t[out[-1][-1]] <= gap:
            out[-1].append(f.index)
        else:
            out.append([f.index])
    return out


class _Fit:
    """Least-squares fits of a step and of a hinge (flat, then a line) over v[lo:hi], with prefix
    sums so that every knot costs O(1): n points cost O(n), not O(n^2)."""

    def __init__(self, t: Sequence[int], v: Sequence[float], lo: int, hi: int):
        self.lo, self.hi = lo, hi
        t0 = t[lo]
        self.x = [(t[i] - t0) / 1e9 for i in range(lo, hi)]  # seconds, for conditioning
        self.y = list(v[lo:hi])
        n = len(self.y)
        self.cy, self.cyy, self.cx, self.cxx, self.cxy = [0.0], [0.0], [0.0], [0.0], [0.0]
        for i in range(n):
            x, y = self.x[i], self.y[i]
            self.cy.append(self.cy[-1] + y)
            self.cyy.append(self.cyy[-1] + y * y)
            self.cx.append(self.cx[-1] + x)
            self.cxx.append(self.cxx[-1] + x * x)
            self.cxy.append(self.cxy[-1] + x * y)

    def _sse_mean(self, a: int, b: int) -> float:
        n = b - a
        sy = self.cy[b] - self.cy[a]
        return (self.cyy[b] - self.cyy[a]) - sy * sy / n

    def step(self, min_side: int) -> tuple[float, int]:
        """Best single change of mean: (squared error, knot index relative to lo)."""
        n = len(self.y)
        best = (math.inf, 0)
        for k in range(min_side, n - min_side + 1):
            sse = self._sse_mean(0, k) + self._sse_mean(k, n)
            if sse < best[0] - 1e-12 * abs(best[0] if math.isfinite(best[0]) else 0):
                best = (sse, k)
        return best

    def hinge(self, min_side: int) -> tuple[float, int, float, float]:
        """Best flat-then-linear fit: (squared error, knot, level before, slope per second)."""
        n = len(self.y)
        sy, syy = self.cy[n], self.cyy[n]
        best = (math.inf, 0, 0.0, 0.0)
        for k in range(min_side, n - min_side + 1):
            tau = self.x[k]
            m = n - k  # points at or after the knot, where the regressor is x - tau
            sx = (self.cx[n] - self.cx[k]) - m * tau
            sxx = (self.cxx[n] - self.cxx[k]) - 2 * tau * (self.cx[n] - self.cx[k]) + m * tau * tau
            sxy = (self.cxy[n] - self.cxy[k]) - tau * (self.cy[n] - self.cy[k])
            det = n * sxx - sx * sx
            if det <= 0:
                continue
            slope = (n * sxy - sx * sy) / det
            level = (sy - slope * sx) / n
            sse = syy - level * sy - slope * sxy
            if sse < best[0] - 1e-12 * abs(best[0] if math.isfinite(best[0]) else 0):
                best = (sse, k, level, slope)
        return best


def analyse(s: Series, *, gap_ns: int | None = None, min_change: float = 0.2) -> list[Episode]:
    """Every episode of one series whose flags fall in its window (``s.first`` onwards)."""
    if not s.flags:
        return []
    s = s.ordered()
    t = s.t
    interval = sampling_interval(t) or 1
    gap = gap_ns if gap_ns else GAP_INTERVALS * interval
    flags_at = {f.index: f for f in s.flags}
    episodes: list[Episode] = []
    cursor = 0  # first point not used by an earlier episode
    for cluster in _clusters(s, gap):
        if cluster[-1] < s.first:
            continue
        if episodes and t[cluster[0]] <= t[episodes[-1].end] + gap:
            continue  # explained by the previous episode (e.g. an adapted detector flagging the return)
        ep = _episode(s, cluster, cursor, interval, gap, flags_at, min_change)
        if ep is None:
            continue
        episodes.append(ep)
        cursor = ep.end + 1
    return [ep for ep in episodes if ep.end >= s.first]


def _baseline(s: Series, lo: int, hi: int, cursor: int) -> tuple[float, float]:
    """Median and robust spread of the points before ``hi``; a series that starts anomalous is
    measured against detect's expected value, or else its own unflagged points."""
    start = max(cursor, hi - BASELINE_POINTS, lo)
    window = list(s.v[start:hi])
    if len(window) >= MIN_BASELINE:
        m, sigma = _robust(window)
        return m, _spread_floor(sigma, m, window)
    flagged = {f.index for f in s.flags}
    rest = [s.v[i] for i in range(cursor, len(s.v)) if i not in flagged] or list(s.v)
    m, sigma = _robust(rest)
    expected = s.e[hi] if hi < len(s.e) else math.nan
    if not math.isnan(expected):
        m = expected
    return m, _spread_floor(sigma, m, rest)


def _walk(t: Sequence[int], v: Sequence[float], base: float, sign: int, threshold: float, at: int, step: int, limit: int, gap: int) -> tuple[int, bool]:
    """From ``at``, the farthest point (going by ``step``) still past ``threshold``, bridging gaps
    up to ``gap``; and whether the walk ran into ``limit`` (the data's edge) rather than a gap."""
    last = at
    j = at
    while True:
        j += step
        if (step > 0 and j > limit) or (step < 0 and j < limit):
            return last, True
        if abs(t[j] - t[last]) > gap:
            return last, False
        if sign * (v[j] - base) > threshold:
            last = j


def _episode(s: Series, cluster: list[int], cursor: int, interval: int, gap: int, flags_at: dict,
             min_change: float) -> Episode | None:
    t, v, n = s.t, s.v, len(s.t)
    start = cluster[0]
    base, sigma = _baseline(s, cursor, start, cursor)
    for _ in range(2):  # measure, find the true start, measure again before it
        peak_i = max(cluster, key=lambda i: (abs(v[i] - base), -i))
        sign = 1 if v[peak_i] >= base else -1
        threshold = max(WALK_SIGMAS * sigma, 0.5 * abs(v[peak_i] - base))
        first, _ = _walk(t, v, base, sign, threshold, peak_i, -1, cursor, gap)
        if first == start:
            break
        start = first
        base, sigma = _baseline(s, cursor, start, cursor)
    last, ran_out = _walk(t, v, base, sign, threshold, peak_i, +1, n - 1, gap)
    first, _ = _walk(t, v, base, sign, threshold, peak_i, -1, cursor, gap)
    post = list(v[last + 1:last + 1 + BASELINE_POINTS])
    stayed = bool(post) and sign * (median(post) - base) > max(WALK_SIGMAS * sigma, 0.25 * abs(v[peak_i] - base))
    ongoing = ran_out or stayed  # never came back: a step, or a slide the flags caught late
    inside = [i for i in range(first, last + 1) if sign * (v[i] - base) > threshold]
    if not inside:
        inside = [peak_i]
    peak = max((v[i] for i in inside), key=lambda x: sign * x)
    kind = "spike" if sign > 0 else "dip"
    level = median(v[i] for i in inside)
    if ongoing:
        kind, first, base, level, sign = _sustained(s, cursor, first, base, level, sign)
        # the peak of what the change became, on its side of the level: a drift's fitted end can
        # lie past every reading, and a step may turn the other way ("peak 1.59 < level 1.71, up")
        peak = max(v[first:n], key=lambda x: sign * x)
        if sign * (peak - level) < 0:
            peak = level
    own_flags = [flags_at[i] for i in range(first, last + 1) if i in flags_at] or [flags_at[cluster[0]]]
    ep = Episode(
        series=s, kind=kind, direction=sign, start=first, end=n - 1 if ongoing else last, interval_ns=interval,
        gap_ns=gap, baseline=base, level=level, peak=peak, sigma=sigma, ongoing=ongoing, flags=len(own_flags),
        peak_score=max(f.score for f in own_flags), severity=max(f.severity for f in own_flags),
        detectors=sorted({f.detector for f in own_flags}),
    )
    points = len(inside) if not ongoing else n - first
    big = abs(ep.change) >= BAND_SIGMAS * sigma and ep.relative >= min_change
    lone_ok = abs(peak - base) >= LONE_SIGMAS * sigma and abs(peak - base) >= LONE_CHANGE * max(abs(base), 1e-12)
    ep.notable = big and (points >= 2 or lone_ok)
    return ep


def _sustained(s: Series, cursor: int, first: int, base: float, level: float, sign: int
               ) -> tuple[str, int, float, float, int]:
    """A change still in force at the end: a step or a drift, whichever fits the stretch from the
    last quiet point (``cursor``) to the end better; its knot becomes the start."""
    t, v, n = s.t, s.v, len(s.t)
    lo = max(cursor, first - 4 * BASELINE_POINTS)
    if n - lo < 6:
        return "shift", first, base, level, sign
    fit = _Fit(t, v, lo, n)
    side = 2
    step_sse, step_k = fit.step(side)
    hinge_sse, hinge_k, hinge_level, slope = fit.hinge(side)
    if hinge_sse < DRIFT_ADVANTAGE * step_sse and slope != 0:
        knot = lo + hinge_k
        end_level = hinge_level + slope * (fit.x[-1] - fit.x[hinge_k])
        return "drift", knot, hinge_level, end_level, 1 if slope > 0 else -1
    knot = lo + step_k
    before = list(v[max(lo, knot - BASELINE_POINTS):knot]) or [base]
    after = list(v[knot:n])
    new_base, new_level = median(before), median(after)
    return "shift", knot, new_base, new_level, 1 if new_level >= new_base else -1

"""``mad``: distance from the rolling median in units of the rolling MAD (median absolute deviation).

Median and MAD have a 50 % breakdown point: the outliers a series has already shown cannot drag
its baseline, which is the weakness of a mean and a standard deviation. The last ``window``
values are kept in arrival order and in sorted order; the median is read off the sorted list and
the MAD is found without sorting the deviations, as the k-th smallest of two sorted runs (the
deviations below and above the median), in O(log window) steps.

The scale is ``1.4826 * MAD``, the standard deviation for Gaussian data. When more than half the
window is one value the MAD is 0; the scale then comes from the first non-zero deviation quantile
(75th, 87.5th, ...) divided by the Gaussian quantile it corresponds to.
"""

from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass
from statistics import NormalDist

from ben_cli.detect.base import TAIL_WEIGHT_HELP, Config, Detector, param
from ben_cli.detect.ewma import FLAT_BREAK_S
from ben_cli.detect.pvalue import normal_tail_s
from ben_cli.registry import detectors

# (rank fraction q, Gaussian |z| quantile at q) for the fallback scale when the MAD is zero
_FALLBACK = tuple((q, NormalDist().inv_cdf((1.0 + q) / 2.0)) for q in (0.75, 0.875, 0.9375, 0.96875, 0.984375, 1.0 - 1e-9))


def kth_deviation(ordered: list[float], centre: float, k: int) -> float:
    """The k-th smallest (0-based) of ``|x - centre|`` over a sorted list, without sorting them.

    The deviations of values at or below the centre, read from the centre outwards, are
    ascending, and so are those above it: the answer is the k-th element of their merge.
    """
    p = bisect.bisect_right(ordered, centre)
    len_a, len_b = p, len(ordered) - p

    def a(i: int) -> float:  # i-th smallest deviation at or below the centre
        return centre - ordered[p - 1 - i]

    def b(j: int) -> float:  # j-th smallest deviation above it
        return ordered[p + j] - centre

    lo, hi = max(0, k + 1 - len_b), min(k + 1, len_a)
    while lo < hi:  # take i from a and k+1-i from b; find the smallest i that is enough
        i = (lo + hi) // 2
        j = k + 1 - i
        if j > 0 and a(i) < b(j - 1):
            lo = i + 1
        else:
            hi = i
    i, j = lo, k + 1 - lo
    best = a(i - 1) if i > 0 else float("-inf")
    return max(best, b(j - 1)) if j > 0 else best


def median_mad(ordered: list[float]) -> tuple[float, float]:
    """Median and MAD (unscaled) of a sorted, non-empty list."""
    n = len(ordered)
    h = n // 2
    median = ordered[h] if n % 2 else 0.5 * (ordered[h - 1] + ordered[h])
    mad = kth_deviation(ordered, median, h) if n % 2 else 0.5 * (
        kth_deviation(ordered, median, h - 1) + kth_deviation(ordered, median, h))
    return median, mad


@dataclass(frozen=True)
class MadConfig(Config):
    window: int = param(500, "values in the rolling window")
    threshold: float = param(3.5, "alarm when the robust |z| exceeds this (Iglewicz and Hoaglin's 3.5)")
    # A MAD of nearly 0 (most of the window one value) makes raw z unbounded: trust the learned tail.
    tail_weight: float = param(1.0, TAIL_WEIGHT_HELP)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.window < 3:
            raise ValueError("window must be at least 3")

    def alarm_s(self) -> float:
        return normal_tail_s(self.threshold)


@detectors.register("mad")
class Mad(Detector[MadConfig]):
    summary = "robust z against the rolling median and MAD"
    config = MadConfig
    __slots__ = ("recent", "ordered")

    def __init__(self, cfg: MadConfig):
        super().__init__(cfg)
        self.recent: deque[float] = deque(maxlen=cfg.window)
        self.ordered: list[float] = []

    def state(self) -> list:
        state = super().state()
        state[self.state_slots().index("ordered")] = None  # rebuilt from the window on restore
        return state

    @classmethod
    def restore(cls, cfg: MadConfig, state: list) -> Detector[MadConfig]:
        det = super().restore(cfg, state)
        assert isinstance(det, Mad)
        det.ordered = sorted(det.recent)
        return det

    def scale(self, median: float, mad: float) -> float:
        if mad > 0.0:
            return 1.4826 * mad
        ordered = self.ordered
        n = len(ordered)
        for q, z in _FALLBACK:
            dev = kth_deviation(ordered, median, min(n - 1, int(q * n)))
            if dev > 0.0:
                return dev / z
        return 0.0

    def surprise(self, value: float, t: float) -> tuple[float, float | None]:
        ordered = self.ordered
        s = 0.0
        median = None
        if ordered:
            median, mad = median_mad(ordered)
            scale = self.scale(median, mad)
            err = value - median
            if scale > 0.0:
                s = normal_tail_s(err / scale)
            elif err != 0.0:
                s = FLAT_BREAK_S
        recent = self.recent
        if len(recent) == recent.maxlen:
            del ordered[bisect.bisect_left(ordered, recent[0])]
        recent.append(value)
        bisect.insort(ordered, value)
        return s, median

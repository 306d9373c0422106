"""``adwin``: ADWIN's adaptive window (Bifet and Gavalda, 2007), reported as a change point.

The window holds every point since the last change, compressed into an exponential histogram:
rows of buckets of 1, 2, 4 ... points, at most ``buckets`` per row, each keeping its count, sum
and sum of squared deviations, so memory grows with the logarithm of the window. Every ``clock``
points each split of the window into an older and a newer part is tested; when the two means
differ by more than the bound

    eps = sqrt(2 var ln(2/d) / m) + 2 R ln(2/d) / (3 m),  m = 1 / (1/n0 + 1/n1),  d = delta / ln W

(variance-aware, as in the paper; R, the range of the values, is taken as 4 standard deviations
of the window), the older part is dropped: a change point. The surprise is ``-log10`` of the
smallest ``delta`` at which the best split would have been cut.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ben_cli.detect.base import Config, Detector, param
from ben_cli.detect.pvalue import LN10
from ben_cli.registry import detectors

RANGE_SD = 4.0
REL_TOL = 1e-9  # a spread below this fraction of the level is rounding, not variation


@dataclass(frozen=True)
class AdwinConfig(Config):
    delta: float = param(0.002, "confidence: declare a change when the split is this unlikely")
    buckets: int = param(5, "buckets kept per row of the histogram")
    clock: int = param(32, "test the splits every this many points")
    min_split: int = param(5, "fewest points on each side of a split")

    def alarm_s(self) -> float:
        return -math.log10(self.delta)


@detectors.register("adwin")
class Adwin(Detector[AdwinConfig]):
    summary = "ADWIN adaptive window: a change in the mean"
    kind = "change"
    config = AdwinConfig
    # rows[i] holds buckets of 2**i points, oldest first, each [sum, squared deviations]
    __slots__ = ("rows", "width", "total", "sq", "tick", "ref")

    def __init__(self, cfg: AdwinConfig):
        super().__init__(cfg)
        self.rows: list[list[list[float]]] = []
        self.width = 0
        self.total = 0.0
        self.sq = 0.0
        self.tick = 0
        self.ref = 0.0  # the window's values are kept less this (its first value)

    @classmethod
    def restore(cls, cfg: AdwinConfig, state: list) -> Detector[AdwinConfig]:
        """Restore a state, also one saved before ``ref`` existed (its sums are then of the values
        themselves: a reference of 0)."""
        if len(state) == len(cls.state_slots()) - 1:
            state = [*state, 0.0]
        det = super().restore(cfg, state)
        rows = det.rows  # type: ignore[attr-defined]
        if not isinstance(rows, list) or not all(
                isinstance(row, list) and all(isinstance(b, list) and len(b) == 2
                                              and all(type(x) is float or type(x) is int for x in b) for b in row)
                for row in rows):
            raise ValueError("state.rows: adwin's rows are not lists of [sum, squared deviations] buckets")
        return det

    def surprise(self, value: float, t: float) -> tuple[float, float | None]:
        ref = self.ref
        if self.width:
            mean = self.total / self.width
            expected: float | None = ref + mean if mean else ref
        else:
            expected = None
            ref = self.ref = value
        self._insert(value - ref)
        self.tick += 1
        if self.tick % self.cfg.clock:
            return 0.0, expected
        best = 0.0
        while True:
            s, cut = self._best_split()
            best = max(best, s)
            if not cut:
                break
            self._drop_oldest()
        return best, expected

    def _insert(self, value: float) -> None:
        width = self.width
        if width:
            mean = self.total / width
            self.sq += width / (width + 1) * (value - mean) ** 2
        self.width = width + 1
        self.total += value
        if not self.rows:
            self.rows.append([])
        self.rows[0].append([value, 0.0])
        limit = self.cfg.buckets
        for i, row in enumerate(self.rows):
            if len(row) <= limit:
                break
            (s0, q0), (s1, q1) = row[0], row[1]
            n = float(1 << i)
            merged = [s0 + s1, q0 + q1 + n / 2.0 * (s0 / n - s1 / n) ** 2]
            del row[:2]
            if i + 1 == len(self.rows):
                self.rows.append([])
            self.rows[i + 1].append(merged)

    def _drop_oldest(self) -> None:
        i = len(self.rows) - 1
        while not self.rows[i]:
            i -= 1
        s_b, q_b = self.rows[i].pop(0)
        n_b = 1 << i
        width = self.width - n_b
        if width <= 0:
            self.rows, self.width, self.total, self.sq = [], 0, 0.0, 0.0
            return
        while self.rows and not self.rows[-1]:
            self.rows.pop()
        # Recounted from the buckets, not by subtraction: subtracting leaves rounding residue (a
        # window of zeros after a step down from 0.089 kept a mean of 1e-17 and cut again and again).
        total = math.fsum(s for row in self.rows for s, _ in row)
        mean = total / width
        sq = 0.0
        for i, row in enumerate(self.rows):
            n = float(1 << i)
            for s, q in row:
                sq += q + n * (s / n - mean) ** 2
        self.width, self.total, self.sq = width, total, sq

    def _best_split(self) -> tuple[float, bool]:
        """(surprise of the most significant split, whether it passes the bound at ``delta``)."""
        width = self.width
        minimum = self.cfg.min_split
        if width < 2 * minimum or self.sq <= 0.0:
            return 0.0, False
        var = self.sq / width
        tol = REL_TOL * (abs(self.ref) + abs(self.total / width))
        if var <= tol * tol:
            return 0.0, False
        spread = RANGE_SD * math.sqrt(var)
        log_w = math.log(math.log(width)) if width > 2 else 0.0
        cut_l = math.log(2.0 * math.log(width) / self.cfg.delta) if width > 2 else math.inf
        n0, s0 = 0, 0.0
        best_l, cut = 0.0, False
        total = self.total
        for i in range(len(self.rows) - 1, -1, -1):  # oldest buckets first
            size = 1 << i
            for s_b, _ in self.rows[i]:
                n0 += size
                s0 += s_b
                n1 = width - n0
                if n1 < minimum:
                    break
                if n0 < minimum:
                    continue
                diff = abs(s0 / n0 - (total - s0) / n1)
                m = 1.0 / (1.0 / n0 + 1.0 / n1)
                a = math.sqrt(2.0 * var / m)
                b = 2.0 * spread / (3.0 * m)
                root = (-a + math.sqrt(a * a + 4.0 * b * diff)) / (2.0 * b)  # sqrt(L) with eps(L) = diff
                level = root * root
                if level > best_l:
                    best_l = level
                if level > cut_l:
                    cut = True
        s = (best_l - math.log(2.0)) / LN10 - log_w / LN10
        return (s if s > 0.0 else 0.0), cut

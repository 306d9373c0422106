"""``knn``: a k-nearest-neighbour conformal detector (KNN-CAD style): how unlike its past is the latest window.

The point is judged by the window of the last ``window`` values ending at it. Its
*non-conformity* is the sum of its Euclidean distances to its ``k`` nearest neighbours among the
``train`` windows that ended at the points just before (a sliding training set, overlapping
windows of the same series). The non-conformity is then turned into a conformal p-value against
the last ``calibration`` non-conformities of the series: ``p = (1 + #{a_i >= a}) / (1 + n)``,
which is a valid p-value whatever the series' distribution, and the same currency across
detectors and series.

A conformal p-value cannot be smaller than ``1 / (n + 1)``: every point beyond the calibration
set's largest would look alike. Beyond the largest, the tail is extended as an exponential whose
scale makes the largest ``n/2`` times rarer than the median (the calibration set's own spread),
so a point twice as far still scores more. A series that never varied (every non-conformity 0)
and then breaks scores a fixed, large surprise.

KNN-CAD (Burnaev and Ishimtsev, 2016) builds its windows the same way and calibrates with a
conformal p-value; it also learns a lag embedding over a fixed training period sized from the
file's length, which a stream does not know. Here both sets slide.
"""

from __future__ import annotations

import heapq
import math
from array import array
from dataclasses import dataclass

from ben_cli.detect.base import Config, Detector, param
from ben_cli.detect.ewma import FLAT_BREAK_S
from ben_cli.detect.pvalue import LN10
from ben_cli.registry import detectors


@dataclass(frozen=True)
class KnnConfig(Config):
    window: int = param(8, "values in the window a point is judged by")
    train: int = param(100, "past windows the nearest neighbours are sought among")
    k: int = param(3, "neighbours whose distances are summed")
    calibration: int = param(400, "past non-conformities the p-value is counted against")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.window < 1 or self.train < 1 or not 1 <= self.k <= self.train or self.calibration < 3:
            raise ValueError("window and train must be positive, k at most train, calibration at least 3")

    def alarm_s(self) -> float:
        return math.log10(self.calibration + 1.0) + 1.0  # ten times beyond the largest non-conformity seen


@detectors.register("knn")
class Knn(Detector[KnnConfig]):
    summary = "distance of the latest window to its nearest past windows, as a conformal p-value (KNN-CAD)"
    config = KnnConfig
    __slots__ = ("values", "scores")

    def __init__(self, cfg: KnnConfig):
        super().__init__(cfg)
        self.values = array("d")  # the last window + train values, oldest first
        self.scores = array("d")  # the last ``calibration`` non-conformities, oldest first

    def surprise(self, value: float, t: float) -> tuple[float, float | None]:
        cfg = self.cfg
        values = self.values
        values.append(value)
        w = cfg.window
        if len(values) > w + cfg.train:
            del values[0]
        n_train = len(values) - w
        if n_train < cfg.k:
            return 0.0, None
        current = values[n_train:]
        dist = math.dist
        nearest = heapq.nsmallest(cfg.k, [dist(current, values[i:i + w]) for i in range(n_train)])
        a = math.fsum(nearest)
        s = self._conformal(a)
        scores = self.scores
        scores.append(a)
        if len(scores) > cfg.calibration:
            del scores[0]
        return s, None

    def _conformal(self, a: float) -> float:
        """``-log10`` of the conformal p-value of non-conformity ``a``, the tail extended past the largest."""
        scores = self.scores
        n = len(scores)
        if n < 3:
            return 0.0
        at_least = sum(1 for x in scores if x >= a)
        if at_least:
            return -math.log10((1.0 + at_least) / (1.0 + n))
        top = max(scores)
        median = sorted(scores)[n // 2]
        base = math.log10(1.0 + n)
        if top > median:
            scale = (top - median) / math.log(0.5 * n + 1.0)
            return base + (a - top) / (scale * LN10)
        return FLAT_BREAK_S if top == 0.0 else base + FLAT_BREAK_S * min(1.0, (a - top) / abs(top))

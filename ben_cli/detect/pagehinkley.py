"""``pagehinkley``: the Page-Hinkley test for a change of level, reported as a change point.

Each point is standardised against the mean of the current regime (all points since the last
change, a plain average) and a slowly learned spread. Two cumulative sums of ``z - delta`` (up)
and ``-z - delta`` (down) are kept with their running minima; the test statistic is how far a
sum has climbed above its minimum. When it passes ``threshold`` a change is declared, and the
regime (its mean and the sums) starts again from the next point.

Unlike CUSUM, whose reference level is learned continuously, the regime mean here stays put
until a change is declared, so slow drifts accumulate instead of being absorbed. The surprise is
Wald's bound on the statistic, as for CUSUM: ``s = 2 delta PH / ln 10``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ben_cli.detect.base import Config, Detector, derived, param
from ben_cli.detect.pvalue import LN10
from ben_cli.registry import detectors


@dataclass(frozen=True)
class PageHinkleyConfig(Config):
    delta: float = param(0.5, "magnitude of change tolerated, in standard deviations")
    threshold: float = param(10.0, "declare a change when the statistic exceeds this")
    lambda_var: float = param(0.002, "weight of the newest residual in the learned variance")
    to_s: float = derived()

    def __post_init__(self) -> None:
        super().__post_init__()
        self._derive("to_s", 2.0 * self.delta / LN10)

    def alarm_s(self) -> float:
        return self.threshold * self.to_s


@detectors.register("pagehinkley")
class PageHinkley(Detector[PageHinkleyConfig]):
    summary = "Page-Hinkley test for a change of level"
    kind = "change"
    config = PageHinkleyConfig
    __slots__ = ("mean", "n", "var", "seen_var", "up", "up_min", "down", "down_min")

    def __init__(self, cfg: PageHinkleyConfig):
        super().__init__(cfg)
        self.mean = 0.0
        self.n = 0  # points in the current regime
        self.var = 0.0
        self.seen_var = 0  # points the variance has learned from
        self.up = self.up_min = self.down = self.down_min = 0.0

    def surprise(self, value: float, t: float) -> tuple[float, float | None]:
        cfg = self.cfg
        n = self.n
        if n == 0:
            self.mean, self.n = value, 1
            return 0.0, None
        mean = self.mean
        err = value - mean
        var = self.var
        s = 0.0
        if var > 0.0:
            z = err / math.sqrt(var)
            delta = cfg.delta
            self.up = up = self.up + z - delta
            self.down = down = self.down - z - delta
            if up < self.up_min:
                self.up_min = up
            if down < self.down_min:
                self.down_min = down
            stat = max(up - self.up_min, down - self.down_min)
            s = stat * cfg.to_s
            if stat > cfg.threshold:  # a change: the next point starts a new regime
                self.n = 0
                self.up = self.up_min = self.down = self.down_min = 0.0
        if self.n:
            self.n = n + 1
            self.mean = mean + err / (n + 1)
        seen = self.seen_var + 1
        self.seen_var = seen
        rate = cfg.lambda_var if cfg.lambda_var * seen > 1.0 else 1.0 / seen
        self.var = (1.0 - rate) * var + rate * err * err
        return s, mean

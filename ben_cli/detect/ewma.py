"""``ewma``: how far the new point lies from an exponentially weighted mean, in standard deviations.

The mean follows the series with weight ``lambda`` per point (0.1: the last twenty points or so
matter); the variance of the residuals is learned more slowly (``lambda_var``), because a
variance estimated from a handful of points is itself noisy and makes every z heavy-tailed. The
new point's z is scored against the mean and variance *before* it is learned, two-sided. The
textbook alarm is ``|z| > L`` (2.814 with lambda 0.1 gives Lucas and Saccucci's in-control run
length of about 500 points).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ben_cli.detect.base import Config, Detector, param
from ben_cli.detect.baseline import learn
from ben_cli.detect.pvalue import normal_tail_s
from ben_cli.registry import detectors

# Scored surprise for a change when the series has had no variance at all (a flat line moving).
FLAT_BREAK_S = 30.0
# After that break the spread is at least the break over this many standard deviations (its next
# point is then well under the echo of FLAT_BREAK_S: a step is one alarm, not two).
FLAT_BREAK_Z = 10.0


@dataclass(frozen=True)
class EwmaConfig(Config):
    lam: float = param(0.1, "weight of the newest point in the mean", name="lambda")  # a keyword in Python
    lambda_var: float = param(0.002, "weight of the newest residual in the variance")
    L: float = param(2.814, "alarm when |z| exceeds L standard deviations")

    def alarm_s(self) -> float:
        return normal_tail_s(self.L)


@detectors.register("ewma")
class Ewma(Detector[EwmaConfig]):
    summary = "z of each point against an EWMA mean and variance"
    config = EwmaConfig
    __slots__ = ("mean", "var", "n")

    def __init__(self, cfg: EwmaConfig):
        super().__init__(cfg)
        self.mean: float | None = None
        self.var = 0.0
        self.n = 0

    def surprise(self, value: float, t: float) -> tuple[float, float | None]:
        mean = self.mean
        if mean is None:
            self.mean = value
            self.n = 1
            return 0.0, None
        var = self.var
        err = value - mean
        if var > 0.0:
            s = normal_tail_s(err / math.sqrt(var))
        else:
            s = 0.0 if err == 0.0 else FLAT_BREAK_S
        n = self.n + 1
        self.n = n
        cfg = self.cfg
        self.mean, self.var = learn(mean, var, n, value, cfg.lam, cfg.lambda_var)
        if var == 0.0 and err != 0.0:
            self.var = max(self.var, (err / FLAT_BREAK_Z) ** 2)
        return s, mean

"""``cusum``: Page's two-sided tabular CUSUM on the standardised value, reset after each alarm.

Each point is standardised against a slowly learned level and spread (or a known ``mu`` and
``sigma``). Two sums collect evidence of a shift up and down: ``C+ = max(0, C+ + z - k)`` and
``C- = max(0, C- - z - k)``; an alarm is raised when either exceeds ``h`` and both restart at 0.
With k = 0.5 and h = 5 the in-control average run length on Gaussian noise is about 465 points
and a one-sigma shift is found in about 10.

The reported surprise is Wald's bound for a sum of likelihood ratios: for a shift of ``2k`` sigma
the statistic C is a log-likelihood ratio, so ``P(C >= c) <= exp(-2 k c)`` and
``s = 2 k C / ln 10``. An alarm marks a change point (``kind: change``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ben_cli.detect.base import Config, Detector, derived, param
from ben_cli.detect.baseline import learn
from ben_cli.detect.pvalue import LN10
from ben_cli.registry import detectors


def _known(text: str, name: str) -> float | None:
    if text == "learn":
        return None
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{name} must be a number or 'learn', not {text!r}") from None


def tabular_step(up: float, down: float, z: float, k: float, h: float) -> tuple[float, float, float]:
    """One step of the two-sided tabular CUSUM: the new sums and the statistic (the larger sum
    before any reset). Both sums restart at 0 when the statistic exceeds ``h``."""
    up = up + z - k
    down = down - z - k
    up = up if up > 0.0 else 0.0
    down = down if down > 0.0 else 0.0
    stat = up if up > down else down
    if stat > h:
        return 0.0, 0.0, stat
    return up, down, stat


@dataclass(frozen=True)
class CusumConfig(Config):
    k: float = param(0.5, "allowance, in standard deviations (half the shift to detect)")
    h: float = param(5.0, "decision interval: alarm when a sum exceeds h")
    lam: float = param(0.1, "weight of the newest point in the learned level", name="lambda")
    lambda_var: float = param(0.002, "weight of the newest residual in the learned variance")
    mu: str = param("learn", "in-control mean, or 'learn'")
    sigma: str = param("learn", "in-control standard deviation, or 'learn'")
    mu_known: float | None = derived()
    sigma_known: float | None = derived()
    to_s: float = derived()

    def __post_init__(self) -> None:
        super().__post_init__()
        self._derive("mu_known", _known(self.mu, "mu"))
        sigma = _known(self.sigma, "sigma")
        if sigma is not None and sigma <= 0:
            raise ValueError("sigma must be positive")
        self._derive("sigma_known", sigma)
        self._derive("to_s", 2.0 * self.k / LN10)

    def alarm_s(self) -> float:
        return self.h * self.to_s


@detectors.register("cusum")
class Cusum(Detector[CusumConfig]):
    summary = "two-sided tabular CUSUM of the standardised value"
    kind = "change"
    config = CusumConfig
    __slots__ = ("mean", "var", "n", "up", "down")

    def __init__(self, cfg: CusumConfig):
        super().__init__(cfg)
        self.mean: float | None = cfg.mu_known
        self.var = 0.0 if cfg.sigma_known is None else cfg.sigma_known**2
        self.n = 0
        self.up = 0.0
        self.down = 0.0

    def surprise(self, value: float, t: float) -> tuple[float, float | None]:
        cfg = self.cfg
        mean = self.mean
        self.n += 1
        if mean is None:
            self.mean = value
            return 0.0, None
        var = self.var
        s = 0.0
        if var > 0.0:
            self.up, self.down, stat = tabular_step(self.up, self.down, (value - mean) / math.sqrt(var), cfg.k, cfg.h)
            s = stat * cfg.to_s
        if self.n > 1:
            mean2, var2 = learn(mean, var, self.n, value, cfg.lam, cfg.lambda_var)
            if cfg.mu_known is None:
                self.mean = mean2
            if cfg.sigma_known is None:
                self.var = var2
        return s, mean

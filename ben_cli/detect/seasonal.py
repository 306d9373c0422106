"""``seasonal``: a learned daily (or weekly) profile, Holt-Winters style, with a drift test on its residual.

The forecast is ``level + profile[slot]``, the slot being the time of day (``bins`` slots per
``period``). After each point the level moves by ``alpha`` of the deseasonalised error and the
slot's profile value by ``gamma`` of what is left (additive Holt-Winters without trend, learned
online, one point at a time; a slot seen for the first time takes the residual as it is).

The residual is standardised by a slowly learned spread and scored twice: as a point (two-sided
normal tail) and through a tabular CUSUM (k, h as in ``cusum``), which catches a run of small
departures that no single point reveals. The surprise is the larger of the two, less log10(2)
for having looked twice.

A flat line that breaks (no spread learned yet) scores ``FLAT_BREAK_S_SEASONAL``: high enough
that its echo outlasts the next points of a new level, whose residual against a spread learned
from one break is always under |z| of about 20 (s of 89), so a step is one alarm, not two.
Until a slot has been seen once its profile is unknown, taken as 0, and the first point seen in a
slot sets it: a level shift during the first season lands in one slot's profile and is flagged
again at each unseen slot after it (a cold start; once every slot has been seen a step is one
alarm). Forecasting an unseen slot from its neighbour instead either cost NAB 0.8 points or hid
slow drifts in the first day (the profile absorbed the ramp), so it was not done.

``transform=log`` models ``log(1 + |x|)`` (sign kept) instead of ``x``: counts and volumes whose
spread grows with their level (tweets per minute, bytes written) then have one spread, and a
burst that doubles a busy series weighs like one that doubles a quiet one. The expected value is
reported back in the series' own units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ben_cli.detect.base import Config, Detector, derived, param
from ben_cli.detect.cusum import tabular_step
from ben_cli.detect.ewma import FLAT_BREAK_S
from ben_cli.detect.pvalue import LN10, LOG10_2, normal_tail_s
from ben_cli.registry import detectors

FLAT_BREAK_S_SEASONAL = 4 * FLAT_BREAK_S


@dataclass(frozen=True)
class SeasonalConfig(Config):
    period: float = param(86400.0, "length of the season in seconds (604800 for a week)")
    bins: int = param(48, "slots per season (48: half-hours of a day)")
    alpha: float = param(0.1, "weight of the newest point in the level")
    gamma: float = param(0.1, "weight of the newest point in its slot of the profile")
    lambda_var: float = param(0.002, "weight of the newest residual in the variance")
    k: float = param(0.5, "CUSUM allowance on the standardised residual")
    h: float = param(5.0, "CUSUM decision interval")
    L: float = param(3.0, "alarm when the residual's |z| exceeds L")
    unseen: str = param("score", "a slot seen for the first time: scored against the level, or quiet (scores 0)",
                        choices=("score", "quiet"))
    transform: str = param("none", "model the values as they are, or their signed log, log(1 + |x|)", choices=("none", "log"))
    slot_width: float = derived()
    to_s: float = derived()
    log: bool = derived()
    quiet: bool = derived()

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.bins < 1 or self.period <= 0:
            raise ValueError("bins and period must be positive")
        self._derive("slot_width", self.period / self.bins)
        self._derive("to_s", 2.0 * self.k / LN10)
        self._derive("log", self.transform == "log")
        self._derive("quiet", self.unseen == "quiet")

    def alarm_s(self) -> float:
        return normal_tail_s(self.L) - LOG10_2

    def uses_time(self) -> bool:
        return True


@detectors.register("seasonal")
class Seasonal(Detector[SeasonalConfig]):
    summary = "residual of a learned daily profile (Holt-Winters), point and CUSUM drift test"
    config = SeasonalConfig
    __slots__ = ("level", "profile", "var", "n", "up", "down")

    def __init__(self, cfg: SeasonalConfig):
        super().__init__(cfg)
        self.level: float | None = None
        self.profile: list[float | None] = [None] * cfg.bins
        self.var = 0.0
        self.n = 0
        self.up = 0.0
        self.down = 0.0

    def surprise(self, value: float, t: float) -> tuple[float, float | None]:
        cfg = self.cfg
        log = cfg.log
        raw = value
        if log:
            value = math.copysign(math.log1p(abs(value)), value)
        level = self.level
        self.n += 1
        if level is None:
            self.level = value
            return 0.0, None
        slot = int((t % cfg.period) / cfg.slot_width) % cfg.bins
        seasonal = self.profile[slot]
        season = 0.0 if seasonal is None else seasonal
        expected = level + season
        err = value - expected
        var = self.var
        s = 0.0
        if var > 0.0:
            z = err / math.sqrt(var)
            self.up, self.down, stat = tabular_step(self.up, self.down, z, cfg.k, cfg.h)
            s = max(normal_tail_s(z), stat * cfg.to_s) - LOG10_2
            s = s if s > 0.0 else 0.0
        elif err != 0.0:
            s = FLAT_BREAK_S_SEASONAL
        if seasonal is None and cfg.quiet:
            s = 0.0
        n = self.n
        alpha = cfg.alpha if cfg.alpha * n > 1.0 else 1.0 / n
        level = level + alpha * (value - season - level)
        self.level = level
        if seasonal is None:
            self.profile[slot] = value - level
        else:
            self.profile[slot] = seasonal + cfg.gamma * (value - level - seasonal)
        rate = cfg.lambda_var if cfg.lambda_var * n > 1.0 else 1.0 / n
        self.var = (1.0 - rate) * var + rate * err * err
        if log:  # a forecast that is the value itself is reported as given, not through expm1's rounding
            return s, raw if expected == value else math.copysign(math.expm1(abs(expected)), expected)
        return s, expected

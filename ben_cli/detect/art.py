"""``art``: an adaptive-resonance detector in the manner of ARTime: how badly the latest window fits every category learned.

The input is the window of the last ``window`` values, complement-coded as in Fuzzy ART
(Carpenter, Grossberg and Rosen, 1991): with values scaled by the running range, a category is
a box (a lower and an upper bound per position of the window) and the fuzzy AND of a window with
a category is the box stretched to hold the window. Then, for the ``categories`` boxes learned so
far:

* the *match* of box ``j`` is ``1 - size(box_j stretched to hold x) / window``, sizes measured in
  units of the running range (1: the window already lies in the box);
* the *choice* is ``|x AND w_j| / (alpha + |w_j|)``, which prefers small boxes that fit;
* resonance: the best choice whose match reaches the ``vigilance`` learns the window (its box
  stretches towards it by ``beta``); when none does (a *reset* for every category), a new box is
  made of the window alone, the least recently used one giving way when all are taken;
* a category counts as known only once it has learned ``confirm`` windows: a window met once is
  an accident, so a step back to a level seen before (its transition met once) is news again.

The windows after a new category hold the point that made it, so they are masked (score 0) for
``window - 1`` points, as ARTime masks its re-alarms: one novel point, one alarm.

The anomaly is the *mismatch*, before learning: how far, in units of the range, the position of
the window that strays most lies outside the nearest known box (0 for a window a box holds, 1 for
one as far off as the range allows). It is taken per position, not summed like the match, so
the first window of a step (one position off) is already as novel as the last (all off), and
the step is one alarm. Its surprise is taken against the series' own recent
mismatches as an exponential tail (``-log10 exp(-m / mean)``), so a noisy series must mismatch
more to surprise. Boxes are kept in the values' own units, so a wider range rescales them
instead of invalidating them.

ARTime (Hampton, in NAB) learns ART categories over windowed, downsampled features with dual
vigilance, scores anomalies from the similarity of new categories and masks re-alarms after a
detection; it takes each file's range and probation length from NAB in advance. Here the range is
learned as the series goes, unless given with ``-p range=LO:HI``; ``-p probation=N`` makes the
first N points training only (scored 0), as ARTime's probation.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from operator import sub

from ben_cli.detect.base import Config, Detector, param
from ben_cli.detect.pvalue import LN10
from ben_cli.registry import detectors

CHOICE_ALPHA = 0.001  # Fuzzy ART's choice parameter: small, so the fuller of two fitting boxes wins
# Added to the mean mismatch: a series that never mismatched still needs a window 1 % of its range
# off to surprise, and the surprise stays bounded (at most 1 / (0.01 ln 10), about 43).
MISMATCH_FLOOR = 0.01


@dataclass(frozen=True)
class ArtConfig(Config):
    window: int = param(4, "values in the window a category holds")
    categories: int = param(24, "most categories kept (the least recently used gives way)")
    vigilance: float = param(0.9, "least match for a category to learn a window (else a new one)")
    beta: float = param(0.1, "how far a resonating box stretches towards the window (1: all the way)")
    horizon: float = param(200.0, "points the mean mismatch remembers")
    confirm: int = param(2, "windows a category must have learned before a window matching it is not news")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.window < 1 or self.categories < 1 or not 0.0 < self.vigilance < 1.0 or not 0.0 < self.beta <= 1.0:
            raise ValueError("window and categories must be positive, vigilance in (0, 1), beta in (0, 1]")
        if self.horizon < 1.0 or self.confirm < 1:
            raise ValueError("horizon and confirm must be at least 1")

    def alarm_s(self) -> float:
        return 4.0


@detectors.register("art")
class Art(Detector[ArtConfig]):
    summary = "mismatch of the latest window with the learned categories (adaptive resonance, ARTime style)"
    config = ArtConfig
    __slots__ = ("recent", "lo", "hi", "boxes", "last_used", "uses", "mean_mismatch", "steps", "masked")

    def __init__(self, cfg: ArtConfig):
        super().__init__(cfg)
        self.recent = array("d")  # the last ``window`` values, oldest first
        self.lo = 0.0
        self.hi = 0.0
        self.boxes = array("d")  # per category: ``window`` lower bounds, then ``window`` upper bounds
        self.last_used = array("d")  # per category: the step it last learned
        self.uses = array("d")  # per category: how many windows it has learned
        self.mean_mismatch = 0.0
        self.steps = 0
        self.masked = 0  # windows still to come that hold the last point found novel

    def surprise(self, value: float, t: float) -> tuple[float, float | None]:
        cfg = self.cfg
        recent = self.recent
        self.steps += 1
        if self.steps == 1:
            lo, hi = cfg.range_lo, cfg.range_hi
            if lo is None or hi is None:
                self.lo = self.hi = value
            else:  # the range known ahead (NAB's rules): boxes are measured in it from the first window
                self.lo, self.hi = min(lo, value), max(hi, value)
        elif value < self.lo:
            self.lo = value
        elif value > self.hi:
            self.hi = value
        recent.append(value)
        w = cfg.window
        if len(recent) > w:
            del recent[0]
        if len(recent) < w:
            return 0.0, None
        mismatch, novel = self._resonate(recent)
        mean = self.mean_mismatch
        s = mismatch / ((mean + MISMATCH_FLOOR) * LN10)
        if self.masked:  # this window holds a point already judged novel: not new evidence
            self.masked -= 1
            s = 0.0
        elif novel:
            self.masked = w - 1
        rate = 1.0 / cfg.horizon if self.steps > cfg.horizon else 1.0 / self.steps
        self.mean_mismatch = mean + rate * (mismatch - mean)
        return s, None

    def _resonate(self, x: array) -> tuple[float, bool]:
        """The window's mismatch with the best-matching known category and whether it made a new one,
        then learn it (resonance or a new box)."""
        cfg = self.cfg
        w = cfg.window
        boxes = self.boxes
        first_seen = not self.last_used
        span = self.hi - self.lo
        nearest = 1.0  # least reach, in units of the range, outside a known box
        chosen = -1
        chosen_t = -1.0
        uses = self.uses
        confirm = cfg.confirm
        for j in range(len(boxes) // (2 * w)):
            lows = boxes[2 * w * j:2 * w * j + w]
            highs = boxes[2 * w * j + w:2 * w * (j + 1)]
            stretched = sum(map(max, x, highs)) - sum(map(min, x, lows))
            if span > 0.0:
                match = 1.0 - stretched / (w * span)
                size = 1.0 - (sum(highs) - sum(lows)) / (w * span)
            else:
                match = 1.0 if stretched <= 0.0 else 0.0
                size = 1.0
            if uses[j] >= confirm:  # a category met once is an accident, not a habit
                reach = max(max(map(sub, x, highs)), max(map(sub, lows, x)), 0.0)
                reach = reach / span if span > 0.0 else (1.0 if reach > 0.0 else 0.0)
                if reach < nearest:
                    nearest = reach
            if match >= cfg.vigilance:
                choice = match / (CHOICE_ALPHA + size)
                if choice > chosen_t:
                    chosen, chosen_t = j, choice
        if chosen >= 0:
            base = 2 * w * chosen
            beta = cfg.beta
            for i in range(w):
                low, high, v = boxes[base + i], boxes[base + w + i], x[i]
                if v < low:
                    boxes[base + i] = low + beta * (v - low)
                elif v > high:
                    boxes[base + w + i] = high + beta * (v - high)
            self.last_used[chosen] = self.steps
            uses[chosen] += 1.0
        else:
            if len(self.last_used) >= cfg.categories:
                oldest = min(range(len(self.last_used)), key=self.last_used.__getitem__)
                base = 2 * w * oldest
                boxes[base:base + w] = x
                boxes[base + w:base + 2 * w] = x
                self.last_used[oldest] = self.steps
                uses[oldest] = 1.0
            else:
                boxes.extend(x)
                boxes.extend(x)
                self.last_used.append(self.steps)
                uses.append(1.0)
        if first_seen:  # the first window has nothing to mismatch
            return 0.0, False
        return nearest, chosen < 0

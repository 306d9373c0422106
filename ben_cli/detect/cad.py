"""``cad``: a contextual anomaly detector in the manner of CAD OSE: novelty of the current context.

Each value becomes a *fact*, its level among ``levels`` equal slices of the range seen so far
(the running minimum and maximum). A *context* is the sequence of the last ``k`` facts followed
by the new one, for every order ``k`` from 1 to ``order``; the detector counts how often it has met
each context in a fixed-size table of two-bit counters (each context hashed to one of ``2**bits``
counters, so memory never grows: a full table only forgets novelty, it never raises a false one).

A context met fewer than ``confirm`` times is novel: one occurrence is an accident, ``confirm``
of them a habit. So a step back to a level the series held before is news again (its transition
was met only once), and a pattern repeated ``confirm`` times is learned.

A point whose context of order ``k`` is novel is novel at that order; novelty at a low order
(this level never followed that one) implies it at every higher one, so a point is summarised by
its *depth*: how many of its orders are novel, 0 to ``order``. The surprise is ``-log10`` of the
series' own recent rate of points at least that deep (an exponentially weighted rate, memory
``horizon`` points, with a prior of one such point in ``horizon``). A series that keeps meeting new
contexts (noise finer than the slices) therefore earns little surprise from them; one that repeats
itself pays dearly for a new one. The novelty rate jumps after a novel point, so the points that
follow a step, whose contexts are all new, score less than the step did: a step is one alarm.

CAD OSE (Smirnov, in NAB) quantises values and their recent context the same way and scores the
share of the current contexts not predicted by those active before; it normalises values by the
whole file's minimum and maximum, given in advance, which a stream cannot know. Here the range is
learned as the series goes, and a new extreme is novel by construction, unless it is given with
``-p range=LO:HI`` (as NAB's harness gives CAD OSE the file's): then the levels are the given
range's from the first point.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass

from ben_cli.detect.base import Config, Detector, derived, param, track_range
from ben_cli.registry import detectors

_MIX = 0x9E3779B97F4A7C15  # Fibonacci hashing: multiply by 2**64 / golden ratio, keep the top bits
_MASK64 = (1 << 64) - 1


@dataclass(frozen=True)
class CadConfig(Config):
    levels: int = param(5, "slices of the running range a value is quantised into")
    order: int = param(3, "longest context: the facts of this many previous points")
    bits: int = param(14, "log2 of the two-bit counters that remember contexts (14: 4 KiB per series)")
    confirm: int = param(2, "times a context must have been met to be known (1 to 3)")
    horizon: float = param(200.0, "points the novelty rates remember")
    shift: int = derived()
    keep: float = derived()

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 2 <= self.levels <= 64 or not 1 <= self.order <= 16 or not 6 <= self.bits <= 17 or self.horizon < 2:
            raise ValueError("levels must be 2 to 64, order 1 to 16, bits 6 to 17 and horizon at least 2")
        if not 1 <= self.confirm <= 3:
            raise ValueError("confirm must be 1, 2 or 3")
        self._derive("shift", 64 - self.bits)
        self._derive("keep", 1.0 - 1.0 / self.horizon)

    def alarm_s(self) -> float:
        return math.log10(self.horizon)  # a context deeper than anything in the last ``horizon`` points


@detectors.register("cad")
class Cad(Detector[CadConfig]):
    summary = "novelty of each point's context of recent levels (CAD OSE style)"
    config = CadConfig
    __slots__ = ("lo", "hi", "facts", "seen_bits", "rates")

    def __init__(self, cfg: CadConfig):
        super().__init__(cfg)
        self.lo: float | None = None
        self.hi = 0.0
        self.facts: list[int] = []  # the last ``order`` facts, oldest first
        self.seen_bits = bytearray(1 << (cfg.bits - 2))  # four two-bit counters a byte
        # rates[d - 1]: recent rate of points with at least d novel orders; prior: one in ``horizon``
        self.rates = array("d", [1.0 / cfg.horizon] * cfg.order)

    def surprise(self, value: float, t: float) -> tuple[float, float | None]:
        cfg = self.cfg
        self.lo, self.hi = lo, hi = track_range(self.lo, self.hi, value, cfg)
        span = hi - lo
        fact = 0 if span <= 0.0 else min(cfg.levels - 1, int((value - lo) / span * cfg.levels))
        facts = self.facts
        bits = self.seen_bits
        key = fact + 1
        radix = cfg.levels + 1
        scale = radix
        depth = 0
        shift = cfg.shift
        confirm = cfg.confirm
        for prior in reversed(facts):  # orders 1, 2, ...: the context grows backwards in time
            key += (prior + 1) * scale
            scale *= radix
            slot = ((key * _MIX) & _MASK64) >> shift
            byte, at = slot >> 2, (slot & 3) << 1
            met = (bits[byte] >> at) & 3
            if met < confirm:
                depth += 1
            if met < 3:
                bits[byte] += 1 << at
        facts.append(fact)
        if len(facts) > cfg.order:
            del facts[0]
        rates = self.rates
        s = -math.log10(rates[depth - 1]) if depth else 0.0
        keep = cfg.keep
        for d in range(cfg.order):
            rates[d] = keep * rates[d] + (1.0 - keep) * (d < depth)
        return s, None

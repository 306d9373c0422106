"""``cadose``: the contextual anomaly detector of CAD OSE (Smirnov, 2016, in NAB), rebuilt from its description.

Each value is placed in the series' range (given with ``-p range=LO:HI``, else the running minimum
and maximum) and quantised to ``bits`` bits; each bit is a *fact* (bit ``i`` is 0, or bit ``i`` is 1),
so a value is ``bits`` facts out of ``2 * bits``. A *context* pairs a **left semi-context** (a set of
facts of the previous step: its value's bits and the contexts that were active then, fed back as
*neuron* facts) with a **right semi-context** (a set of facts of the current value). The dictionary
of contexts learns online:

* every step makes a *zero-level* context of the whole previous fact group and the whole current
  value, if it is new;
* each known context whose left part was fully present at the previous step is *selected*: it
  predicted its right part, and counts how much of it came true; it is *active* when all of it did;
* when a zero-level context was new, the intersections of old zero-level contexts with what
  happened (left parts of at most ``left`` facts) become candidate contexts: generalisations the
  dictionary did not hold;
* the ``neurons`` most often confirmed active contexts become facts of the next left group, so
  a context can say "after *this situation*, then *that* value";
* the contexts whose left part matches the new group fully, with the best record of coming true,
  predict the next value's facts.

The raw score of a point whose facts were not all predicted is the mean of the share of selected
contexts that failed and the share of candidate contexts that were new; a point that was fully
predicted scores 0. After a raw score at or above ``threshold`` nothing is reported for ``rest``
points (NAB's harness gives CAD OSE a fifth of the probation); the series' first ``rest`` points
are a rest as well.

Memory is bounded, unlike the original: at most ``contexts`` contexts, each a slot whose number
is its neuron fact. A new context past the cap takes the slot of the context least recently
selected; left semi-contexts that name a neuron fact of a reused slot are dropped with their
contexts, so no context is ever matched by a stranger's neuron.

Speed: the step is compiled (``ben_cli/detect/_cadose.c``; ``ben detect -d cadose`` runs about 7
times faster end to end) where the extension is built; :meth:`Cadose._raw_python` stays the
definition, and property tests check that both give the same scores and states. A state the
compiled core cannot hold (a left part naming more than ``neurons`` slots or a slot past
``contexts``, numbers of the wrong type, as only a hand-made state file has) stays with the
definition.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from typing import Any

from ben_cli.detect.base import Config, Detector, derived, param, track_range
from ben_cli.registry import detectors

_cadose: Any
try:
    from ben_cli.detect import _cadose
except ImportError:  # not built (the extension is optional): the definition runs
    _cadose = None

TOP = 0.999999  # the largest score ``ben detect`` prints; a raw 1 is reported as this
HALVE_AT = 1 << 30  # the clock is rebased past it (ranks are 32-bit)
HALVE_COUNTS_AT = 65_528  # a context's counts are halved past it, before they grow (by 4 at most): 16 bits hold them
POPCOUNT = [n.bit_count() for n in range(256)]  # facts in a right part (at most 4 bits, 8 facts: a byte)
FREED = -1  # the rank of a free slot (whose neuron fact may still be named)
_EMPTY_LIST: list = []
_EMPTY_B, _EMPTY_I, _EMPTY_H = array("B"), array("i"), array("H")


@dataclass(frozen=True)
class CadoseConfig(Config):
    bits: int = param(3, "bits a value is quantised to inside its range (2**bits levels), one fact a bit")
    threshold: float = param(0.75, "base threshold: a raw score at or above it starts a rest")
    rest: int = param(0, "points without a report after a high score (0: a fifth of the probation, or 30 without one)")
    left: int = param(7, "most facts in a left semi-context made by crossing contexts")
    neurons: int = param(15, "most active contexts fed back as facts of the next step")
    contexts: int = param(480, "most contexts remembered (slots, 14 B each plus 2 B a neuron named, compiled); past it the least "
                          "recently selected is forgotten")
    lag: int = param(0, "a new context ranks as if last selected this many points ago (forgotten sooner if never selected)")
    margin: float = param(1.0, "a learned range widens past a new extreme by this share of itself (fewer re-quantisations)")
    warmup: int = param(0, "points a series must show before it is scored")
    tail_weight: float = param(0.0, "weight of the series' learned tail against the model's (0: report the raw score)")
    holdoff: float = param(0.0, "points for an alarm's echo to halve (0: off; the rest period does this job)")
    steps: int = derived()
    rest_points: int = derived()
    sensor_mask: int = derived()

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.bits <= 4 or not 1 <= self.left <= 64 or not 0 <= self.neurons <= 64:
            raise ValueError("bits must be 1 to 4, left 1 to 64 and neurons 0 to 64")
        if not self.margin >= 0.0:
            raise ValueError("margin must be 0 or more")
        if not 16 <= self.contexts <= 65_535 or not 0.0 < self.threshold <= 1.0 or self.rest < 0:
            raise ValueError("contexts must be 16 to 65535, threshold in (0, 1] and rest 0 or more")
        self._derive("steps", (1 << self.bits) - 1)
        rest = self.rest or (max(1, self.probation // 5) if self.probation else 30)
        self._derive("rest_points", rest)
        self._derive("sensor_mask", (1 << (2 * self.bits)) - 1)

    def alarm_s(self) -> float:
        # the surprise of a raw score c is c / (1 - c), so a raw score at the base threshold scores 0.5
        return self.threshold / (1.0 - self.threshold) if self.threshold < 1.0 else 1e6


@detectors.register("cadose")
class Cadose(Detector[CadoseConfig]):
    summary = "contexts of quantised values and of active contexts, learned online (CAD OSE)"
    config = CadoseConfig
    __slots__ = ("lo", "hi", "calm", "group", "predicted", "clock", "lefts", "c_left", "c_right", "c_total", "c_hits",
                 "c_act", "c_zero", "c_rank", "crossed", "full", "core")

    def __init__(self, cfg: CadoseConfig):
        super().__init__(cfg)
        self.lo: float | None = None
        self.hi = 0.0
        self.calm = 0  # points since the last raw score at or above the threshold (the start counts as one)
        self.group = 0  # the previous step's facts as a bit set: value facts, then one neuron fact a slot
        self.predicted = 0  # value facts the dictionary predicted for this step
        self.clock = 0
        # contexts, one slot each: left part (a fact bit set; 0 in a free slot), right part, facts
        # predicted, facts that came true, times fully confirmed, whether it was ever a zero-level
        # context, and when it was last selected (the least recent is forgotten first; a FREED slot
        # ranks below any)
        self.c_left: list[int] = []  # the columns grow to ``contexts`` slots, then slots are reused
        self.c_right = array("B")
        self.c_total = array("H")
        self.c_hits = array("H")
        self.c_act = array("H")
        self.c_zero = array("B")
        self.c_rank = array("i")
        self.lefts: list = []  # the distinct left parts as saved (filled by state() only)
        self.crossed = array("H")  # slots whose left part the group meets (derived from the group)
        self.full = array("H")  # the slots among them whose left part the group holds in full
        # the compiled step holding this series' state (the slots above are then stale until
        # settle() copies it back), None before the first point, False to run the definition
        self.core: Any = None

    # -- state: bit sets travel as lists of bit numbers, each left part once ------------------
    @classmethod
    def state_slots(cls) -> tuple[str, ...]:
        return tuple(s for s in super().state_slots() if s not in ("crossed", "full", "core"))

    def use_definition(self) -> None:
        """Run this series through the Python definition from now on (the tests compare the two)."""
        self.settle()
        self.core = False

    def settle(self) -> None:
        """Copy the compiled core's state into the slots, where state() and the state checks read it."""
        core = self.core
        if not core:
            return
        lo, self.hi, group, self.predicted, self.clock, lefts, right, total, hits, act, zero, rank = core.dump()
        self.lo = lo
        shift = 2 * self.cfg.bits
        made: dict[tuple, int] = {}
        for left in lefts:
            if left not in made:
                sens, slots = left
                made[left] = sens | sum(1 << (shift + slot) for slot in slots)
        self.group = made.get(group) or group[0] | sum(1 << (shift + slot) for slot in group[1])
        self.c_left = [made[left] for left in lefts]
        self.c_right, self.c_zero = array("B", right), array("B", zero)
        self.c_total, self.c_hits, self.c_act = _column("H", total), _column("H", hits), _column("H", act)
        self.c_rank = _column("i", rank)
        self.crossed = array("H", [slot for slot, left in enumerate(self.c_left) if left & self.group])
        self.full = array("H", [slot for slot in self.crossed if not self.c_left[slot] & ~self.group])

    def _compile(self) -> Any:
        """A compiled core holding this series' state, or False where there is none (not built, or a
        state it cannot hold)."""
        if _cadose is None:
            return False
        cfg = self.cfg
        lo, hi, clock = self.lo, self.hi, self.clock
        if (lo is not None and type(lo) is not float) or type(hi) is not float or type(clock) is not int:
            return False
        if not (-(1 << 62) < clock < 1 << 62 and type(self.predicted) is int and 0 <= self.predicted < 256):
            return False
        shift, mask = 2 * cfg.bits, cfg.sensor_mask
        made: dict[int, tuple] = {}

        def split(left: int) -> tuple | None:
            slots = tuple(_bits(left >> shift))
            if len(slots) > cfg.neurons or (slots and slots[-1] >= cfg.contexts):
                return None
            return (left & mask, slots)

        lefts = []
        for left in self.c_left:
            got = made.get(left)
            if got is None:
                got = made[left] = split(left)  # type: ignore[assignment]
                if got is None:
                    return False
            lefts.append(got)
        group = split(self.group)
        if group is None:
            return False
        core = _cadose.Core(cfg.bits, cfg.neurons, cfg.left, cfg.contexts, cfg.lag, cfg.margin, cfg.range_lo, cfg.range_hi)
        try:
            core.load(lo, hi, group, self.predicted, clock, lefts, self.c_right, self.c_total, self.c_hits, self.c_act,
                      self.c_zero, self.c_rank)
        except (ValueError, TypeError, OverflowError):  # columns of another shape than the definition makes
            return False
        self._release()
        return core

    def _release(self) -> None:
        """The core holds the dictionary: the slots' copy is let go (until settle() makes another). The
        empty columns are shared by every compiled series, never written: settle() and the
        definition's restore make their own."""
        self.c_left, self.lefts = _EMPTY_LIST, _EMPTY_LIST
        self.c_right = self.c_zero = _EMPTY_B
        self.c_total = self.c_hits = self.c_act = _EMPTY_H
        self.c_rank = _EMPTY_I
        self.crossed = self.full = _EMPTY_H

    def state(self) -> list:
        self.settle()
        try:
            return self._state()
        finally:
            if self.core:
                self._release()

    def _state(self) -> list:
        distinct: dict[int, int] = {0: -1}
        for left in self.c_left:
            distinct.setdefault(left, len(distinct) - 1)
        names = self.state_slots()
        out = super().state()
        out[names.index("group")] = _bits(self.group)
        out[names.index("lefts")] = [_bits(left) for left in distinct if left]
        out[names.index("c_left")] = [distinct[left] for left in self.c_left]
        return out

    @classmethod
    def restore(cls, cfg: CadoseConfig, state: list) -> Detector[CadoseConfig]:
        names = cls.state_slots()
        state = list(state)
        group = _mask(state[names.index("group")])
        lefts = state[names.index("lefts")]
        at = state[names.index("c_left")]
        if type(lefts) is not list or type(at) is not list or len(at) > cfg.contexts:
            raise ValueError(f"left parts must be a list and at most {cfg.contexts} slots")
        masks = [_mask(bits) for bits in lefts]
        if not all(type(i) is int and -1 <= i < len(masks) for i in at):
            raise ValueError("a slot names no left part")
        state[names.index("group")] = 0
        state[names.index("lefts")] = []
        state[names.index("c_left")] = []
        det = super().restore(cfg, state)
        assert isinstance(det, Cadose)
        if any(len(column) != len(at) for column in (det.c_right, det.c_total, det.c_hits, det.c_act, det.c_zero,
                                                           det.c_rank)):
            raise ValueError(f"a column does not hold {len(at)} slots")
        det.c_left = [masks[i] if i >= 0 else 0 for i in at]
        det.group = group
        det.crossed = array("H", [slot for slot, left in enumerate(det.c_left) if left & group])
        det.full = array("H", [slot for slot in det.crossed if not det.c_left[slot] & ~group])
        return det

    # -- the dictionary ----------------------------------------------------------------------
    def _find(self, left: int, right: int) -> int:
        """The slot of context ``(left, right)``, or -1."""
        c_left, c_right = self.c_left, self.c_right
        at = -1
        try:
            while True:
                at = c_left.index(left, at + 1)
                if c_right[at] == right:
                    return at
        except ValueError:
            return -1

    def _add(self, left: int, right: int, zero: int) -> int:
        """A new context's slot (the dictionary holds no ``(left, right)`` yet): a free one, else
        the one ranked lowest is forgotten."""
        rank = self.c_rank
        c_left = self.c_left
        if len(rank) < self.cfg.contexts:
            slot = len(rank)
            for column in (self.c_right, self.c_total, self.c_hits, self.c_act, self.c_zero, rank):
                column.append(0)
            c_left.append(0)
        else:
            slot = rank.index(min(rank))
            if rank[slot] != FREED:
                c_left[slot] = 0
            self._purge(slot)
        try:  # share one int among the contexts of one left part
            left = c_left[c_left.index(left)]
        except ValueError:
            pass
        c_left[slot] = left
        self.c_right[slot] = right
        self.c_total[slot] = self.c_hits[slot] = self.c_act[slot] = 0
        self.c_zero[slot] = zero
        rank[slot] = max(0, self.clock - self.cfg.lag)
        return slot

    def _purge(self, slot: int) -> None:
        """Before ``slot`` is reused: forget every context whose left part names its old neuron fact."""
        bit = 1 << (2 * self.cfg.bits + slot)
        c_left, rank = self.c_left, self.c_rank
        for other, left in enumerate(c_left):
            if left & bit:
                c_left[other] = 0
                rank[other] = FREED
        self.group &= ~bit

    def _rebase(self) -> None:
        rank = self.c_rank
        base = min((r for r in rank if r >= 0), default=self.clock)
        for slot, r in enumerate(rank):
            if r >= 0:
                rank[slot] = r - base
        self.clock -= base

    # -- one step ----------------------------------------------------------------------------
    def _facts(self, value: float) -> int:
        cfg = self.cfg
        self.lo, self.hi = lo, hi = track_range(self.lo, self.hi, value, cfg, cfg.margin)
        span = hi - lo
        where = (value - lo) / span * cfg.steps if span > 0.0 else 0.0
        level = min(cfg.steps, int(where)) if where == where else 0  # NaN: a range of infinite width
        facts = 0
        for i in range(cfg.bits):
            facts |= 1 << (2 * i + ((level >> i) & 1))
        return facts

    def raw(self, value: float) -> float:
        """The raw CAD score of ``value`` in [0, 1], after which the dictionary has learned it."""
        core = self.core
        if core is None:
            core = self.core = self._compile()
        return core.raw(value) if core else self._raw_python(value)

    def _raw_python(self, value: float) -> float:
        """The definition of :meth:`raw` (the compiled core gives the same floats)."""
        cfg = self.cfg
        if self.clock >= HALVE_AT:  # keep the clock in 32 bits: only the order of the ranks matters
            self._rebase()
        self.clock += 1
        clock = self.clock
        facts = self._facts(value)
        unpredicted = facts & ~self.predicted
        before = self.group
        c_left, c_right, c_total, c_hits, c_act, c_zero, rank = (self.c_left, self.c_right, self.c_total, self.c_hits,
                                                                 self.c_act, self.c_zero, self.c_rank)
        # the zero-level context: the whole previous group, then the whole current value
        new_slot = -1
        if before:
            slot = self._find(before, facts)
            if slot < 0:
                new_slot = self._add(before, facts, 1)
            else:
                c_zero[slot] = 1
        fresh = new_slot >= 0
        # the contexts the previous group selected: which came true, and the crossings worth learning
        selected = 0
        active: list[int] = []
        crossings: list[tuple[int, int]] = []
        most = cfg.left
        for slot in self.crossed if fresh else self.full:  # only a new zero-level context makes crossings
            left = c_left[slot]
            met = left & before
            if not met or slot == new_slot:
                continue
            right = c_right[slot]
            hit = right & facts
            if met == left:
                selected += 1
                if c_total[slot] > HALVE_COUNTS_AT:  # keep the counts in 16 bits: halving keeps the weight
                    c_total[slot] >>= 1
                    c_hits[slot] >>= 1
                    c_act[slot] >>= 1
                c_total[slot] += POPCOUNT[right]
                rank[slot] = clock
                if hit == right:
                    c_act[slot] += 1
                    c_hits[slot] += POPCOUNT[hit]
                    active.append(slot)
                    continue
                if hit:
                    c_hits[slot] += POPCOUNT[hit]
            if hit and fresh and c_zero[slot] and met.bit_count() <= most:
                crossings.append((met, hit))
        share_active = len(active) / selected if selected else 0.0
        # the most confirmed active contexts become facts of the next step's left group
        if len(active) > cfg.neurons:
            active.sort(key=c_act.__getitem__)  # stable: ties stay in slot order
            active = active[len(active) - cfg.neurons:] if cfg.neurons else []
        shift = 2 * cfg.bits
        group = facts
        for slot in active:
            group |= 1 << (shift + slot)
        self.group = group  # a slot reused below takes its neuron fact out of the group
        added = 0
        unique = {(before, facts)} if fresh else set()
        for left, right in crossings:
            if (left, right) in unique:
                continue
            unique.add((left, right))
            if self._find(left, right) < 0:
                self._add(left, right, 0)
                added += 1
        group = self.group
        # cross the dictionary's left parts with the new group; the fully met ones predict
        crossed = [slot for slot, left in enumerate(c_left) if left & group]
        outside = ~group
        full = [slot for slot in crossed if not c_left[slot] & outside]
        best = 0.0
        predicted = 0
        for slot in full:
            total = c_total[slot]
            weight = c_hits[slot] / total if total else 0.0
            if weight > best:
                best = weight
                predicted = c_right[slot]
            elif weight == best:
                predicted |= c_right[slot]
        self.crossed = array("H", crossed)
        self.full = array("H", full)
        self.predicted = predicted
        if not unpredicted:
            return 0.0
        share_added = (added + 1) / len(unique) if fresh else 0.0
        return (1.0 - share_active + share_added) / 2.0

    def surprise(self, value: float, t: float) -> tuple[float, Any]:
        cfg = self.cfg
        score = self.raw(value)
        reported = score if self.calm >= cfg.rest_points else 0.0
        self.calm = 0 if score >= cfg.threshold else self.calm + 1
        if reported >= TOP:
            reported = TOP
        return reported / (1.0 - reported), None


def _bits(mask: int) -> list[int]:
    """The numbers of the bits set in ``mask``, lowest first."""
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out


def _column(typecode: str, raw: bytes) -> array:
    out = array(typecode)
    out.frombytes(raw)
    return out


def _mask(bits: Any) -> int:
    if type(bits) is not list or not all(type(b) is int and 0 <= b < 1 << 20 for b in bits):
        raise ValueError("a fact set must be a list of bit numbers")
    mask = 0
    for b in bits:
        mask |= 1 << b
    return mask

"""The detector interface: one small object per series, fed a value and its time, returning surprise.

A detector class names its configuration (``config``: a frozen dataclass whose fields are its
parameters, declared with :func:`param` and shown by ``ben detect --list``; one typed object per
run, shared by every series) and keeps its per-series state in ``__slots__``, so a hundred
thousand series cost a hundred thousand small objects, not dictionaries. The state is a flat JSON list (``state()`` / ``restore()``) so it can be
carried between runs exactly: floats round-trip through JSON bit for bit.

``surprise(value, t)`` is the model: it returns ``-log10 p`` of the new point under the state so
far (then learns from the point) and the value the model expected. ``score()`` adds what every
detector shares, in this order:

1. warm-up: the first ``warmup`` points of a series score 0 while the model learns;
2. tail calibration: a model's p-value assumes its noise model (Gaussian for most), which real
   metrics break with heavy tails. Each series learns its own tail of surprises, peaks over a
   threshold with exponential excesses (as in SPOT, Siffer et al. 2017), and the reported surprise
   is the weighted geometric mean of the model's p-value and that learned-tail p-value;
3. hold-off: after a surprise, later points score 0 unless they beat its echo, which halves every
   ``holdoff`` points. One incident then raises one alarm, not one per point it lasts.

Two parameters every detector takes are *hints*, facts about a series known ahead that a stream
usually lacks and NAB's harness hands each detector: ``range=LO:HI`` (the file's minimum and
maximum; detectors that quantise or scale values, ``cad`` and ``art``, use it instead of the
running range) and ``probation=N`` (the first N points are normal: the model and its tail learn
them and they score 0). Unset, nothing changes.
"""

from __future__ import annotations

import base64
import math
import sys
import zlib
from array import array
from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields
from typing import Any, ClassVar, Generic, TypeVar

from ben_cli.detect.pvalue import LN10


@dataclass(frozen=True)
class Param:
    """One tunable parameter: its name, default, type and what it does (for ``--list``)."""

    name: str
    default: Any
    help: str
    choices: tuple[str, ...] | None = None

    def parse(self, text: str) -> Any:
        """Read a value given on the command line as this parameter's type."""
        kind = type(self.default)
        if self.choices is not None:
            if text not in self.choices:
                raise ValueError(f"{self.name} must be one of {', '.join(self.choices)}, not {text!r}")
            return text
        try:
            if kind is bool:
                if text.lower() in ("1", "true", "yes", "on"):
                    return True
                if text.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError(text)
            value = kind(text)
        except ValueError:
            raise ValueError(f"{self.name} must be {kind.__name__}, not {text!r}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{self.name} must be finite")
        return value


def param(default: Any, help: str, *, name: str | None = None, choices: tuple[str, ...] | None = None,
          hint: bool = False) -> Any:
    """A configuration field that is a parameter: its default, its help for ``--list``, and the
    name it is given by (``-p lambda=0.2`` when the field cannot be called ``lambda``). A ``hint``
    is a fact about the series known ahead (its range, its probation): left unset, a state file
    does not record it, so state written before hints existed still loads."""
    return field(default=default, metadata={"help": help, "name": name, "choices": choices, "hint": hint})


def derived() -> Any:
    """A configuration field computed from the parameters in ``__post_init__`` (not a parameter)."""
    return field(init=False, repr=False, compare=False)


TAIL_WEIGHT_HELP = "weight of the series' learned tail against the model's p-value (0: trust the model)"

# Tail calibration: exceedances of s > TAIL_U are counted; the prior is a well-calibrated model
# (P(s > u) = 10^-u, excess mean 1/ln 10) worth PRIOR_N points and PRIOR_HITS exceedances.
TAIL_U = 1.0
PRIOR_N = 20.0
PRIOR_HITS = 5.0


@dataclass(frozen=True)
class Config:
    """The parameters every detector shares; a detector's own config adds its fields with
    :func:`param`, derives constants in ``__post_init__`` (raising ValueError for values that
    make no sense) and says when its textbook rule raises an alarm."""

    warmup: int = param(30, "points a series must show before it is scored")
    tail_weight: float = param(0.5, TAIL_WEIGHT_HELP)
    holdoff: float = param(69.0, "points for an alarm's echo to halve; points that do not beat it score 0 (0: off)")
    value_range: str = param("", "LO:HI, the values' range when known ahead (NAB's rules hand each file's in); "
                             "empty: learned as the series goes", name="range", hint=True)
    probation: int = param(0, "first points known to be normal (NAB's rules: 15 % of the file): learned, "
                           "scored 0", hint=True)
    echo_keep: float = derived()
    range_lo: float | None = derived()
    range_hi: float | None = derived()

    def __post_init__(self) -> None:
        self._derive("echo_keep", 0.5 ** (1.0 / self.holdoff) if self.holdoff > 0 else 0.0)
        lo, hi = parse_range(self.value_range)
        self._derive("range_lo", lo)
        self._derive("range_hi", hi)
        if self.probation < 0:
            raise ValueError("probation must be 0 or more points")

    def _derive(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)  # the config is frozen once built

    def alarm_s(self) -> float:
        """The surprise at which this detector's textbook rule raises an alarm (score 0.5)."""
        return 3.0

    def uses_time(self) -> bool:
        """Whether the detector needs each record's timestamp (seasonal profiles)."""
        return False

    @classmethod
    def param_fields(cls) -> list[Field[Any]]:
        """The fields that are parameters, the detector's own first, then those every detector shares."""
        shared = {f.name for f in fields(Config)}
        declared = [f for f in fields(cls) if f.init]
        return [f for f in declared if f.name not in shared] + [f for f in declared if f.name in shared]

    @classmethod
    def params(cls) -> tuple[Param, ...]:
        return tuple(Param(_param_name(f), f.default, f.metadata["help"], f.metadata["choices"]) for f in cls.param_fields())

    @classmethod
    def build(cls, values: Mapping[str, Any] | None = None) -> Config:
        """The config for parameter values given by name (``lambda``), defaults for the rest."""
        names = {_param_name(f): f.name for f in cls.param_fields()}
        given = dict(values or {})
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise ValueError(f"no parameter {', '.join(unknown)}; the parameters are {', '.join(names)}")
        return cls(**{names[name]: value for name, value in given.items()})

    def values(self) -> dict[str, Any]:
        """Every parameter's value by name, as a state file records them (hints only when set)."""
        return {_param_name(f): getattr(self, f.name) for f in self.param_fields()
                if not (f.metadata["hint"] and getattr(self, f.name) == f.default)}


def _param_name(f: Field[Any]) -> str:
    return f.metadata["name"] or f.name


def parse_range(text: str) -> tuple[float | None, float | None]:
    """``LO:HI`` as two finite floats with ``LO <= HI``; ``("", "")`` gives ``(None, None)``."""
    if not text.strip():
        return None, None
    lo_text, colon, hi_text = text.partition(":")
    try:
        lo, hi = float(lo_text), float(hi_text)
    except ValueError:
        lo = hi = math.nan
    if not colon or not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
        raise ValueError(f"range must be LO:HI, two finite numbers with LO <= HI, not {text!r}")
    return lo, hi


def track_range(lo: float | None, hi: float, value: float, cfg: Config, margin: float = 0.0) -> tuple[float, float]:
    """The range ``(lo, hi)`` after ``value``, for detectors that quantise in it (``cad``, ``cadose``).

    The first value sets it: the given range (``-p range=``) widened to hold the value, else the
    value alone. Later, a value past an end moves that end to it and ``margin`` times the distance
    to the other end beyond (0: just to it), so that a slowly growing range is not redrawn at
    every new extreme (every redraw changes what each learned level means)."""
    if lo is None:
        given_lo, given_hi = cfg.range_lo, cfg.range_hi
        if given_lo is None or given_hi is None:
            return value, value
        return min(given_lo, value), max(given_hi, value)  # known ahead: the levels hold still from the first point
    if value < lo:
        return (value - margin * (hi - value) if margin else value), hi
    if value > hi:
        return lo, (value + margin * (value - lo) if margin else value)
    return lo, hi


C = TypeVar("C", bound=Config)


class Detector(Generic[C]):
    """Base class of every detector. Subclasses set ``config``, ``__slots__`` (and ``summary``) and
    implement ``surprise``; the slots named in ``__slots__`` are the state that is saved."""

    __slots__ = ("cfg", "used", "seen", "count", "tail_n", "tail_hits", "tail_excess", "echo")

    summary: ClassVar[str] = ""
    config: ClassVar[type[Config]] = Config
    kind: ClassVar[str] = "point"  # "change" for drift detectors: an alarm marks a change point
    vector: ClassVar[bool] = False  # watches several numbers at once (spca)

    def __init__(self, cfg: C):
        self.cfg = cfg
        self.used = 0  # when the series was last fed (the table's record count), for --max-series
        self.seen: int | None = None  # newest timestamp (ns) of the series, for --expire
        self.count = 0
        self.tail_n = 0.0
        self.tail_hits = 0.0
        self.tail_excess = 0.0
        self.echo = 0.0

    # -- what subclasses provide ------------------------------------------------------------
    def surprise(self, value: Any, t: float) -> tuple[float, Any]:
        """``(-log10 p, expected value)`` of ``value`` at time ``t`` (seconds); then learn it. Not
        abstract: ``joint``'s detector scores several series at once through its own entry and has none."""
        raise NotImplementedError

    def settle(self) -> None:
        """Bring the slots up to date; a detector whose state lives in compiled code copies it here."""

    # -- shared ------------------------------------------------------------------------------
    @classmethod
    def all_params(cls) -> tuple[Param, ...]:
        return cls.config.params()

    @classmethod
    def configure(cls, values: Mapping[str, Any] | None = None) -> Config:
        """This detector's config for parameter values given by name; ValueError says what is wrong."""
        return cls.config.build(values)

    def score(self, value: Any, t: float) -> tuple[float, Any]:
        """The reported surprise: the model's, after warm-up, tail calibration and hold-off."""
        s, expected = self.surprise(value, t)
        cfg = self.cfg
        self.count += 1
        if self.count <= cfg.warmup:
            s = 0.0
        w = cfg.tail_weight
        if w > 0.0:
            s = (1.0 - w) * s + w * self._tail(s)
        if self.count <= cfg.probation:  # known normal: the model and its tail learn, nothing is reported
            return 0.0, expected
        keep = cfg.echo_keep
        if keep:
            echo = self.echo * keep
            if s > echo:
                self.echo = s
            else:
                self.echo = echo
                s = 0.0
        return s, expected

    def _tail(self, s: float) -> float:
        """The surprise of ``s`` under this series' own tail of surprises (then count it)."""
        n, hits, excess = self.tail_n, self.tail_hits, self.tail_excess
        head = -math.log10((hits + PRIOR_N * 10.0**-TAIL_U) / (n + PRIOR_N))
        if s > TAIL_U:
            mean_excess = (excess + PRIOR_HITS / LN10) / (hits + PRIOR_HITS)
            out = head + (s - TAIL_U) / (mean_excess * LN10)
            self.tail_hits = hits + 1.0
            self.tail_excess = excess + (s - TAIL_U)
        else:
            out = s * head / TAIL_U
        self.tail_n = n + 1.0
        return out

    # -- state -------------------------------------------------------------------------------
    @classmethod
    def state_slots(cls) -> tuple[str, ...]:
        names: list[str] = []
        for klass in reversed(cls.__mro__):
            for slot in klass.__dict__.get("__slots__", ()):
                if slot not in ("cfg", "used"):  # the run's own bookkeeping, not the model
                    names.append(slot)
        return tuple(names)

    def state(self) -> list:
        """The series' state as a JSON-ready list (restored exactly by :meth:`restore`)."""
        return [_export(getattr(self, name)) for name in self.state_slots()]

    @classmethod
    def restore(cls, cfg: C, state: list) -> Detector[C]:
        det = cls(cfg)
        names = cls.state_slots()
        if len(state) != len(names):
            raise ValueError(f"{cls.__name__} state has {len(state)} fields, expected {len(names)}")
        for name, value in zip(names, state, strict=True):
            setattr(det, name, _import(getattr(det, name), value))
        return det


def _export(value: Any) -> Any:
    if isinstance(value, (bytearray, array)):  # compact buffers (bit sets, float rings): base64 of their bytes
        return base64.b64encode(value).decode("ascii") if isinstance(value, bytearray) else _pack(value)
    if isinstance(value, Detector):
        return value.state()
    if isinstance(value, list):
        return [_export(v) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays
        return value.tolist()
    if hasattr(value, "maxlen") and hasattr(value, "popleft"):  # deque
        return list(value)
    return value


def _import(template: Any, value: Any) -> Any:
    """Rebuild a slot's value in the shape the fresh object has (nested detector, deque, array)."""
    if isinstance(template, (bytearray, array)):
        return _unpack(template, value)
    if isinstance(template, Detector):
        return type(template).restore(template.cfg, value)
    if hasattr(template, "maxlen") and hasattr(template, "popleft"):
        return type(template)(value, maxlen=template.maxlen)
    if hasattr(template, "tolist") and value is not None:
        import numpy as np

        return np.asarray(value, dtype=template.dtype)
    return value


ZLIB = "z:"  # a buffer saved deflated (base64 has no colon, so a plain one never starts so)
UNPACKED_MAX = 1 << 24  # bytes a deflated buffer may grow to when read: a state file is not a zip bomb


def _pack(buffer: array) -> str:
    """A float or int array as base64 of its little-endian bytes (exact, a third the size of JSON
    numbers), deflated when that is shorter: counters and ranks of learned models are mostly small
    numbers in wide integers, and ``cadose``'s columns shrink to about half."""
    if sys.byteorder != "little":
        buffer = array(buffer.typecode, buffer)
        buffer.byteswap()
    raw = buffer.tobytes()
    plain = base64.b64encode(raw).decode("ascii")
    if len(plain) > 64:
        deflated = ZLIB + base64.b64encode(zlib.compress(raw, 6)).decode("ascii")
        if len(deflated) < len(plain):
            return deflated
    return plain


def _unpack(template: bytearray | array, text: Any) -> bytearray | array:
    """The buffer :func:`_export` wrote, in the template's type; ValueError if it is not one."""
    if type(text) is not str:
        raise ValueError(f"{text!r} is not a base64 buffer")
    deflated = text.startswith(ZLIB)
    try:
        raw = base64.b64decode(text[len(ZLIB):].encode("ascii") if deflated else text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        raise ValueError("a buffer is not base64") from None
    if deflated:
        raw = _inflate(raw)
    if isinstance(template, bytearray):
        if len(raw) != len(template):
            raise ValueError(f"a buffer of {len(raw)} bytes, expected {len(template)}")
        return bytearray(raw)
    out = array(template.typecode)
    if len(raw) % out.itemsize:
        raise ValueError("a buffer's length is not a whole number of items")
    out.frombytes(raw)
    if sys.byteorder != "little":
        out.byteswap()
    return out


def _inflate(raw: bytes) -> bytes:
    """A deflated buffer's bytes; ValueError if it is not one whole deflated stream, or grows too large."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(raw, UNPACKED_MAX)
    except zlib.error:
        raise ValueError("a deflated buffer is broken") from None
    if inflater.unconsumed_tail:
        raise ValueError(f"a deflated buffer holds more than {UNPACKED_MAX} bytes")
    if not inflater.eof or inflater.unused_data:
        raise ValueError("a deflated buffer is cut short or followed by other bytes")
    return out


def state_fault(probe: Any, value: Any, where: str) -> str | None:
    """What is wrong with a restored slot ``value``, judged by the same slot of ``probe`` (a detector
    of the same kind that has learned a few points, so its slots hold what they hold in use): a
    non-finite or non-numeric number where the probe has a number, a missing one (``null``, which
    is how a NaN was saved) where the probe has one, a list where it has none. None if nothing is."""
    kind = type(probe)
    if kind is float:
        if type(value) not in (float, int) or not math.isfinite(value):
            return f"{where}: {value!r} is not a finite number"
        return None
    if kind is int or kind is bool or kind is str:
        return None if type(value) is kind else f"{where}: {value!r} is not {kind.__name__}"
    if isinstance(probe, Detector):
        if type(value) is not kind:
            return f"{where}: not a {kind.__name__} state"
        probe.settle()
        value.settle()
        for name in _slots(kind):
            fault = state_fault(getattr(probe, name), getattr(value, name), f"{where}.{name}")
            if fault:
                return fault
        return None
    if probe is None:
        return None if value is None else state_fault(_shape_of(value), value, where)
    if isinstance(probe, (bytearray, array)):
        if type(value) is not kind:
            return f"{where}: not a {kind.__name__}"
        if isinstance(value, array) and value.typecode == "d" and not _finite_numbers(value):
            return f"{where}: holds a non-finite number"
        return None
    if hasattr(probe, "tolist"):  # numpy array: restored with the probe's dtype
        if getattr(value, "shape", None) is None or not bool(value.size == 0 or _all_finite(value)):
            return f"{where}: holds a missing or non-finite number"
        return None
    if isinstance(probe, (list, tuple)) or hasattr(probe, "popleft"):
        if not (isinstance(value, (list, tuple)) or hasattr(value, "popleft")):
            return f"{where}: {value!r} is not a list"
        items = list(probe)
        if items and all(isinstance(p, Detector) for p in items):
            if len(value) != len(items):
                return f"{where}: {len(value)} parts, expected {len(items)}"
            pairs = list(zip(items, value, strict=True))
        else:
            template = next((p for p in items if p is not None), None)
            gaps = None in items or template is None
            if type(template) is float and _finite_numbers([v for v in value if v is not None] if gaps else value):
                return None  # the common case, at C speed: the per-item walk below only finds what is wrong
            pairs = [(None if v is None and gaps else template, v) for v in value]
        for i, (p, v) in enumerate(pairs):
            fault = state_fault(p, v, f"{where}[{i}]")
            if fault:
                return fault
        return None
    return None


def _shape_of(value: Any) -> Any:
    """A template for a value where the probe has none: numbers must be finite, lists hold such values."""
    if type(value) in (float, int):
        return 0.0
    if isinstance(value, list):
        return []
    return value


_SLOTS: dict[type, tuple[str, ...]] = {}


def _slots(kind: type[Detector[Any]]) -> tuple[str, ...]:
    slots = _SLOTS.get(kind)
    if slots is None:
        slots = _SLOTS[kind] = kind.state_slots()
    return slots


def _finite_numbers(values: Any) -> bool:
    """Whether every item is an int or float and finite (their sum is: a NaN or infinity spreads)."""
    if not set(map(type, values)) <= {float, int}:
        return False
    total = sum(values)
    return bool(total - total == 0.0)


def _all_finite(array: Any) -> bool:
    import numpy as np

    return bool(np.isfinite(array).all())

"""``auto``, the default: ``cadose`` where the series' range is known ahead, else a small ensemble.

A quantising model of contexts (``cadose``, after CAD OSE) is the best detector measured here when
it is told the range its values live in (``-p range=LO:HI``, as NAB's harness tells every
detector, or as an operator knows a percentage, a temperature sensor's span, a queue's bound); it
is among the worst when it must learn the range as it goes, because each new extreme redraws its
levels and every context learned before is a stranger. So ``auto`` runs ``ranged`` (``cadose`` by
default), report and all, when the range is given, and the ensemble below when it is not: one
configuration, which uses what is known about a series and does not pretend to know more.

The ensemble, the best of the combinations tried on NAB blind:

Its parts: the log-daily and weekly seasonal profiles, adwin, a coarse short-memory ``cad`` (4
levels, contexts of 2, novelty rate over 40 points) that measures values in their learned range
even when a range is given (``range=``: measured, the given range coarsens it), and a ``cad`` of
6 levels and first-order contexts (transitions), which takes a given range.

Each part is a full detector with its own defaults, but only its model is used (its surprise
before warm-up, calibration and hold-off); the ensemble reports the largest part's surprise less
``log10(parts)`` (Bonferroni: looking several times costs significance), and then applies the
shared warm-up, tail calibration and hold-off once. The expected value is the first part's.

The parts' textbook alarms (p of about 0.01) flag a point in a hundred on real metrics; ``auto``
is meant to be left on, so its score 0.5 sits where NAB's optimiser puts the threshold, at a
surprise of about 6 (p = 1e-6).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ben_cli import registry
from ben_cli.detect.base import TAIL_WEIGHT_HELP, Config, Detector, derived, param
from ben_cli.registry import detectors

DEFAULT_PARTS = "seasonal:transform=log,seasonal:period=604800:bins=168:unseen=quiet,adwin,cad:levels=4:bits=10:order=2:horizon=40:range=,cad:levels=6:bits=10:order=1:horizon=100"


@dataclass(frozen=True)
class AutoConfig(Config):
    parts: str = param(DEFAULT_PARTS, "comma-separated detectors to combine, each NAME or NAME:PARAM=VALUE:...")
    tail_weight: float = param(0.7, TAIL_WEIGHT_HELP)
    alarm: float = param(6.0, "surprise (-log10 p) that scores 0.5; 6 is about the best threshold on NAB")
    ranged: str = param("cadose", "the detector run instead of the parts when the range is given (range=), reporting "
                        "as it does alone (its own warm-up, tail and hold-off); NAME or NAME:PARAM=VALUE:...; "
                        "empty: the parts always")
    part_configs: tuple[tuple[type[Detector[Any]], Config], ...] = derived()
    penalty: float = derived()
    lead: Config | None = derived()

    def __post_init__(self) -> None:
        super().__post_init__()
        specs = [p.strip() for p in self.parts.split(",") if p.strip()]
        names = [_name(spec) for spec in specs]
        if not names or "auto" in names:
            raise ValueError("parts must name one or more detectors other than auto")
        if _name(self.ranged) == "auto":
            raise ValueError("ranged must name a detector other than auto")
        parts = [self._member(spec) for spec in specs]
        lead = self._member(self.ranged) if self.ranged.strip() else None
        if lead is not None and self.value_range:
            self._derive("part_configs", (lead,))
            self._derive("lead", lead[1])
        else:
            self._derive("part_configs", tuple(parts))
            self._derive("lead", None)
        self._derive("penalty", math.log10(len(self.part_configs)))

    def _member(self, spec: str) -> tuple[type[Detector[Any]], Config]:
        """A member's detector and config from ``NAME:PARAM=VALUE:...``, given the series' facts known ahead."""
        name = _name(spec)
        try:
            part: type[Detector[Any]] = registry.detectors.get(name)
        except KeyError as exc:
            raise ValueError(exc.args[0]) from None
        if part.vector:
            raise ValueError(f"{name} watches several fields and cannot be a part of auto")
        given = part_params(part, spec)
        given.setdefault("range", self.value_range)  # the series' facts known ahead reach every part
        given.setdefault("probation", self.probation)
        return part, part.configure(given)

    def alarm_s(self) -> float:
        return self.lead.alarm_s() if self.lead is not None else self.alarm

    def uses_time(self) -> bool:
        return any(part_cfg.uses_time() for _, part_cfg in self.part_configs)


def _name(spec: str) -> str:
    """The detector a ``NAME:PARAM=VALUE:...`` spec names."""
    return spec.split(":")[0].strip()


def part_params(part: type[Detector[Any]], spec: str) -> dict[str, Any]:
    """The parameters a part is given in ``NAME:PARAM=VALUE:...``, read as that detector's types."""
    known = {p.name: p for p in part.all_params()}
    values: dict[str, Any] = {}
    for item in spec.split(":")[1:]:
        key, eq, text = item.partition("=")
        key = key.strip()
        if not eq or key not in known:
            raise ValueError(f"part {spec!r}: {item!r} is not PARAM=VALUE of one of {', '.join(known)}")
        values[key] = known[key].parse(text.strip())
    return values


@detectors.register("auto")
class Auto(Detector[AutoConfig]):
    summary = "cadose when the range is given, else an ensemble (log-daily and weekly seasonal + adwin + two cad)"
    config = AutoConfig
    __slots__ = ("members",)

    def __init__(self, cfg: AutoConfig):
        super().__init__(cfg)
        self.members: list[Detector[Any]] = [cls(part_cfg) for cls, part_cfg in cfg.part_configs]

    def score(self, value: Any, t: float) -> tuple[float, Any]:
        if self.cfg.lead is not None:  # the ranged detector reports as it would alone
            return self.members[0].score(value, t)
        return super().score(value, t)

    def surprise(self, value: float, t: float) -> tuple[float, float | None]:
        best = 0.0
        expected = None
        for i, member in enumerate(self.members):
            s, e = member.surprise(value, t)
            if i == 0:
                expected = e
            if s > best:
                best = s
        best -= self.cfg.penalty
        return (best if best > 0.0 else 0.0), expected

    @classmethod
    def restore(cls, cfg: AutoConfig, state: list) -> Detector[AutoConfig]:
        slot = cls.state_slots().index("members")
        members = state[slot]
        det = super().restore(cfg, [*state[:slot], None, *state[slot + 1:]])
        assert isinstance(det, Auto)
        det.members = [part.restore(part_cfg, s) for (part, part_cfg), s in zip(cfg.part_configs, members, strict=True)]
        return det

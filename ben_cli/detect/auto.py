"""``auto``, the default: a small ensemble, the best of the combinations tried on NAB.

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
    part_configs: tuple[tuple[type[Detector[Any]], Config], ...] = derived()
    penalty: float = derived()

    def __post_init__(self) -> None:
        super().__post_init__()
        specs = [p.strip() for p in self.parts.split(",") if p.strip()]
        names = [spec.split(":")[0].strip() for spec in specs]
        if not names or "auto" in names:
            raise ValueError("parts must name one or more detectors other than auto")
        parts = []
        for spec, name in zip(specs, names, strict=True):
            try:
                part: type[Detector[Any]] = registry.detectors.get(name)
            except KeyError as exc:
                raise ValueError(exc.args[0]) from None
            if part.vector:
                raise ValueError(f"{name} watches several fields and cannot be a part of auto")
            given = part_params(part, spec)
            given.setdefault("range", self.value_range)  # the series' facts known ahead reach every part
            given.setdefault("probation", self.probation)
            parts.append((part, part.configure(given)))
        self._derive("part_configs", tuple(parts))
        self._derive("penalty", math.log10(len(names)))

    def alarm_s(self) -> float:
        return self.alarm

    def uses_time(self) -> bool:
        return any(part_cfg.uses_time() for _, part_cfg in self.part_configs)


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
    summary = "ensemble (default: log-daily and weekly seasonal + adwin + two cad), the best combination on NAB"
    config = AutoConfig
    __slots__ = ("members",)

    def __init__(self, cfg: AutoConfig):
        super().__init__(cfg)
        self.members: list[Detector[Any]] = [cls(part_cfg) for cls, part_cfg in cfg.part_configs]

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

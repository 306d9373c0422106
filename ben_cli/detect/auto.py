"""``auto``, the default: a small ensemble, the best of the combinations tried on NAB.

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

from ben_cli import registry
from ben_cli.detect.base import Config, Detector, Param
from ben_cli.registry import detectors

DEFAULT_PARTS = "seasonal,adwin"


@detectors.register("auto")
class Auto(Detector):
    summary = "ensemble (default: seasonal + adwin), the best combination on NAB"
    PARAMS = (
        Param("parts", DEFAULT_PARTS, "comma-separated detectors to combine, each with its defaults"),
        Param("alarm", 6.0, "surprise (-log10 p) that scores 0.5; 6 is about the best threshold on NAB"),
    )
    __slots__ = ("members",)

    def __init__(self, cfg: Config):
        super().__init__(cfg)
        self.members: list[Detector] = [cls(part_cfg) for cls, part_cfg in cfg.part_configs]

    @classmethod
    def prepare(cls, cfg: Config) -> None:
        names = [p.strip() for p in cfg.parts.split(",") if p.strip()]
        if not names or "auto" in names:
            raise ValueError("parts must name one or more detectors other than auto")
        cfg.part_configs = []
        for name in names:
            part = registry.detectors.get(name)
            if part.vector:
                raise ValueError(f"{name} watches several fields and cannot be a part of auto")
            cfg.part_configs.append((part, Config(part)))
        cfg.penalty = math.log10(len(names))
        cfg.uses_time = any(part.uses_time for part, _ in cfg.part_configs)

    @classmethod
    def alarm_s(cls, cfg: Config) -> float:
        return cfg.alarm

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
    def restore(cls, cfg: Config, state: list) -> Detector:
        slot = cls.state_slots().index("members")
        members = state[slot]
        det = super().restore(cfg, [*state[:slot], None, *state[slot + 1:]])
        assert isinstance(det, Auto)
        det.members = [part.restore(part_cfg, s) for (part, part_cfg), s in zip(cfg.part_configs, members, strict=True)]
        return det

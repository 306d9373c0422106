"""Series the detector tests share."""

from __future__ import annotations

import math
import random


def wave(n: int, seed: int = 3, shift: float = 0.0) -> list[float]:
    """A wave with noise and rare spikes, kept inside [0, 100]; ``shift`` is added after half way."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        v = 40 + 20 * math.sin(2 * math.pi * i / 96) + rng.gauss(0, 2)
        if rng.random() < 0.01:
            v += rng.uniform(20, 35)
        if i > n // 2:
            v += shift
        out.append(round(min(100.0, max(0.0, v)), 3))
    return out

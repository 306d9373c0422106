"""Generated telemetry with known truth for the narrate tests: a spike, a level shift, a slow
drift, a multi-host incident, a quiet day. Same seed, same records.

``ewma_marks`` puts ``anomaly`` marks on records the way the envelope contract defines them, with
an adapting EWMA z-score, so the library can be tested on marked input without running ben
detect. It adapts on purpose: a real detector follows a plateau and flags the return, and narrate
must still tell one excursion from two.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from ben_cli.record import NS_PER_S, format_ts, to_ns

DAY = "2026-11-25"


def at(hhmm: str, day: str = DAY) -> int:
    return to_ns(f"{day}T{hhmm}:00Z")


def series(source: str, name: str, unit: str, start: str, minutes: float, points: int, base: float, noise: float,
           seed: int, shape: Callable[[int], float] | None = None, lane: str = "diag") -> list[dict]:
    """Points every ``minutes`` from ``start`` (HH:MM on DAY): base + gaussian noise + shape(ns)."""
    rng = random.Random(seed)
    t0 = at(start)
    step = int(minutes * 60 * NS_PER_S)
    out = []
    for i in range(points):
        ns = t0 + i * step
        value = base + rng.gauss(0, noise) + (shape(ns) if shape else 0.0)
        out.append({"ts": format_ts(ns), "lane": lane, "source": source, "name": name,
                    "value": round(value, 3), "unit": unit, "severity": "info"})
    return out


def window(start: str, end: str, height: float) -> Callable[[int], float]:
    """A plateau of ``height`` from start (inclusive) to end (exclusive)."""
    a, b = at(start), at(end)
    return lambda ns: height if a <= ns < b else 0.0


def step(start: str, height: float) -> Callable[[int], float]:
    a = at(start)
    return lambda ns: height if ns >= a else 0.0


def ramp(start: str, per_hour: float) -> Callable[[int], float]:
    a = at(start)
    return lambda ns: max(0.0, (ns - a) / 3600e9) * per_hour


def merge(*groups: list[dict]) -> list[dict]:
    """Interleave series by time as a collector would receive them (ties by source)."""
    return sorted((r for g in groups for r in g), key=lambda r: (r["ts"], r["source"], r["name"]))


def ewma_marks(records: list[dict], lam: float = 0.1, warmup: int = 10, z_alarm: float = 4.0) -> list[dict]:
    """Mark each record like a detector would: ``anomaly: {detector, score, is_anomaly, expected, series}``."""
    state: dict[str, list[float]] = {}
    out = []
    for rec in records:
        key = f"{rec['source']}/{rec['name']}"
        mean, var, n = state.get(key, [rec["value"], 0.0, 0])
        x = rec["value"]
        sd = math.sqrt(var) if var > 0 else 0.0
        z = abs(x - mean) / sd if sd > 0 else 0.0
        flagged = n >= warmup and z > z_alarm
        p = math.erfc(z / math.sqrt(2))
        score = min(1.0, -math.log10(max(p, 1e-300)) / 10) if n >= warmup else 0.0
        marked = dict(rec)
        marked["anomaly"] = {"detector": "ewma", "score": round(score, 6), "is_anomaly": flagged,
                             "expected": round(mean, 6), "series": key}
        out.append(marked)
        diff = x - mean
        incr = lam * diff
        state[key] = [mean + incr, (1 - lam) * (var + diff * incr), n + 1]
    return out


def flag_only(records: list[dict], *spans: tuple[str, str]) -> list[dict]:
    """Keep detect's marks but flag exactly the points in ``spans`` (HH:MM, end exclusive): how an
    adapting detector flags a plateau's first minutes and its return, and nothing between."""
    bounds = [(at(a), at(b)) for a, b in spans]
    for rec in records:
        ns = to_ns(rec["ts"])
        rec["anomaly"]["is_anomaly"] = any(a <= ns < b for a, b in bounds)
    return records

"""Surprise as ``-log10 p``: the one currency every detector pays its scores in.

A detector turns each point into a p-value (how likely a value at least this extreme is if nothing
changed). Small p-values underflow long before they stop being interesting, so they travel as
``s = -log10 p`` (p = 1e-12 is s = 12), computed in log space where the tail would underflow.
``squash`` maps ``s`` into [0, 1) without ever reaching 1, so the tail keeps its resolution.
"""

from __future__ import annotations

import math

LN10 = math.log(10.0)
LOG10_2 = math.log10(2.0)
_SQRT1_2 = 1.0 / math.sqrt(2.0)
_HALF_LOG_PI = 0.5 * math.log(math.pi)
MAX_X = 1e6  # |z| beyond about 1.4 million is reported as that (s of about 4e11)


def normal_tail_s(z: float) -> float:
    """``-log10 P(|Z| >= |z|)`` for a standard normal Z (two-sided), exact far into the tail.

    ``erfc`` underflows past |z| of about 38; beyond 30 the asymptotic series
    ``erfc(x) ~ exp(-x^2) / (x sqrt(pi)) (1 - 1/(2x^2))`` is used in log space.
    """
    x = abs(z) * _SQRT1_2
    if x < 26.0:
        return -math.log10(math.erfc(x))
    if x != x:  # NaN: no evidence either way
        return 0.0
    if x > MAX_X:  # a zero-variance baseline meeting any change: huge but finite
        x = MAX_X
    ln_erfc = -x * x - math.log(x) - _HALF_LOG_PI + math.log1p(-0.5 / (x * x))
    return -ln_erfc / LN10


def normal_upper_s(z: float) -> float:
    """``-log10 P(Z >= z)`` (one-sided, upper tail)."""
    if z <= 0.0:
        return -math.log10(1.0 - 0.5 * math.erfc(-z * _SQRT1_2))
    return normal_tail_s(z) + LOG10_2


def chi2_upper_s(x: float, dof: float) -> float:
    """``-log10 P(X >= x)`` for X ~ chi-squared(dof), by Wilson and Hilferty's cube-root normal
    approximation (good to a few per cent of ``s`` for dof >= 1, and monotone in ``x``)."""
    if x <= 0.0 or dof <= 0.0:
        return 0.0
    c = 2.0 / (9.0 * dof)
    z = ((x / dof) ** (1.0 / 3.0) - (1.0 - c)) / math.sqrt(c)
    return normal_upper_s(z)


def squash(s: float, alarm: float) -> float:
    """Map surprise ``s >= 0`` onto [0, 1): ``s / (s + alarm)``, so ``s == alarm`` scores 0.5.

    Unlike a clipped z-score this never saturates: s = 100 and s = 1000 still differ.
    """
    if s <= 0.0:
        return 0.0
    return s / (s + alarm)


def unsquash(score: float, alarm: float) -> float:
    """The inverse of :func:`squash`: the surprise a score stands for."""
    if score <= 0.0:
        return 0.0
    if score >= 1.0:
        return math.inf
    return alarm * score / (1.0 - score)

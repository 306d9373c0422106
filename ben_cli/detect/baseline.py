"""The running level and spread most detectors standardise by, learned at two speeds.

The level follows the series with weight ``rate`` per point; the variance of the residuals follows
with ``rate_var``. Both start as plain averages (weight 1/n) until the exponential weight is the
larger, so the first points are not over-weighted by an arbitrary start value.
"""

from __future__ import annotations


def learn(mean: float, var: float, n: int, value: float, rate: float, rate_var: float) -> tuple[float, float]:
    """The level and variance after seeing ``value`` as the ``n``-th point (n >= 2)."""
    err = value - mean
    r = rate if rate * n > 1.0 else 1.0 / n
    rv = rate_var if rate_var * n > 1.0 else 1.0 / n
    return mean + r * err, (1.0 - rv) * var + rv * err * err

"""``spca``: streaming PCA over several numbers at once, scored by SPE and Hotelling's T-squared.

Each record gives a vector (``--field cpu,mem,disk``). The vector is standardised per field
against exponentially weighted means and variances, then projected on ``k`` principal directions
learned online, by one of:

* ``oja``: Sanger's generalised Hebbian rule, Oja's rule extended to ``k`` ordered components:
  ``W += eta (x y' - W triu(y y'))`` with ``y = W' x``; no decomposition per point;
* ``fd``: Frequent Directions (Liberty 2013): a sketch of ``k + 16`` rows; when it fills, an SVD
  keeps its top k rows, shrunk by the next singular value (so the SVD runs once every 16 points).
  The top right singular vectors are the directions.

Two statistics score the point against the model before it learns from it: Hotelling's
``T2 = sum(y_i^2 / lambda_i)`` (unusual *within* the usual subspace; chi-squared with k degrees of
freedom) and the squared prediction error ``SPE = |x - W y|^2`` (a break of the usual correlations;
scaled chi-squared by Box's moment match on SPE's own running mean and variance, with at most
d - k degrees of freedom, and at least one: the cube-root approximation fails below). The surprise is
the larger, less log10(2). numpy is imported only when this detector is built.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ben_cli.detect.base import Config, Detector, param
from ben_cli.detect.pvalue import LOG10_2, chi2_upper_s
from ben_cli.registry import detectors

SKETCH_SPARE = 16  # fd: rows beyond k, so the SVD runs once every 16 points
VAR_FLOOR = 1e-24  # eigenvalues never reach 0: no division by zero in T-squared
np: Any = None  # numpy, imported when an spca run is configured (never at ben's start-up)


def _load_numpy() -> None:
    global np
    if np is None:
        import numpy

        np = numpy


@dataclass(frozen=True)
class SpcaConfig(Config):
    k: int = param(1, "principal components kept (fewer than the fields)")
    method: str = param("fd", "how components are learned: fd or oja", choices=("fd", "oja"))
    eta: float = param(0.05, "oja: learning rate")
    lam: float = param(0.01, "weight of the newest point in means, variances and eigenvalues", name="lambda")
    L: float = param(3.5, "alarm at the surprise of a |z| of L (two-sided normal tail)")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.k < 1:
            raise ValueError("k must be at least 1")
        _load_numpy()

    def alarm_s(self) -> float:
        from ben_cli.detect.pvalue import normal_tail_s

        return normal_tail_s(self.L)


@detectors.register("spca")
class Spca(Detector[SpcaConfig]):
    summary = "streaming PCA over several fields: SPE and Hotelling T-squared"
    vector = True
    config = SpcaConfig
    # W: d x k components; sketch: fd's (k + 16) x d rows; eig: k variances; spe_mean/var: SPE moments
    __slots__ = ("mean", "var", "n", "W", "sketch", "filled", "eig", "spe_mean", "spe_var")

    def __init__(self, cfg: SpcaConfig):
        super().__init__(cfg)
        self.mean: Any = None
        self.var: Any = None
        self.n = 0
        self.W: Any = None
        self.sketch: Any = None
        self.filled = 0
        self.eig: Any = None
        self.spe_mean = 0.0
        self.spe_var = 0.0

    def _start(self, x: Any) -> None:
        d = x.shape[0]
        k = self.cfg.k
        if k >= d:
            raise ValueError(f"spca needs more fields than components (k={k}, {d} fields)")
        self.mean = x.copy()
        self.var = np.zeros(d)
        # deterministic start: the first k coordinate axes (a run is reproducible from its input)
        self.W = np.eye(d, k)
        self.eig = np.ones(k)
        if self.cfg.method == "fd":
            self.sketch = np.zeros((k + SKETCH_SPARE, d))

    def surprise(self, value: Any, t: float) -> tuple[float, Any]:
        x = np.asarray(value, dtype=float)
        if self.mean is None:
            self._start(x)
            self.n = 1
            return 0.0, None
        cfg = self.cfg
        self.n += 1
        rate = cfg.lam if cfg.lam * self.n > 1.0 else 1.0 / self.n
        mean, var, W, eig = self.mean, self.var, self.W, self.eig  # updated in place below
        err = x - mean
        sd = np.sqrt(var)
        z = np.divide(err, sd, out=np.zeros_like(err), where=sd > 0)  # a field with no spread yet adds nothing
        y = z @ W
        residual = z - W @ y
        spe = float(residual @ residual)
        yy = y * y
        t2 = float(yy @ (1.0 / eig))
        s = 0.0
        if self.n > 2:
            s_t2 = chi2_upper_s(t2, cfg.k)
            s_spe = 0.0
            if self.spe_var > 0.0 and self.spe_mean > 0.0:
                # Box: SPE ~ g chi2(h) matching its mean and variance; a sum of d - k weighted
                # chi2(1) terms has at most d - k degrees of freedom
                h = min(max(2.0 * self.spe_mean**2 / self.spe_var, 1.0), float(len(z) - cfg.k))
                g = self.spe_mean / h
                s_spe = chi2_upper_s(spe / g, h)
            s = max(s_t2, s_spe) - LOG10_2
            s = s if s > 0.0 else 0.0
        # learn: moments, then components from the standardised point
        mean += rate * err
        var *= 1.0 - rate
        var += rate * err * err
        if cfg.method == "oja":
            W += cfg.eta * (np.outer(z, y) - W @ np.triu(np.outer(y, y)))
        else:
            self._sketch(z)
        eig *= 1.0 - rate
        eig += rate * yy
        np.maximum(eig, VAR_FLOOR, out=eig)
        spe_err = spe - self.spe_mean
        self.spe_mean += rate * spe_err
        self.spe_var = (1.0 - rate) * self.spe_var + rate * spe_err * spe_err
        return (s if math.isfinite(s) else 0.0), None

    def blame(self, value: Any) -> list[float] | None:
        """Each field's share of how far ``value`` lies from the model, before it is learned: its
        squared residual off the usual subspace plus its (positive) part of T-squared within it.
        None before the model has a spread to judge by."""
        if self.mean is None or self.n < 2 or len(value) != len(self.mean):
            return None
        err = np.asarray(value, dtype=float) - self.mean
        sd = np.sqrt(self.var)
        z = np.divide(err, sd, out=np.zeros_like(err), where=sd > 0)
        y = z @ self.W
        residual = z - self.W @ y
        part = residual * residual + np.maximum(z * (self.W @ (y / self.eig)), 0.0)
        total = float(part.sum())
        if not total > 0.0 or not math.isfinite(total):
            return None
        return [float(v) for v in part / total]

    def _sketch(self, z: Any) -> None:
        """Frequent Directions: put the row in a free slot; when none is left, shrink by SVD."""
        k = self.cfg.k
        if self.filled == self.sketch.shape[0]:
            _, sigma, vt = np.linalg.svd(self.sketch, full_matrices=False)
            floor = sigma[k] ** 2 if len(sigma) > k else 0.0
            keep = min(k, len(sigma))  # rows k and beyond shrink to zero
            shrunk = np.sqrt(np.maximum(sigma[:keep] ** 2 - floor, 0.0))
            self.sketch = np.zeros_like(self.sketch)
            self.sketch[:keep] = shrunk[:, None] * vt[:keep]
            self.filled = keep
            self.W = vt[:k].T.copy()
        self.sketch[self.filled] = z
        self.filled += 1

    @classmethod
    def restore(cls, cfg: SpcaConfig, state: list) -> Detector[SpcaConfig]:
        det = super().restore(cfg, state)
        for name in ("mean", "var", "W", "sketch", "eig"):
            value = getattr(det, name)
            if value is not None:
                setattr(det, name, np.asarray(value, dtype=float))
        return det

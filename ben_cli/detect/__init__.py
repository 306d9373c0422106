"""Streaming detectors behind one interface, with per-series state that survives between runs.

The built-in detectors register themselves here on import (none of them imports numpy at import
time); plugins add more through the ``ben.detectors`` entry-point group.
"""

from __future__ import annotations

from ben_cli import registry
from ben_cli.detect import adwin as _adwin  # noqa: F401  (registers the detector)
from ben_cli.detect import auto as _auto  # noqa: F401
from ben_cli.detect import cusum as _cusum  # noqa: F401
from ben_cli.detect import ewma as _ewma  # noqa: F401
from ben_cli.detect import mad as _mad  # noqa: F401
from ben_cli.detect import pagehinkley as _pagehinkley  # noqa: F401
from ben_cli.detect import seasonal as _seasonal  # noqa: F401
from ben_cli.detect import spca as _spca  # noqa: F401  (imports numpy only when used)
from ben_cli.detect.base import COMMON_PARAMS, Config, Detector, Param
from ben_cli.detect.state import StateError
from ben_cli.detect.stream import DetectOptions, Series, detect

__all__ = ["COMMON_PARAMS", "Config", "DetectOptions", "Detector", "Param", "Series", "StateError", "detect",
           "describe", "detector"]

detector = registry.detectors.register
"""Decorator registering a detector class under a name: ``@detector("mine")``."""


def describe() -> list[dict]:
    """Every detector with its summary and parameters (name, default, help), for ``--list``."""
    out = []
    for name, cls in registry.detectors.items():
        params = [{"name": p.name, "default": p.default, "help": p.help} for p in cls.all_params()]
        out.append({"name": name, "summary": getattr(cls, "summary", ""), "kind": getattr(cls, "kind", "point"),
                    "params": params})
    return out

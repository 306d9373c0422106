"""Streaming detectors behind one interface, with per-series state that survives between runs.

    from ben_cli.detect import DetectOptions, SeriesTable
    with SeriesTable(DetectOptions(detector="ewma")) as table:   # the stage core
        marked = list(table.feed(records))

The parts: :mod:`base` (the detector interface and typed configs), one module per detector,
:mod:`options` (what a run can be asked, read from text), :mod:`table` (the stage core),
:mod:`state` (the state file) and :mod:`stream` (``run`` over NDJSON inputs). The built-in
detectors register themselves here on import (none of them imports numpy at import time);
plugins add more through the ``ben.detectors`` entry-point group.
"""

from __future__ import annotations

from ben_cli import registry
from ben_cli.detect import adwin as _adwin  # noqa: F401  (registers the detector)
from ben_cli.detect import art as _art  # noqa: F401
from ben_cli.detect import auto as _auto  # noqa: F401
from ben_cli.detect import cad as _cad  # noqa: F401
from ben_cli.detect import cadose as _cadose  # noqa: F401
from ben_cli.detect import cusum as _cusum  # noqa: F401
from ben_cli.detect import ewma as _ewma  # noqa: F401
from ben_cli.detect import knn as _knn  # noqa: F401
from ben_cli.detect import mad as _mad  # noqa: F401
from ben_cli.detect import pagehinkley as _pagehinkley  # noqa: F401
from ben_cli.detect import seasonal as _seasonal  # noqa: F401
from ben_cli.detect import spca as _spca  # noqa: F401  (imports numpy only when used)
from ben_cli.detect.base import Config, Detector, Param, derived, param
from ben_cli.detect.joint import JointTable, table_for
from ben_cli.detect.options import MAX_SERIES, DetectOptions, catalog_text, describe
from ben_cli.detect.stream import run
from ben_cli.detect.table import SeriesTable
from ben_cli.errors import StateError

__all__ = ["MAX_SERIES", "Config", "DetectOptions", "Detector", "JointTable", "Param", "SeriesTable", "StateError", "catalog_text",
           "derived", "describe", "detector", "param", "run", "table_for"]

detector = registry.detectors.register
"""Decorator registering a detector class under a name: ``@detector("mine")``."""

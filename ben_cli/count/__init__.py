"""``ben count``: events into signals. Records are counted per event-time window and key, and each
closed window becomes one record per key with the count as ``value``, ready for ``ben detect``.

    from ben_cli.count import CountOptions, Counter
    counter = Counter(CountOptions(every=60.0, by=("source", "severity")))
    out = list(counter.feed(records)) + list(counter.flush())

:mod:`rate` turns counters into per-second rates (``ben rate``), :mod:`where` reads the ``--where`` filters, :mod:`windows` is the stage core (:class:`Counter`,
with ``feed``/``flush``/``load``/``save``) and :func:`run` the read loop over NDJSON inputs.
"""

from __future__ import annotations

from ben_cli.count.rate import RateOptions, Rater
from ben_cli.count.rate import run as run_rate
from ben_cli.count.where import parse_where
from ben_cli.count.windows import Counter, CountOptions, run

__all__ = ["CountOptions", "Counter", "RateOptions", "Rater", "parse_where", "run", "run_rate"]

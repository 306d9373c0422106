"""``ben detect --state`` and records read again after a crash: marked, not learned twice.

Tied to a sink (``ben ingest --since-last --ack``), a pipeline killed mid-run reads again the
records past what the sink acknowledged, and some of those this detector has already learned
from (its state was saved at a checkpoint, or at the end of a run whose sink then died). Records
carry their input and position (``_ingest.in``, ``_ingest.at``); beside the state file,
``STATE.positions`` keeps the furthest position learned per input, saved right after the state.
A record at or below it is scored by its series' detector as usual, so it is marked, and the
detector is then put back as it was before that record.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from ben_cli.atomic import write_atomic
from ben_cli.detect.table import SeriesTable
from ben_cli.errors import StateError


class Replays:
    def __init__(self, table: SeriesTable, state: Path):
        self.table = table
        self.path = Path(f"{state}.positions")
        self.learned: dict[str, int] = {}
        self.replayed = 0  # records marked without being learned
        self._pending: tuple[tuple, Any] | None = None
        try:
            data = orjson.loads(self.path.read_bytes())
        except FileNotFoundError:
            return
        except orjson.JSONDecodeError:
            data = None
        if type(data) is not dict or not all(type(v) is int for v in data.values()):
            raise StateError(f"{self.path}: not a map of learned positions; remove it (records read again "
                             "after a crash are then learned again)")
        self.learned = data

    def records(self, records: Iterable[dict]) -> Iterator[dict]:
        """``records`` for the table's feed, noting which ones were learned before."""
        by = self.table.options.by
        learned = self.learned
        for rec in records:
            self.restore()
            mark = rec.get("_ingest")
            if type(mark) is dict:
                key, at = mark.get("in"), mark.get("at")
                if type(key) is str and type(at) is int:
                    if at <= learned.get(key, -1):
                        series = tuple(rec.get(b) for b in by)
                        try:
                            det = self.table.table.get(series)
                        except TypeError:
                            det = None  # unhashable: the table rejects it
                        else:
                            self._pending = (series, copy.deepcopy(det))
                            self.replayed += 1
                    else:
                        learned[key] = at
            yield rec
        self.restore()

    def restore(self) -> None:
        """Put back the detector a record seen before went through (before a checkpoint can save it)."""
        if self._pending is None:
            return
        series, det = self._pending
        self._pending = None
        if det is None:
            self.table.table.pop(series, None)
        else:
            self.table.table[series] = det

    def save(self) -> None:
        if self.learned:  # none without positioned records: no file beside the state
            write_atomic(self.path, orjson.dumps(self.learned))

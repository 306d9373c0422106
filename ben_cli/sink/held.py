"""``--ack``: the positions of ingested inputs the sink holds durably, shared with ``ben ingest``.

The sink owns the acknowledgements file (``STATE.ack`` beside the ingest state it is tied to,
locked while a sink runs). A delivery calls :meth:`Held.acknowledge` once a batch is durable
(stored in ClickHouse, fsynced to the file target, flushed to stdout) with the furthest position
per input among the batch's records; the batcher drops a record at or below a position held when
the run began (:attr:`Held.before`), so that records ingest reads again after a crash never land
twice. The file format is :mod:`ben_cli.acks`'s.
"""

from __future__ import annotations

import threading
from contextlib import ExitStack
from pathlib import Path

from ben_cli import acks
from ben_cli.atomic import exclusive_lock


class Held:
    def __init__(self, state: Path):
        self.path = acks.ack_path(state)
        self.inputs: dict[str, list[int]] = {}
        self.extra: dict = {}
        self.before: dict[str, list[int]] = {}  # what was held when records began to be read, then taken
        self.dropped = 0  # records at or below a held position: already stored by an earlier run
        self._mu = threading.Lock()
        self._lock = ExitStack()

    def open(self) -> None:
        """Lock the file (Busy when another sink holds it) and read it."""
        self._lock.enter_context(exclusive_lock(self.path, "another ben sink"))
        self.inputs, self.extra = acks.load(self.path)

    def start(self) -> None:
        """Records begin to be read: what is held now is what they are compared with."""
        self.before = {k: list(v) for k, v in self.inputs.items()}

    def acknowledge(self, positions: dict[str, list[int]], **extra: object) -> None:
        """The records up to ``positions`` are durable: save them (atomically) with ``extra``."""
        with self._mu:
            moved = acks.merge(self.inputs, positions)
            if extra and extra != {k: self.extra.get(k) for k in extra}:
                self.extra.update(extra)
                moved = True
            if moved:
                acks.save(self.path, self.inputs, self.extra)

    def close(self) -> None:
        self._lock.close()

"""``ben bee send --ack STATE``: the edge's acknowledgements to ``ben ingest``, for what the spool holds.

Across two hosts no sink sits beside the edge's ingest, so the sender plays its part: it keeps
``STATE.ack`` (the file and format of :mod:`ben_cli.acks`, locked as ``ben sink --ack`` locks it)
with, per input, the furthest position (``_ingest.in``/``_ingest.at``) among the records durably
in its spool. ``ben ingest --since-last --ack --state STATE`` then resumes exactly after what the
spool holds, however the edge was killed; from there the spool, the stream's sequence numbers and
the collector carry the records on.

The invariant: every record ingest will not read again is in the spool, or was in it and was
acknowledged by the collector. Positions are learnt in two steps, :meth:`SpoolAcks.fresh` (a
chunk of stdin, before it is spooled) and :meth:`SpoolAcks.spooled` (after the fsync), and the
file is saved only from the second: it never names a record the spool could lose. Saving is
throttled (at most every :data:`SAVE_EVERY` seconds, and before the spool drops acknowledged
records, and at the end): a file that lags costs re-reading, never a loss, because the positions
of the records still in the spool are learnt again when it is opened (:meth:`SpoolAcks.learn`).

A record ingest reads again (the edge killed after the spool's fsync, before the file was saved)
is at or below a position held, and :meth:`SpoolAcks.fresh` drops it: it is in the stream
already, under its own sequence number, and must not get a second one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from ben_cli import acks
from ben_cli.atomic import exclusive_lock

SAVE_EVERY = 0.2  # seconds: how stale STATE.ack may get while records flow
_MARK = b'"_ingest":{'


class SpoolAcks:
    """The positions the spool holds, per ingested input; saved to ``STATE.ack``."""

    def __init__(self, state: Path, clock: Callable[[], float] = time.monotonic):
        self.path = acks.ack_path(state)
        self.inputs: dict[str, list[int]] = {}
        self.extra: dict = {}
        self.dropped = 0  # records read again that the spool already holds
        self._pending: dict[str, list[int]] = {}  # positions of a chunk not yet fsynced
        self._dirty = False
        self._saved = 0.0
        self._clock = clock
        self._lock = ExitStack()

    def open(self) -> None:
        """Lock the file (Busy when a sink or another sender holds it) and read it."""
        self._lock.enter_context(exclusive_lock(self.path, "another ben sink or ben bee send"))
        self.inputs, self.extra = acks.load(self.path)

    def learn(self, data: bytes) -> None:
        """The spool's records found on disk when it is opened: held, whatever the file said."""
        moved = self._scan(data, drop=False)[1]
        self._dirty |= acks.merge(self.inputs, moved)

    def fresh(self, data: bytes) -> bytes:
        """``data`` (whole lines) without the records at or below a position held; the positions of
        the others wait for :meth:`spooled`. Lines without a position pass: nothing to compare."""
        if _MARK not in data:
            return data
        kept, self._pending = self._scan(data, drop=True)
        return kept

    def spooled(self) -> None:
        """The chunk :meth:`fresh` returned is fsynced in the spool: hold its positions."""
        if self._pending:
            self._dirty |= acks.merge(self.inputs, self._pending)
            self._pending = {}
        if self._dirty and self._clock() - self._saved >= SAVE_EVERY:
            self.save()

    def save(self) -> None:
        if self._dirty:
            acks.save(self.path, self.inputs, self.extra)
            self._dirty = False
            self._saved = self._clock()

    def close(self) -> None:
        self._pending = {}
        try:
            self.save()
        finally:
            self._lock.close()

    def _scan(self, data: bytes, drop: bool) -> tuple[bytes, dict[str, list[int]]]:
        held = self.inputs
        moved: dict[str, list[int]] = {}
        out: list[bytes] = []
        cut = 0  # lines before this offset are kept as they are
        pos = 0
        size = len(data)
        while pos < size:
            end = data.index(b"\n", pos) + 1
            where = acks.line_position(data[pos:end]) if data.find(_MARK, pos, end) >= 0 else None
            if where is not None:
                key, at, line = where
                h = moved.get(key) or held.get(key)
                if drop and h is not None and at <= h[0]:
                    out.append(data[cut:pos])
                    cut = end
                    self.dropped += 1
                else:
                    moved[key] = [at, line]
            pos = end
        if not out:
            return data, moved
        out.append(data[cut:])
        return b"".join(out), moved

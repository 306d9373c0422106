"""``ben bee listen --ack-from STATE``: acknowledge only what the sink downstream has committed.

Across two hosts the listener's stdout is not where records are safe: a ``ben sink`` killed with
records in its pipe loses them. So in this mode the listener stamps each record with a position of
its own, ``_ingest: {"format": "bee", "in": "bee.ID", "at": N, "line": N, "from": EDGE_MARK}``,
where ID names (peer's static key, stream id) and N is the record's sequence number in that
stream; ``ben sink --ack STATE`` downstream keeps the furthest N it holds durably per ID in
``STATE.ack`` (:mod:`ben_cli.acks`), and drops a record at or below it. The listener reads that
file (a ``stat`` per :data:`POLL`, a read only when it changed) and sends ACK up to it, not up to
what it wrote. At a restart its high-water marks start from the same file, so records that were
in the dead pipe are asked for again, and the sink's positions drop any it did hold.

The edge's own mark (its file, its offsets) is kept whole under ``from``.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ben_cli import acks

POLL = 0.05  # seconds between looks at the sink's file; with the ACK that follows, inside ACK_WITHIN
PREFIX = "bee."


def stream_input(static: bytes, stream: bytes) -> str:
    """The input id of a (peer's static key, stream id): 16 bytes of BLAKE2b over both, so two
    peers that pick the same stream id (or one that copies another's) never share positions."""
    return PREFIX + hashlib.blake2b(static + stream, digest_size=16).hexdigest()


class Committed:
    """The sink's committed positions, reread when its file changes (at most every ``poll`` s)."""

    def __init__(self, state: Path, poll: float = POLL, clock: Callable[[], float] = time.monotonic):
        self.path = acks.ack_path(state)
        self.poll = poll
        self.inputs: dict[str, list[int]] = {}
        self._seen: tuple[int, int, int] | None = None
        self._checked = float("-inf")
        self._clock = clock
        self._mu = threading.Lock()
        self.refresh()

    def refresh(self) -> None:
        """Reread the file if it was replaced or changed since the last look (StateError when it
        is not an acknowledgements file)."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return
        seen = (st.st_ino, st.st_mtime_ns, st.st_size)
        if seen != self._seen:
            inputs, _ = acks.load(self.path)
            acks.merge(self.inputs, inputs)  # positions only move forward
            self._seen = seen

    def get(self, input_id: str) -> int:
        """The highest sequence number of ``input_id`` the sink holds (0: none), at most ``poll`` old."""
        with self._mu:
            now = self._clock()
            if now - self._checked >= self.poll:
                self._checked = now
                self.refresh()
            pos = self.inputs.get(input_id)
        return pos[0] if pos is not None else 0

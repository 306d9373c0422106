"""A batch: the records the sink stores together, as they travel from the reader to the target.

A batch is spooled as one file, sent as one insert, and confirmed (or replayed) as a whole, so it
carries everything its delivery needs: the lines as read, their rows in the target's form, where
each line came from (for rejects), how far into each input it reaches (for resuming), and the
time span of its rows (to narrow the check for rows a server already has).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ben_cli.sink.rows import JsonLines, RowBuilder, RowList


@dataclass
class BatchLimits:
    """A batch closes at whichever comes first: ``rows``, ``bytes`` of NDJSON, or ``age`` seconds
    since its first record."""

    rows: int = 100_000
    bytes: int = 32 << 20
    age: float = 1.0


# A batch's rows as its target keeps them until it is sent: the rows themselves (native insert),
# their JSONEachRow lines (HTTP), or nothing (a file needs only the lines).
RowsFactory = Callable[[], RowList | JsonLines] | None


@dataclass
class Converted:
    """What became of some consecutive lines of a batch, converted apart from it (a worker's
    chunk, or a spooled batch replayed)."""

    rows: RowList | JsonLines
    bad: list[tuple[int, str]] = field(default_factory=list)  # (row number in the batch, reason)
    ts_low: int = 2**63
    ts_high: int = -(2**63)
    path: str | None = None  # where a worker left the JSON lines (``rows.ends`` says where each ends)


@dataclass
class Batch:
    batch_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    lines: list[bytes] = field(default_factory=list)
    rows: RowList | JsonLines | None = None
    origins: list[tuple[str, int]] = field(default_factory=list)  # (file, line number) of each line
    inputs: dict = field(default_factory=dict)  # Input -> offset while filling; key -> position once closed
    nbytes: int = 0
    started: float = 0.0
    ts_low: int = 2**63  # the rows' earliest and latest ts_ns (to narrow the check for stored rows)
    ts_high: int = -(2**63)
    bad: list[tuple[int, str]] = field(default_factory=list)  # lines found unstorable after spooling
    converting: Any = None  # the workers' pending conversions, one per chunk (HTTP target)
    acks: dict[str, list[int]] = field(default_factory=dict)  # --ack: input id -> [offset, line] reached

    def note_converted(self, converted: Converted) -> None:
        """Note what converting some of the batch's lines found: unstorable lines, the time span."""
        self.bad += converted.bad
        self.ts_low, self.ts_high = min(self.ts_low, converted.ts_low), max(self.ts_high, converted.ts_high)

    def add_record(self, builder: RowBuilder, rec: dict, lineno: int, file: str) -> None:
        """Convert a record into the batch's rows (or, without rows, only check it); a record the
        table cannot hold raises BadRecord and leaves the batch as it was."""
        if self.rows is not None:
            ts = self.rows.add_record(builder, rec, self.batch_id, lineno, file)
        else:
            ts = builder.ts_ns(rec, lineno, file)  # a file stores the line: only its time is checked
        if ts < self.ts_low:
            self.ts_low = ts
        if ts > self.ts_high:
            self.ts_high = ts

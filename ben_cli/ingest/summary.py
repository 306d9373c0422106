"""What a ``ben ingest`` run reports: the one summary line, and a line per format when an input
mix had several."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TextIO

from ben_cli.rejects import Rejects, Summary


@dataclass
class FormatStats:
    """Per-format counts: lines read, records emitted, lines rejected."""

    read: int = 0
    emitted: int = 0
    rejected: int = 0


@dataclass
class IngestSummary(Summary):
    """The run's counts (``read`` is non-blank lines read) and their breakdown by format."""

    stage: str = "ingest"
    formats: dict[str, FormatStats] = field(default_factory=dict)

    def add(self, fmt: str, read: int, emitted: int, rejected: int) -> None:
        stats = self.formats.setdefault(fmt, FormatStats())
        stats.read += read
        stats.emitted += emitted
        stats.rejected += rejected
        self.read += read

    def report(self, stream: TextIO, rejects: Rejects | None = None) -> None:
        if len(self.formats) > 1:
            for name, stats in self.formats.items():
                stream.write(f"ben ingest: {name}: read {stats.read}, emitted {stats.emitted}, "
                             f"rejected {stats.rejected}\n")
        super().report(stream, rejects)

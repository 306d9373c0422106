"""What a ``ben ingest`` run reports: the one summary line, and a line per format when an input
mix had several."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TextIO

from ben_cli.errors import BenError
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
    # inputs that could not be read, or not to their end, each with why (the run then exits 1)
    failed: list[str] = field(default_factory=list)
    # records whose time is the time of reading (no time of their own could be read)
    read_time: int = 0

    def fail(self, why: str) -> None:
        self.failed.append(why)

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
        if self.read_time:
            n = self.read_time
            stream.write(f"ben ingest: {n} record{' without a time of its own' if n == 1 else 's without a time of their own'} "
                         "(given the time of reading, marked _ingest.ts: \"read\")\n")
        if self.read and self.rejected == self.read:
            stream.write("ben ingest: warning: every line was rejected (is the format right? see --format)\n")
        for why in self.failed:
            stream.write(f"ben ingest: {why}\n")
        stream.flush()

    def failure(self, max_reject_share: float | None = None, quiet: bool = False) -> BenError | None:
        """The error the run ends with (exit 1), or None: an input not read to its end, or more
        of the lines rejected than ``max_reject_share`` allows."""
        if self.failed:
            n = len(self.failed)
            if quiet:
                return BenError("; ".join(self.failed))
            return BenError(f"{n} input{' was' if n == 1 else 's were'} not read to the end (see above)")
        if max_reject_share is not None and self.read and self.rejected > max_reject_share * self.read:
            return BenError(f"rejected {self.rejected} of {self.read} lines ({100 * self.rejected / self.read:.3g}%), "
                            f"over --max-reject-share {100 * max_reject_share:.3g}%")
        return None

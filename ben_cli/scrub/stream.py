"""``ben scrub`` over NDJSON inputs: one output line per input line, in order, or a reject.

The shared reader hands the scrubber each line with its record, so the byte-level fast path of
:meth:`Scrubber.feed_lines` can reuse a clean line's own bytes. A line that is not a JSON object,
or whose record cannot be scrubbed safely, goes to the rejects with its reason and is never
written to the output.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ben_cli.ndjson import DEFAULT_MAX_LINE_BYTES, Reader, Writer
from ben_cli.rejects import Rejects, Summary
from ben_cli.scrub.policy import Policy, load_policy
from ben_cli.scrub.scrubber import Scrubber


@dataclass(frozen=True)
class ScrubOptions:
    """How a ``ben scrub`` run scrubs: the policy (or its TOML file; None: the default), the
    pseudonym key (bytes or a 0600 key file; None: the one under ``$BEN_HOME``), and ``dry_run``
    (``--report``: pass records unchanged, count what would be scrubbed)."""

    policy: Policy | Path | None = None
    key: bytes | Path | None = None
    dry_run: bool = False
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES


@dataclass
class ScrubSummary(Summary):
    """The run's counts, and with ``dry_run`` what was found per (entity, field path)."""

    findings: Counter[tuple[str, str]] = field(default_factory=Counter)


def run(inputs: Sequence[str], writer: Writer, rejects: Rejects, options: ScrubOptions) -> ScrubSummary:
    """Scrub every record of ``inputs`` to ``writer``, bad lines to ``rejects``."""
    policy = options.policy if isinstance(options.policy, Policy) else load_policy(options.policy)
    reader = Reader(inputs, rejects.add, max_line_bytes=options.max_line_bytes)
    scrubber = Scrubber(policy, key=options.key, dry_run=options.dry_run, on_reject=reader.reject)
    write_line = writer.write_line
    for line in scrubber.feed_lines(reader.pairs()):
        write_line(line)
    writer.write_all(scrubber.flush())
    writer.flush()
    return ScrubSummary("scrub", read=reader.read, written=writer.count, rejected=rejects.count,
                        findings=scrubber.findings)

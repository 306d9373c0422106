"""``ben narrate`` over files or stdin: the one read loop around the :class:`Narrator` core."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ben_cli.errors import BenError
from ben_cli.narrate.layout import render
from ben_cli.narrate.narrator import Narrator
from ben_cli.narrate.options import Options
from ben_cli.narrate.report import Report
from ben_cli.ndjson import Reader, Writer
from ben_cli.rejects import Rejects, Summary
from ben_cli.stage import fed_then_flushed


class VerdictFailure(BenError):
    """The verdict is one ``--fail-on`` names: exit status 1, after the report is out."""


@dataclass
class NarrateSummary(Summary):
    """The counts, and the verdicts reached (one per window when streaming)."""

    verdicts: set[str] = field(default_factory=set)


def check_verdict(summary: NarrateSummary, options: Options) -> None:
    """Raise :class:`VerdictFailure` when a verdict reached is one ``options.fail_on`` names."""
    from ben_cli.narrate.report import VERDICT_LABEL, VERDICTS

    failed = [v for v in VERDICTS if v in summary.verdicts and v in options.fail_on]
    if failed:
        worst = VERDICT_LABEL[failed[-1]].upper()
        raise VerdictFailure(f"verdict {worst}, one --fail-on names: exit status 1")


def read_rejected(paths: Iterable[str]) -> dict[str, dict[str, int]]:
    """Counts by stage and reason from ``--rejects`` files written by earlier stages."""
    counts: dict[str, dict[str, int]] = {}

    def bump(stage: str, reason: str) -> None:
        by_reason = counts.setdefault(stage, {})
        by_reason[reason] = by_reason.get(reason, 0) + 1

    for rec in Reader(list(paths), lambda bad: bump("unknown", "unreadable rejects line")).records():
        stage, reason = rec.get("stage"), rec.get("reason")
        bump(stage if isinstance(stage, str) else "unknown",
             reason.split(":", 1)[0] if isinstance(reason, str) else "no reason given")
    return counts


def run(inputs: list[str], writer: Writer, rejects: Rejects, options: Options, *,
        show: Callable[[Report], None] | None = None) -> NarrateSummary:
    """Narrate the inputs: with ``options.every_ns`` the records and their narratives go to
    ``writer``; otherwise one report over the whole range is rendered in ``options.format`` onto
    the writer's stream, or handed to ``show`` (a terminal that colours it)."""
    narrator = Narrator(options, rejected=read_rejected(options.rejected_files) if options.rejected_files else None)
    reader = Reader(inputs, rejects.add)
    summary = NarrateSummary("narrate")
    if options.every_ns is not None and options.state is not None:
        _run_resumed(narrator, reader, writer, options.state, summary)
    elif options.every_ns is not None:
        writer.write_all(fed_then_flushed(narrator, reader.records()))
        summary.written = writer.count
        summary.extra["narratives"] = narrator.narratives
        summary.verdicts = narrator.verdicts or {"nodata"}
    else:
        for _ in narrator.feed(reader.records()):
            pass
        report = narrator.report(own_rejects=rejects.count)
        if show is not None:
            show(report)
        else:
            writer.stream.write(render(report, options.format).encode("utf-8"))
        writer.flush()
        summary.written = 1  # one report
        summary.extra.update({"anomalies": report.flagged, "incidents": len(report.incidents)})
        summary.verdicts = {report.verdict}
    summary.read = reader.read
    summary.rejected = rejects.count
    return summary


def _run_resumed(narrator: Narrator, reader: Reader, writer: Writer, state: str, summary: NarrateSummary) -> None:
    """``--every --state``: blocks of output, each after the state that counted it is saved."""
    from pathlib import Path

    from ben_cli.atomic import exclusive_lock
    from ben_cli.narrate.resume import Resume, blocks

    path = Path(state)
    with exclusive_lock(path, "another ben narrate"):
        resume = Resume(narrator, path)
        for block in blocks(resume, reader.records()):
            writer.write_all(block)
            writer.flush()
    summary.written = writer.count
    summary.extra["narratives"] = narrator.narratives
    if resume.replayed:
        summary.extra["seen before"] = resume.replayed
    summary.verdicts = narrator.verdicts or ({"nodata"} if reader.read == 0 else set())

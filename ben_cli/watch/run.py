"""``ben watch`` from its options to its end: the text summary, the SVG snapshot, or the dashboard.

The three modes count the same way (one :class:`~ben_cli.watch.source.Pump` into one
:class:`~ben_cli.watch.stats.Stats`); they differ in when they stop reading and what they show.
``--once`` and ``--snapshot`` read the input to its end (a followed file: to its end so far) and
need no terminal; the dashboard reads until the input ends or ``q``, and needs one.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

from ben_cli.errors import UsageError
from ben_cli.rejects import Summary
from ben_cli.units import parse_duration
from ben_cli.watch import read, reader, text
from ben_cli.watch.stats import Limits, Stats
from ben_cli.watch.terminal import need_terminal, reclaim_keyboard, reclaim_size


@dataclass
class WatchOptions:
    source: str = "-"  # "-": stdin; else a file or a ClickHouse URL
    follow: bool = False
    since: str | None = None
    tee: bool = False
    once: bool = False
    snapshot: Path | None = None
    size: tuple[int, int] = (120, 40)
    window_s: float = 300.0
    refresh_s: float = 0.5

    @classmethod
    def from_flags(cls, *, source: str | None, follow: bool, since: str | None, tee: bool, once: bool,
                   snapshot: Path | None, size: str, window: str, refresh: str) -> WatchOptions:
        """Options from the flags' text; a combination that cannot work is a usage error."""
        if once and snapshot is not None:
            raise UsageError("--once and --snapshot: choose one (text or a picture)")
        if once and tee:
            raise UsageError("--once and --tee both write to stdout: choose one")
        if follow and (source in (None, "-")):
            raise UsageError("--follow: only with --from FILE or a ClickHouse URL (a pipe follows by itself)")
        cols, x, rows = size.lower().partition("x")
        if not (x and cols.isdigit() and rows.isdigit() and 40 <= int(cols) <= 500 and 10 <= int(rows) <= 200):
            raise UsageError(f"--size: COLUMNSxROWS between 40x10 and 500x200, not {size!r}")
        try:
            window_s, refresh_s = parse_duration(window), parse_duration(refresh)
        except ValueError as exc:
            raise UsageError(f"--window/--refresh: {exc}") from None
        if window_s <= 0 or not 0.05 <= refresh_s <= 60:
            raise UsageError("--window must be positive and --refresh between 50ms and 1m")
        return cls(source or "-", follow, since, tee, once, snapshot, (int(cols), int(rows)), window_s, refresh_s)


def _tee_stream(options: WatchOptions) -> BinaryIO | None:
    if not options.tee:
        return None
    if os.isatty(1) and not (options.once or options.snapshot):
        raise UsageError("--tee: stdout is the terminal the dashboard draws on; send it down a pipe or to a file")
    return sys.stdout.buffer


def run(options: WatchOptions, out: TextIO) -> Summary:
    """Watch as the options say; ``out`` takes the ``--once`` summary. Returns the counts."""
    whole = options.once or options.snapshot is not None
    # Read to its end, the input is judged whole: the narrator sees every record (no per-second
    # sample), so the same input gives the same summary however fast it was read.
    stats = Stats(Limits(narrated_per_s=sys.maxsize) if whole else None, window_s=options.window_s)
    source: str | int = 0 if options.source == "-" else options.source
    tee = _tee_stream(options)
    if whole:
        read(stats, source, tee=tee, since=options.since)
        if options.once:
            out.write(text.summary(stats.snapshot()))
        else:
            from ben_cli.watch.app import snapshot_svg

            snapshot_svg(stats, options.snapshot, options.size, _label(options))  # type: ignore[arg-type]
    else:
        _live(stats, source, options, tee)
    return Summary("watch", read=stats.total + stats.rejected, written=stats.total if tee else 0,
                   rejected=stats.rejected, extra={"anomalies": stats.anomaly_total})


def _label(options: WatchOptions) -> str:
    return "stdin" if options.source == "-" else options.source


def _live(stats: Stats, source: str | int, options: WatchOptions, tee: BinaryIO | None) -> None:
    need_terminal()
    data = reclaim_keyboard(keep_data=source == 0)
    out = reclaim_size(keep_data=tee is not None)
    if out is not None:
        tee = os.fdopen(out, "wb")
    # shutil (which textual asks) prefers COLUMNS and LINES to the terminal: a stale export would
    # pin the dashboard to the wrong size and make it deaf to resizes
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)
    if source == 0:
        if data is None:
            raise UsageError("no input: stdin is the terminal; pipe records in or name them with --from FILE")
        source = data
    import threading

    failures: list[Exception] = []
    stop = threading.Event()
    read_all = reader(stats, source, stop, follow=options.follow, tee=tee, since=options.since, on_error=failures.append)
    from ben_cli.watch.app import WatchApp

    app = WatchApp(stats, reader=read_all, refresh_s=options.refresh_s, source=_label(options), stop=stop)
    app.run()
    if failures:
        raise failures[0]

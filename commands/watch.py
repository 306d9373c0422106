"""``ben watch``: the live terminal dashboard of the stream (textual loads only here)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from ._common import QuietOpt

app = typer.Typer()


@app.command()
def watch(
    source: Annotated[Optional[str], typer.Option(
        "--from", metavar="SOURCE",
        help="Read FILE (gzip too) or poll a table ben sink writes (clickhouse://HOST:PORT/DB[?table=T], "
             "clickhouse+http://...) instead of stdin.")] = None,
    follow: Annotated[bool, typer.Option("--follow", help="Keep reading what FILE gains (as tail -F), or keep polling the table.")] = False,
    since: Annotated[Optional[str], typer.Option(metavar="TIME", help="With a ClickHouse URL: records from this time on (RFC 3339; default: the last 5 minutes).")] = None,
    tee: Annotated[bool, typer.Option("--tee", help="Pass the input on to stdout unchanged, so watch can sit in the middle of a pipeline.")] = False,
    once: Annotated[bool, typer.Option("--once", help="Read the input to its end and print a plain-text summary instead of the dashboard (no terminal needed).")] = False,
    snapshot: Annotated[Optional[Path], typer.Option(metavar="FILE.svg", help="Read the input to its end (so far), draw the dashboard once into an SVG file and exit.")] = None,
    size: Annotated[str, typer.Option(metavar="COLSxROWS", help="The terminal size --snapshot draws at.")] = "120x40",
    window: Annotated[str, typer.Option(metavar="DURATION", help="The window narrate's engine judges for the incidents panel and the verdict.")] = "5m",
    refresh: Annotated[str, typer.Option(metavar="DURATION", help="How often the dashboard is drawn (counting never waits for it).")] = "500ms",
    quiet: QuietOpt = False,
) -> None:
    """Watch the stream live in a terminal dashboard.

    Panels: records per second by lane and severity, top sources and names, anomalies,
    incidents in plain sentences with the verdict, a chart of a series, scrub marks and rejects.

    Reads NDJSON envelopes from stdin (a pipe: keys then come from the terminal), a file or a
    ClickHouse table. Every record is counted exactly; the screen is redrawn on a timer from
    what was counted. Keys: / filter, p pause, a anomalies or all records, enter the record in
    full, tab next panel, 1-5 a panel, ? help, q quit.
    """
    from ben_cli.watch.run import WatchOptions, run

    options = WatchOptions.from_flags(source=source, follow=follow, since=since, tee=tee, once=once,
                                      snapshot=snapshot, size=size, window=window, refresh=refresh)
    summary = run(options, sys.stdout)
    if not quiet:
        if snapshot is not None:
            sys.stderr.write(f"ben watch: snapshot written to {snapshot}\n")
        summary.report(sys.stderr)

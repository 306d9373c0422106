"""``ben narrate``: plain-language health reports from the stream.

Two ways to run it:

- :func:`report` reads everything (or ``--since``/``--until``) and returns one :class:`Report`,
  which :func:`render` lays out as text, Markdown, HTML or JSON;
- :func:`stream` passes records through and, at the end of each ``--every`` window, writes a
  narrative record (lane ``event``, name ``ben.narrative``, the text in ``body``, the verdict
  and the incidents in flat ``attrs``) into the same stream.

The same input always gives the same report, byte for byte: series, episodes and incidents are
ordered by their keys and times, never by hash order or arrival races.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ben_cli.narrate.collect import NARRATIVE_NAME, Collector
from ben_cli.narrate.episodes import BASELINE_POINTS
from ben_cli.narrate.report import Options, Report, build
from ben_cli.ndjson import BadRecord, Writer, iter_records
from ben_cli.record import format_ts
from ben_cli.rejects import Summary

__all__ = ["FORMATS", "Options", "Report", "narrative_record", "read_rejected", "render", "report", "stream"]

FORMATS = ("text", "markdown", "html", "json")
VERDICT_SEVERITY = {"healthy": "info", "degraded": "warn", "incident": "error"}


def read_rejected(paths: Iterable[str]) -> dict[str, dict[str, int]]:
    """Counts by stage and reason from ``--rejects`` files written by earlier stages."""
    counts: dict[str, dict[str, int]] = {}

    def bump(stage: str, reason: str) -> None:
        by_reason = counts.setdefault(stage, {})
        by_reason[reason] = by_reason.get(reason, 0) + 1

    for rec in iter_records(list(paths), on_error=lambda bad: bump("unknown", "unreadable rejects line")):
        stage = rec.get("stage") if isinstance(rec.get("stage"), str) else "unknown"
        reason = rec.get("reason") if isinstance(rec.get("reason"), str) else "no reason given"
        bump(stage, reason.split(":", 1)[0])
    return counts


def report(paths: list[str], options: Options | None = None, *, on_error: Callable[[BadRecord], None] | None = None,
           rejected: dict[str, dict[str, int]] | None = None, own_rejects: Callable[[], int] = lambda: 0,
           summary: Summary | None = None) -> Report:
    """Read the inputs and judge them: one report over the whole range."""
    o = options or Options()
    c = Collector(o.since_ns, o.until_ns)
    add = c.add
    read = 0
    for rec in iter_records(paths, on_error=on_error):
        add(rec)
        read += 1
    r = build(c, o, rejected=rejected, own_rejects=own_rejects())
    if summary is not None:
        summary.read += read
        summary.extra.update({"anomalies": r.flagged, "incidents": len(r.incidents)})
    return r


def render(r: Report, fmt: str) -> str:
    """The report in one of :data:`FORMATS`."""
    from ben_cli.narrate import layout

    if fmt == "text":
        return layout.text(r)
    if fmt == "markdown":
        return layout.markdown(r)
    if fmt == "json":
        return layout.json_text(r)
    if fmt == "html":
        from ben_cli.narrate.html import html

        return html(r)
    raise ValueError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")


def narrative_record(r: Report, window_end_ns: int) -> dict:
    """The envelope a streaming window ends with. ``attrs`` stays a flat map (the envelope's
    rule), so each incident's fields are numbered: ``incident.1.title``, ``incident.1.sources``."""
    from ben_cli.narrate import layout

    attrs: dict[str, object] = {
        "verdict": r.verdict, "why": r.why, "window_start": format_ts(r.start_ns or 0),
        "window_end": format_ts(window_end_ns), "partial": r.partial, "records": r.records,
        "anomalies": r.flagged, "incidents": len(r.incidents),
    }
    for n in r.incidents:
        inc, p = n.incident, f"incident.{n.incident.number}."
        attrs.update({
            p + "title": n.title, p + "text": n.text, p + "grade": inc.grade, p + "severity": inc.severity,
            p + "start": format_ts(inc.start_ns), p + "end": format_ts(inc.end_ns),
            p + "sources": ",".join(inc.sources), p + "series": ",".join(ep.series.key for ep in inc.episodes),
        })
    return {"ts": format_ts(window_end_ns), "lane": "event", "source": "ben.narrate", "name": NARRATIVE_NAME,
            "severity": VERDICT_SEVERITY[r.verdict], "body": layout.text(r), "attrs": attrs}


def stream(paths: list[str], writer: Writer, every_ns: int, options: Options | None = None, *,
           on_error: Callable[[BadRecord], None] | None = None,
           rejected: dict[str, dict[str, int]] | None = None, summary: Summary | None = None) -> int:
    """Pass every record through; after each window of ``every_ns`` (aligned to the epoch, so
    windows are the same whatever the first record) write its narrative. Returns how many
    narratives were written. A record that arrives late, after its window was narrated, counts
    in the window open at the time."""
    o = options or Options()
    c = Collector(o.since_ns, o.until_ns)
    current: int | None = None
    narratives = read = 0

    def close(window: int, partial: bool) -> None:
        nonlocal narratives
        start, end = window * every_ns, (window + 1) * every_ns
        r = build(c, o, rejected=rejected, window=(start, end), partial=partial)
        writer.write(narrative_record(r, end))
        narratives += 1

    for rec in iter_records(paths, on_error=on_error):
        ns = c.ns_of(rec.get("ts"))
        if ns is not None and rec.get("name") != NARRATIVE_NAME:
            window = ns // every_ns
            if current is None:
                current = window
            elif window > current:
                close(current, partial=False)
                following = Collector(o.since_ns, o.until_ns)
                following.carry_context(c, BASELINE_POINTS)
                c, current = following, window
        writer.write(rec)
        c.add(rec)
        read += 1
    if current is not None:
        close(current, partial=True)
    if summary is not None:
        summary.read += read
        summary.written = writer.count
        summary.extra["narratives"] = narratives
    return narratives

"""Laying a report out as plain text, Markdown or JSON (HTML is in ``html.py``).

Text comes out as ``(style, line)`` pairs so that the command can colour it on a terminal (the
library never imports rich) and print it plainly everywhere else. Nothing here judges or words
anything: that is ``report.py``'s and ``wording.py``'s job.
"""

from __future__ import annotations

import textwrap

import orjson

from ben_cli.narrate.episodes import Episode
from ben_cli.narrate.humanize import clock, count, day_of, duration, plural, rate, share
from ben_cli.narrate.options import FORMATS
from ben_cli.narrate.report import Report
from ben_cli.record import format_ts

WIDTH = 100
MAX_VOLUME_ROWS = 25


def range_text(r: Report) -> str:
    """``25 Nov 2026, 10:00 to 11:00 UTC (1 hour)``; the date twice when it spans days."""
    if r.start_ns is None or r.end_ns is None:
        return "no records"
    secs = any(t % 60_000_000_000 for t in (r.start_ns, r.end_ns))
    if day_of(r.start_ns) == day_of(r.end_ns):
        day = clock(r.start_ns, date=True).rsplit(" ", 1)[0]
        text = f"{day}, {clock(r.start_ns, seconds=secs)} to {clock(r.end_ns, seconds=secs)} UTC"
    else:
        text = f"{clock(r.start_ns, seconds=secs, date=True)} to {clock(r.end_ns, seconds=secs, date=True)} UTC"
    return text + (f" ({duration(r.span_s)})" if r.span_s >= 1 else "")


def watched_text(r: Report) -> str:
    """``Watched 3 series (180 readings judged by ben detect) over 59 minutes.``: what the verdict rests on."""
    if not r.watched:
        return "Watched no series: no record carried a mark of ben detect."
    span = f" over {duration(r.span_s)}" if r.span_s >= 1 else ""
    return (f"Watched {plural(r.watched, 'series', 'series')} ({plural(r.watched_points, 'reading')} judged by "
            f"ben detect){span}.")


def noise_text(r: Report) -> str:
    if not r.noise:
        return ""
    n = sum(ep.flags for ep in r.noise)
    series = len({ep.series.key for ep in r.noise})
    return (f"Not narrated: {plural(n, 'anomalous reading')} in {plural(series, 'series', 'series')} that "
            f"stayed small (under {round(100 * r.min_change)}% of the usual value) or lasted a single reading.")


def volume_cells(r: Report) -> list[list[str]]:
    rows = []
    for row in sorted(r.volume, key=lambda row: (-row.records, row.source, row.lane))[:MAX_VOLUME_ROWS]:
        errors = share(row.errors, row.records) + (f" ({row.trend})" if row.trend else "")
        warnings = share(row.warnings, row.records) + (f" ({row.warn_trend})" if row.warn_trend else "")
        rows.append([row.source, row.lane, count(row.records), rate(row.records, max(r.span_s, 1.0)), warnings, errors])
    return rows


def lanes_text(r: Report) -> str:
    total = sum(r.lanes.values())
    return ", ".join(f"{lane} {count(n)} ({share(n, total)})" for lane, n in r.lanes.items())


def scrubbed_text(r: Report) -> str:
    if not r.scrubbed_records:
        return ""
    ents = ", ".join(f"{name} {count(n)}" for name, n in r.entities.items())
    return (f"{plural(r.scrubbed_records, 'record')} carried personal data or secrets, redacted by scrub: "
            f"{ents}.")


def rejected_text(r: Report) -> str:
    parts = []
    for stage, reasons in sorted(r.rejected.items()):
        total = sum(reasons.values())
        detail = ", ".join(f"{reason} {count(n)}" for reason, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))
        parts.append(f"{stage} rejected {plural(total, 'line')} ({detail})")
    if r.own_rejects:
        parts.append(f"narrate could not read {plural(r.own_rejects, 'line')}")
    if r.untimed:
        parts.append(f"{plural(r.untimed, 'record')} had no readable time and were left out")
    return "; ".join(parts) + ("." if parts else "")


def _table(header: list[str], rows: list[list[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    fmt = lambda cells: indent + "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()  # noqa: E731
    return [fmt(header)] + [fmt(row) for row in rows]


VOLUME_HEADER = ["source", "lane", "records", "rate", "warnings", "errors"]


def text_lines(r: Report) -> list[tuple[str, str]]:
    """The report as styled lines: styles are title, verdict-<name>, heading, text and dim."""
    out: list[tuple[str, str]] = [("title", f"Health report: {range_text(r)}" + (" (window so far)" if r.partial else ""))]
    verdict = f"Verdict: {r.label.upper()}. {r.why}"
    out += [(f"verdict-{r.verdict}", line) for line in textwrap.wrap(verdict, WIDTH, subsequent_indent="  ")]
    out += [("dim", line) for line in textwrap.wrap(watched_text(r), WIDTH)]
    if r.incidents:
        out += [("text", ""), ("heading", "Incidents")]
        for n in r.incidents:
            inc = n.incident
            out.append(("text", f"  {inc.number}. {inc.grade} (severity {inc.severity:g}): {n.title}"))
            out += [("text", line) for line in textwrap.wrap(n.text, WIDTH, initial_indent="     ", subsequent_indent="     ")]
    if r.noise:
        out.append(("text", ""))
        out += [("dim", line) for line in textwrap.wrap(noise_text(r), WIDTH)]
    if r.volume:
        out += [("text", ""), ("heading", f"Volume and errors ({count(r.records)} records from {plural(len(r.sources), 'source')})")]
        out += [("text", line) for line in _table(VOLUME_HEADER, volume_cells(r))]
        if len(r.volume) > MAX_VOLUME_ROWS:
            out.append(("dim", f"  ... and {plural(len(r.volume) - MAX_VOLUME_ROWS, 'more row')}"))
        out.append(("text", f"  By lane: {lanes_text(r)}"))
    for heading, body in (("Scrubbed", scrubbed_text(r)), ("Rejected", rejected_text(r))):
        if body:
            out += [("text", ""), ("heading", heading)]
            out += [("text", line) for line in textwrap.wrap(body, WIDTH, initial_indent="  ", subsequent_indent="  ")]
    return out


def text(r: Report) -> str:
    return "\n".join(line for _, line in text_lines(r)) + "\n"


def _md_escape(s: str) -> str:
    return s.replace("|", "\\|").replace("*", "\\*").replace("_", "\\_")


def markdown(r: Report) -> str:
    out = [f"# Health report: {range_text(r)}" + (" (window so far)" if r.partial else ""), "",
           f"**Verdict: {r.label}.** {_md_escape(r.why)}", "", _md_escape(watched_text(r)), ""]
    if r.incidents:
        out += ["## Incidents", ""]
        for n in r.incidents:
            inc = n.incident
            out += [f"### {inc.number}. {_md_escape(n.title)}", "",
                    f"*{inc.grade}, severity {inc.severity:g}; sources: {', '.join(inc.sources)}*", "",
                    _md_escape(n.text), ""]
    if r.noise:
        out += [_md_escape(noise_text(r)), ""]
    if r.volume:
        out += ["## Volume and errors", "", f"{count(r.records)} records from {plural(len(r.sources), 'source')}; "
                f"by lane: {lanes_text(r)}.", ""]
        out += ["| " + " | ".join(VOLUME_HEADER) + " |", "|---|---|--:|--:|--:|--:|"]
        out += ["| " + " | ".join(_md_escape(c) for c in row) + " |" for row in volume_cells(r)]
        out.append("")
    for heading, body in (("Scrubbed", scrubbed_text(r)), ("Rejected", rejected_text(r))):
        if body:
            out += [f"## {heading}", "", _md_escape(body), ""]
    return "\n".join(out).rstrip("\n") + "\n"


def _num(x: float) -> float | None:
    if x != x or x in (float("inf"), float("-inf")):
        return None
    return round(x, 6)


def episode_data(ep: Episode) -> dict:
    s = ep.series
    return {
        "series": s.key, "source": s.source, "name": s.name, "unit": s.unit, "lane": s.lane,
        "kind": ep.kind, "direction": "up" if ep.direction > 0 else "down",
        "start": format_ts(ep.start_ns), "end": format_ts(ep.end_ns), "ongoing": ep.ongoing,
        "duration_s": _num((ep.end_ns - ep.start_ns) / 1e9),
        "baseline": _num(ep.baseline), "level": _num(ep.level), "peak": _num(ep.peak),
        "ratio": _num(ep.level / ep.baseline) if ep.baseline else None,
        "spread": _num(ep.sigma), "interval_s": _num(ep.interval_ns / 1e9),
        "flags": ep.flags, "peak_score": _num(ep.peak_score), "detectors": ep.detectors,
    }


def data(r: Report) -> dict:
    """The report for machines: every number exact, every time RFC 3339."""
    return {
        "range": {"start": format_ts(r.start_ns) if r.start_ns is not None else None,
                  "end": format_ts(r.end_ns) if r.end_ns is not None else None, "partial": r.partial},
        "verdict": r.verdict, "why": r.why, "records": r.records, "sources": r.sources, "series": r.series,
        "points": r.points, "anomalies": r.flagged, "watched": {"series": r.watched, "points": r.watched_points},
        "incidents": [{
            "number": n.incident.number, "grade": n.incident.grade, "severity": n.incident.severity,
            "title": n.title, "text": n.text, "start": format_ts(n.incident.start_ns),
            "end": format_ts(n.incident.end_ns), "ongoing": n.incident.ongoing, "sources": n.incident.sources,
            "errors": n.errors, "episodes": [episode_data(ep) for ep in n.incident.episodes],
        } for n in r.incidents],
        "noise": [episode_data(ep) for ep in r.noise],
        "volume": [{"source": v.source, "lane": v.lane, "records": v.records, "warnings": v.warnings,
                    "errors": v.errors, "error_share_halves": [_num(e / n) if n else None for n, e in v.halves],
                    "warning_share_halves": [_num(w / n) if n else None for (n, _), w in zip(v.halves, v.warn_halves, strict=True)],
                    "alert": v.alert} for v in r.volume],
        "lanes": r.lanes, "scrubbed": {"records": r.scrubbed_records, "entities": r.entities},
        "rejected": {"upstream": r.rejected, "narrate": r.own_rejects, "untimed": r.untimed},
    }


def json_text(r: Report) -> str:
    return orjson.dumps(data(r), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"


def render(r: Report, fmt: str) -> str:
    """The report in one of :data:`~ben_cli.narrate.options.FORMATS` (HTML's module loads only for it)."""
    if fmt == "text":
        return text(r)
    if fmt == "markdown":
        return markdown(r)
    if fmt == "json":
        return json_text(r)
    if fmt == "html":
        from ben_cli.narrate.html import html

        return html(r)
    raise ValueError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")

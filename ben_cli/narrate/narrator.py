"""The core of ``ben narrate``: one object that takes records and judges them.

A :class:`Narrator` is fed records, in as many batches as they come. Without a window it only
collects them, and :meth:`Narrator.report` judges everything fed so far. With a window
(``Options.every_ns``) it streams: every record is passed on, and at the end of each window (windows are aligned to the
epoch, so they are the same whatever the first record) the window's narrative record is yielded
in the stream before the record that opened the next window; :meth:`Narrator.flush` yields the
last, partial window's narrative. The same records give the same output however they are split
into batches.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ben_cli.narrate.collect import NARRATIVE_NAME, Collector
from ben_cli.narrate.episodes import BASELINE_POINTS
from ben_cli.narrate.options import Options
from ben_cli.narrate.report import Report, build
from ben_cli.record import format_ts

VERDICT_SEVERITY = {"nodata": "warn", "unknown": "info", "healthy": "info", "degraded": "warn", "incident": "error"}


class Narrator:
    """Collects records for a report, or (with ``options.every_ns``) passes them on with a narrative per window.

    ``rejected`` is what earlier stages rejected, by stage and reason, for the report's last
    section. A record that arrives late, after its window was narrated, counts in the window open
    at the time."""

    def __init__(self, options: Options | None = None, *, rejected: dict[str, dict[str, int]] | None = None):
        self.options = options or Options()
        self.every_ns = self.options.every_ns
        self.rejected = rejected or {}
        self.collector = Collector(self.options.since_ns, self.options.until_ns)
        self.window: int | None = None  # the open window's number (streaming)
        self.narratives = 0
        self.verdicts: set[str] = set()  # of the windows narrated so far (streaming)

    def feed(self, records: Iterable[dict]) -> Iterator[dict]:
        """Report mode: collect and yield nothing. Streaming: yield every record, and each
        finished window's narrative before the first record of the next."""
        every = self.every_ns
        c = self.collector
        add = c.add
        if every is None:
            for rec in records:
                add(rec)
            return
        ns_of, window = c.ns_of, self.window
        for rec in records:
            ns = ns_of(rec.get("ts"))
            if ns is not None and rec.get("name") != NARRATIVE_NAME:
                if window is None:
                    window = self.window = ns // every
                elif ns // every > window:
                    yield self._narrative(window, partial=False)
                    following = Collector(self.options.since_ns, self.options.until_ns)
                    following.carry_context(c, BASELINE_POINTS)
                    c = self.collector = following
                    add, ns_of = c.add, c.ns_of
                    window = self.window = ns // every
            yield rec
            add(rec)

    def flush(self) -> Iterator[dict]:
        """Streaming: the narrative of the window still open (marked partial). Report mode: nothing."""
        if self.every_ns is not None and self.window is not None:
            window, self.window = self.window, None
            yield self._narrative(window, partial=True)

    def report(self, own_rejects: int = 0) -> Report:
        """One report over everything fed (``own_rejects``: lines this run could not read)."""
        return build(self.collector, self.options, rejected=self.rejected, own_rejects=own_rejects)

    def _narrative(self, window: int, partial: bool) -> dict:
        assert self.every_ns is not None
        start, end = window * self.every_ns, (window + 1) * self.every_ns
        r = build(self.collector, self.options, rejected=self.rejected, window=(start, end), partial=partial)
        self.narratives += 1
        self.verdicts.add(r.verdict)
        return narrative_record(r, end)


def narrative_record(r: Report, window_end_ns: int) -> dict:
    """The envelope a streaming window ends with. ``attrs`` stays a flat map (the envelope's
    rule), so each incident's fields are numbered: ``incident.1.title``, ``incident.1.sources``."""
    from ben_cli.narrate import layout

    attrs: dict[str, object] = {
        "verdict": r.verdict, "why": r.why, "window_start": format_ts(r.start_ns or 0),
        "window_end": format_ts(window_end_ns), "partial": r.partial, "records": r.records,
        "anomalies": r.flagged, "incidents": len(r.incidents), "watched": r.watched,
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

"""The report as data: range, verdict and why, incidents with their sentences, volume, scrub
marks and rejects. Renderers (text, Markdown, HTML, JSON) only lay this out; every judgement
and every sentence is made here once, so all formats say the same thing.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

from ben_cli.narrate.collect import BUCKET_NS, Collector
from ben_cli.narrate.episodes import Episode, analyse
from ben_cli.narrate.humanize import count, day_of, duration, join_words, plural, share
from ben_cli.narrate.incidents import Incident, group
from ben_cli.narrate.options import Options
from ben_cli.narrate.wording import TimeStyle, incident_sentences, incident_title
from ben_cli.record import NS_PER_S

# The verdicts, mildest first; "nodata" and "unknown" say the report could not judge.
VERDICTS = ("nodata", "unknown", "healthy", "degraded", "incident")
VERDICT_LABEL = {"nodata": "no data", "unknown": "unknown", "healthy": "healthy", "degraded": "degraded",
                 "incident": "incident"}
ERROR_SHARE_ALERT = 0.05  # a source whose error share reaches 5% and at least doubled is news
MIN_RECORDS_FOR_SHARE = 20


@dataclass
class VolumeRow:
    source: str
    lane: str
    records: int
    warnings: int
    errors: int
    halves: tuple[tuple[int, int], tuple[int, int]]  # (records, errors) in each half of the range
    trend: str = ""  # "up from 0.4%" when the error share changed notably
    alert: bool = False
    warn_halves: tuple[int, int] = (0, 0)  # warnings in each half
    warn_trend: str = ""


@dataclass
class NarratedIncident:
    incident: Incident
    title: str
    sentences: list[str]
    errors: dict[str, int]

    @property
    def text(self) -> str:
        return " ".join(self.sentences)


@dataclass
class Report:
    start_ns: int | None
    end_ns: int | None
    records: int
    sources: list[str]
    series: int
    points: int
    flagged: int
    verdict: str
    why: str
    incidents: list[NarratedIncident]
    noise: list[Episode]
    volume: list[VolumeRow]
    lanes: dict[str, int]
    entities: dict[str, int]
    scrubbed_records: int
    rejected: dict[str, dict[str, int]] = field(default_factory=dict)
    own_rejects: int = 0
    untimed: int = 0
    partial: bool = False
    watched: int = 0  # series ben detect judged in the range
    watched_points: int = 0  # their points it judged
    min_change: float = 0.2
    style: TimeStyle = field(default_factory=TimeStyle)

    @property
    def label(self) -> str:
        """The verdict as words: ``no data``, ``healthy``."""
        return VERDICT_LABEL[self.verdict]

    @property
    def span_s(self) -> float:
        if self.start_ns is None or self.end_ns is None:
            return 0.0
        return (self.end_ns - self.start_ns) / NS_PER_S


def _volume(c: Collector, start: int, end: int) -> list[VolumeRow]:
    mid_bucket = (start + (end - start) // 2) // BUCKET_NS
    rows = []
    for (source, lane), vol in sorted(c.volume.items()):
        n = warn = err = 0
        halves = [[0, 0, 0], [0, 0, 0]]  # records, warnings, errors
        for bucket, (bn, bw, be) in vol.buckets.items():
            n, warn, err = n + bn, warn + bw, err + be
            half = halves[0 if bucket < mid_bucket else 1]
            half[0] += bn
            half[1] += bw
            half[2] += be
        (n1, w1, e1), (n2, w2, e2) = halves
        row = VolumeRow(source, lane, n, warn, err, ((n1, e1), (n2, e2)), warn_halves=(w1, w2))
        if n1 >= MIN_RECORDS_FOR_SHARE and n2 >= MIN_RECORDS_FOR_SHARE:
            row.trend, row.alert = _share_change(e1, n1, e2, n2)
            row.warn_trend, _ = _share_change(w1, n1, w2, n2)
        rows.append(row)
    return rows


def _share_change(a: int, n1: int, b: int, n2: int) -> tuple[str, bool]:
    """``up from 0.4%`` when a share reached 5% and at least doubled (plus a point) between the
    halves, ``down from 6%`` for the reverse; whether it rose."""
    s1, s2 = a / n1, b / n2
    if s2 >= ERROR_SHARE_ALERT and s2 >= 2 * s1 + 0.01:
        return f"up from {share(a, n1)}", True
    if s1 >= ERROR_SHARE_ALERT and s1 >= 2 * s2 + 0.01:
        return f"down from {share(a, n1)}", False
    return "", False


def _errors_during(c: Collector, sources: list[str], start: int, end: int) -> dict[str, int]:
    """Error and fatal records each source logged between two times."""
    out = {}
    for source in sources:
        times = c.errors.get(source)
        if times:
            ordered = sorted(times) if any(times[i] > times[i + 1] for i in range(len(times) - 1)) else times
            out[source] = bisect_right(ordered, end) - bisect_left(ordered, start)
    return out


def build(c: Collector, options: Options | None = None, *, rejected: dict[str, dict[str, int]] | None = None,
          own_rejects: int = 0, window: tuple[int, int] | None = None, partial: bool = False) -> Report:
    """Analyse what a collector holds and judge it. ``window`` fixes the range (streaming mode);
    otherwise it is ``--since``/``--until`` where given and the records' own first and last times."""
    o = options or Options()
    start: int | None
    end: int | None
    if window is not None:
        start, end = window
    else:
        start = o.since_ns if o.since_ns is not None else c.first_ns
        end = o.until_ns if o.until_ns is not None else c.last_ns
    style = TimeStyle(with_date=start is not None and end is not None and day_of(start) != day_of(max(start, end - 1)))
    episodes: list[Episode] = []
    flagged = points = watched = watched_points = 0
    for key in sorted(c.series):
        s = c.series[key]
        points += len(s) - s.first
        if s.watched:
            watched += 1
            watched_points += s.watched
        flagged += len(s.flags)
        episodes += analyse(s, gap_ns=o.gap_ns, min_change=o.min_change)
    notable = [ep for ep in episodes if ep.notable]
    noise = [ep for ep in episodes if not ep.notable]
    narrated = []
    for inc in group(notable, lambda sources, a, b: sum(_errors_during(c, sources, a, b).values())):
        errors = _errors_during(c, inc.sources, inc.start_ns, inc.end_ns)
        narrated.append(NarratedIncident(inc, incident_title(inc, style), incident_sentences(inc, style, errors), errors))
    lo = start if start is not None else 0
    hi = end if end is not None else lo
    volume = _volume(c, lo, hi)
    lanes: dict[str, int] = {}
    for row in volume:
        lanes[row.lane] = lanes.get(row.lane, 0) + row.records
    sources = sorted({row.source for row in volume})
    report = Report(
        start_ns=start, end_ns=end, records=c.count, sources=sources, series=len(c.series), points=points,
        flagged=flagged, verdict="healthy", why="", incidents=narrated, noise=noise, volume=volume,
        lanes=dict(sorted(lanes.items())), entities=dict(sorted(c.entities.items(), key=lambda kv: (-kv[1], kv[0]))),
        scrubbed_records=c.scrubbed_records, rejected=rejected or {}, own_rejects=own_rejects, untimed=c.untimed,
        partial=partial, watched=watched, watched_points=watched_points, min_change=o.min_change, style=style,
    )
    report.verdict, report.why = verdict(report)
    return report


def verdict(r: Report) -> tuple[str, str]:
    """One of :data:`VERDICTS`, and the reason in one sentence. ``healthy`` needs evidence: series
    that ben detect watched and found nothing lasting in; records that no detector judged are
    ``unknown``, and no records at all are ``nodata`` (what an empty pipe or a failed upstream
    stage leaves), never ``healthy``."""
    major = [n for n in r.incidents if n.incident.grade == "major"]
    minor = [n for n in r.incidents if n.incident.grade == "minor"]
    alerts = [row for row in r.volume if row.alert]
    if major:
        worst = major[0]
        lead = f"{plural(len(major), 'major incident')}"
        if minor:
            lead += f" and {plural(len(minor), 'minor one')}"
        return "incident", f"{lead}; the worst: {worst.title}."
    if minor or alerts:
        reasons = []
        if minor:
            reasons.append(f"{plural(len(minor), 'minor incident')} ({minor[0].title})")
        for row in alerts[:3]:
            (n2, e2) = row.halves[1]
            reasons.append(f"the error share of {row.source} ({row.lane}) rose to {share(e2, n2)}, {row.trend}")
        why = join_words(reasons)
        return "degraded", why[:1].upper() + why[1:] + "."
    if r.records == 0:
        unread = r.own_rejects + r.untimed
        if unread:
            return "nodata", f"No readable records in this range ({plural(unread, 'line')} could not be read or had no time)."
        return "nodata", "No records in this range: nothing arrived to judge (an empty input or a failed earlier stage)."
    where = f"{count(r.records)} {'record' if r.records == 1 else 'records'} from {plural(len(r.sources), 'source')}"
    span = f" over {duration(r.span_s)}" if r.span_s >= 1 else ""
    if not r.watched:
        if not r.series:  # logs: nothing numeric for detect to judge, whether or not it ran
            return "unknown", (f"{where[:1].upper()}{where[1:]}{span}, none with a numeric value, so nothing was judged "
                               f"(to watch a log's volume and errors, count it into series first: "
                               f"ben count --every 1m --by source,severity | ben detect | ben narrate).")
        return "unknown", (f"{where[:1].upper()}{where[1:]}{span}, but no series marked by ben detect, so nothing was "
                           f"judged (run ben detect before ben narrate).")
    if not r.flagged:
        return "healthy", f"No anomalies among {where}{span}."
    readings = plural(r.flagged, "anomalous reading")
    return "healthy", (f"{readings} among {where}{span}, none lasting or large enough to matter "
                       f"(each a single reading or a change under {round(100 * r.min_change)}% of the usual value).")

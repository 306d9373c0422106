"""The words and glyphs of ``ben watch``, without a terminal: sparklines, a series chart, the
numbers as the panels print them, and the plain-text summary of ``--once`` (for an ssh session
with no full terminal, or a cron mail). The panels and the summary share these, so a number reads
the same on the dashboard and in the summary.
"""

from __future__ import annotations

import math

from ben_cli.narrate.humanize import count, join_words, sig
from ben_cli.narrate.report import VERDICT_LABEL
from ben_cli.watch.stats import Anomaly, KeyCount, Point, Snapshot

BARS = " ▁▂▃▄▅▆▇█"


def sparkline(values: list[int], width: int) -> str:
    """The last ``width`` values as bars scaled to their maximum (a second without records is a space)."""
    tail = values[-width:] if width > 0 else []
    top = max(tail, default=0)
    if top <= 0:
        return " " * len(tail)
    steps = len(BARS) - 1
    return "".join(BARS[0 if v <= 0 else max(1, math.ceil(v * steps / top))] for v in tail)


def exact(n: int) -> str:
    """An exact count with thousands separators: counts are the point of the dashboard."""
    return f"{n:,}"


def per_second(rate: float) -> str:
    return f"{count(rate) if rate >= 1000 else sig(rate, 3)}/s" if rate else "0/s"


def value_text(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return "-" if value is None else str(value).lower()
    if isinstance(value, (int, float)):
        return sig(float(value), 4)
    return str(value)


def error_share(entry: KeyCount) -> str:
    if not entry.records or not entry.errors:
        return "0%"
    return f"{sig(100 * entry.errors / entry.records, 2)}%"


def anomaly_line(a: Anomaly) -> str:
    score = "-" if a.score is None else sig(a.score, 3)
    return (f"{a.ts}  {a.series}  score {score}  {a.field} {value_text(a.value)}"
            f" (expected {value_text(a.expected)})")


def chart(points: list[Point], width: int, height: int) -> list[str]:
    """A text chart of a series: ``•`` each value (``✖`` when flagged), ``·`` the expected value,
    scaled to the range of both; the newest point on the right. ``height`` rows of ``width``."""
    if width <= 0 or height <= 0:
        return []
    pts = points[-width:]
    if not pts:
        return [" " * width for _ in range(height)]
    numbers = [p.value for p in pts] + [p.expected for p in pts if p.expected is not None]
    lo, hi = min(numbers), max(numbers)
    span = hi - lo or 1.0
    grid = [[" "] * len(pts) for _ in range(height)]

    def row(v: float) -> int:
        return height - 1 - round((v - lo) / span * (height - 1))

    for x, p in enumerate(pts):
        if p.expected is not None:
            grid[row(p.expected)][x] = "·"
        grid[row(p.value)][x] = "✖" if p.flagged else "•"
    return ["".join(r).ljust(width) for r in grid]


def verdict_text(snap: Snapshot) -> str:
    r = snap.report
    return f"{VERDICT_LABEL[r.verdict].upper()}: {r.why}"


def _table(title: str, counts: dict[str, tuple[int, float, list[int]]], total: int) -> str:
    shown = [f"{k} {exact(v[0])}" for k, v in counts.items() if v[0]]
    return f"{title}: " + (", ".join(shown) if shown else "none") + (f" (of {exact(total)})" if shown else "")


def summary(snap: Snapshot, *, top: int = 10) -> str:
    """The plain-text summary of ``--once``: the same counts and judgement as the dashboard,
    without rates or uptime (a summary of the input, not of the moment it was read in)."""
    lines = [f"ben watch: {exact(snap.total)} records, {exact(snap.rejected)} rejected"
             + (f", newest {snap.newest_ts}" if snap.newest_ts else "")]
    lines.append(_table("lanes", snap.lanes, snap.total))
    lines.append(_table("severities", snap.severities, snap.total))
    for title, rows in (("sources", snap.sources), ("names", snap.names)):
        if rows:
            lines.append(f"top {title}:")
            width = max(len(k) for k, _ in rows[:top])
            lines += [f"  {k.ljust(width)}  {exact(v.records):>12}  errors {error_share(v)}" for k, v in rows[:top]]
    lines.append(f"anomalies: {exact(snap.anomaly_total)} of {exact(snap.marked)} records judged by ben detect")
    lines += [f"  {anomaly_line(a)}" for a in snap.anomalies[-top:]]
    lines.append(f"verdict: {verdict_text(snap)}")
    for n in snap.report.incidents:
        lines.append(f"  incident {n.incident.number} ({n.incident.grade}): {n.title}")
        lines.append(f"    {n.text}")
    for w in snap.earlier:
        lines.append(f"  earlier: {w.start} to {w.end} {VERDICT_LABEL[w.verdict].upper()}: {'; '.join(w.titles) or w.why}")
    if snap.entities:
        lines.append(f"scrubbed: {exact(snap.scrubbed)} records ("
                     + join_words([f"{k} {exact(v)}" for k, v in snap.entities.items()]) + ")")
    else:
        lines.append("scrubbed: none")
    if snap.rejected:
        lines.append(f"rejected: {exact(snap.rejected)} ("
                     + join_words([f"{k} {exact(v)}" for k, v in sorted(snap.reject_reasons.items())]) + ")")
        lines += [f"  {r}" for r in snap.last_rejects[:5]]
    else:
        lines.append("rejected: none")
    return "\n".join(lines) + "\n"

"""The sentences: how an episode, an incident and a verdict are put into words.

Conventions (the deep dive explains why): the subject names the host and the metric the way an
operator says them ("web-3's http.request latency"); a change is given as the value it went to,
then its size against the usual value (a ratio from 2x up, a percentage below that); times are
UTC, with seconds only when they are not whole minutes and the date only when the report spans
more than one day; hosts that did the same thing are named in one clause, not repeated.
"""

from __future__ import annotations

from dataclasses import dataclass

from ben_cli.narrate.episodes import Episode
from ben_cli.narrate.humanize import clock, duration, is_time_unit, join_words, plural, quantity, sig
from ben_cli.narrate.incidents import Incident

_LATENCY_WORDS = ("latency", "duration", "time", "delay", "lag", "elapsed", "wait")
_VERB = {("spike", 1): "rose", ("dip", -1): "fell", ("shift", 1): "stepped up", ("shift", -1): "stepped down",
         ("drift", 1): "drifted up", ("drift", -1): "drifted down"}


@dataclass(frozen=True)
class TimeStyle:
    """How times are written in one report: with the date when it spans several days."""

    with_date: bool = False

    def at(self, *times: int) -> list[str]:
        seconds = any(t % 60_000_000_000 for t in times)
        return [clock(t, seconds=seconds, date=self.with_date) for t in times]


def metric(ep: Episode) -> str:
    """``http.request latency`` for a time-valued series whose name does not already say so."""
    name = ep.series.name
    if is_time_unit(ep.series.unit) and not any(w in name.lower() for w in _LATENCY_WORDS):
        return f"{name} latency"
    return name


def value(ep: Episode, x: float) -> str:
    return quantity(x, ep.series.unit)


def against_usual(ep: Episode) -> str:
    """``3.4x its usual 120 ms``, ``35% above its usual 120 ms``, ``83% below its usual 120 ms``."""
    usual = f"its usual {value(ep, ep.baseline)}"
    base, level = ep.baseline, ep.level
    if base > 0 and level >= 0:
        ratio = level / base
        if ratio >= 1.95:
            return f"{sig(ratio, 2)}x {usual}"
        if ratio >= 1:
            return f"{round(100 * (ratio - 1))}% above {usual}"
        return f"{round(100 * (1 - ratio))}% below {usual}"
    return f"against {usual}"


def describe(ep: Episode, style: TimeStyle) -> str:
    """One episode as one clause, without a final full stop."""
    s = ep.series
    verb = _VERB[(ep.kind, ep.direction)] if (ep.kind, ep.direction) in _VERB else ("rose" if ep.direction > 0 else "fell")
    if ep.kind in ("spike", "dip"):
        peak = ""
        if abs(ep.peak - ep.level) > 0.25 * abs(ep.level - ep.baseline):
            peak = f" (peak {value(ep, ep.peak)})"
        return f"{s.source}'s {metric(ep)} {verb} to {value(ep, ep.level)}{peak}, {against_usual(ep)}, {span(ep, style)}"
    if ep.kind == "shift":
        (at,) = style.at(ep.start_ns)
        tail = " and stayed there" if ep.ongoing else ""
        return f"{metric(ep)} on {s.source} {verb} from {value(ep, ep.baseline)} to {value(ep, ep.level)} at {at} UTC{tail}"
    start, end = style.at(ep.start_ns, ep.end_ns)
    still = " and was still rising" if ep.direction > 0 else " and was still falling"
    return (f"{metric(ep)} on {s.source} {verb} from {value(ep, ep.baseline)} to {value(ep, ep.level)} "
            f"between {start} and {end} UTC ({duration((ep.end_ns - ep.start_ns) / 1e9)}){still if ep.ongoing else ''}")


def span(ep: Episode, style: TimeStyle) -> str:
    """``from 10:02 to 10:14 UTC (12 minutes)``; ``at 17:39:41 UTC (for 58 milliseconds)`` when the
    clock shows one time (it once read "from 17:39:41 to 17:39:41")."""
    start, end = style.at(ep.start_ns, ep.end_ns)
    took = duration((ep.end_ns - ep.start_ns) / 1e9)
    if start == end:
        return f"at {start} UTC" + (f" (for {took})" if ep.end_ns > ep.start_ns else "")
    return f"from {start} to {end} UTC ({took})"


def _same_story(a: Episode, b: Episode) -> bool:
    return a.series.name == b.series.name and a.kind == b.kind and a.direction == b.direction


def incident_sentences(inc: Incident, style: TimeStyle, errors: dict[str, int]) -> list[str]:
    """The incident as sentences: the lead episode in full, hosts that did the same in one clause,
    other metrics that moved meanwhile, and the errors the affected sources logged."""
    stories: list[list[Episode]] = []
    for ep in inc.episodes:
        for story in stories:
            if _same_story(story[0], ep):
                story.append(ep)
                break
        else:
            stories.append([ep])
    sentences = []
    for i, story in enumerate(stories):
        clause = describe(story[0], style)
        if i:
            clause = "At the same time, " + clause
        peers = sorted({ep.series.source for ep in story[1:]} - {story[0].series.source})
        if peers:
            clause += f"; {join_words(peers)} did the same"
        sentences.append(clause + ".")  # host names keep their case: "web-3's ..."
    logged = [(src, n) for src, n in sorted(errors.items()) if n]
    if logged:
        parts = [f"{src} logged {plural(n, 'error')}" for src, n in logged]
        sentences.append(f"Meanwhile {join_words(parts)}.")
    return sentences


def incident_title(inc: Incident, style: TimeStyle) -> str:
    """``http.request latency on 4 sources, 10:02 to 10:14 UTC (12 minutes)``."""
    metrics = []
    for ep in inc.episodes:
        if metric(ep) not in metrics:
            metrics.append(metric(ep))
    sources = inc.sources
    where = sources[0] if len(sources) == 1 else plural(len(sources), "source")
    if inc.ongoing:
        span = f"from {style.at(inc.start_ns)[0]} UTC, still in force at the end"
    else:
        start, end = style.at(inc.start_ns, inc.end_ns)
        took = duration((inc.end_ns - inc.start_ns) / 1e9)
        span = f"{start} to {end} UTC ({took})" if start != end else f"at {start} UTC" + (
            f" (for {took})" if inc.end_ns > inc.start_ns else "")
    shown = metrics[:3] + ([f"{len(metrics) - 3} more"] if len(metrics) > 3 else [])
    return f"{join_words(shown)} on {where}, {span}"


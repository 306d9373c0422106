"""From episodes to incidents: what happened together, and how bad it was.

Episodes of different series that overlap in time (within the gap tolerance) are one incident:
five web hosts whose latency rises at 10:02 are one story, not five. Incidents are ranked by a
severity from 0 to 100, a weighted sum of parts each scaled to [0, 1]:

====================  ======  ==================================================
part                  weight  full marks at
====================  ======  ==================================================
peak detector score     25    score 1 (detect's scores are p-values squashed to [0, 1])
size of the change      15    a doubling or halving (|log2 ratio| = 1)
duration                20    30 minutes
breadth                 20    five sources
lane                    10    control 1, event 0.6, diag 0.3
severity field          10    error or fatal 1, warn 0.5 (on the flagged records)
====================  ======  ==================================================

An incident of 50 or more is *major* (the verdict is "incident"); below that it is *minor*
(the verdict is "degraded"). A single host whose latency triples for twelve minutes scores
about 50: that is worth waking someone for.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from ben_cli.narrate.collect import ERROR, WARN
from ben_cli.narrate.episodes import Episode

MAJOR = 50.0
WEIGHTS = {"score": 25.0, "size": 15.0, "duration": 20.0, "breadth": 20.0, "lane": 10.0, "severity": 10.0}
FULL_DURATION_S = 30 * 60
FULL_BREADTH = 5
LANE_WEIGHT = {"control": 1.0, "event": 0.6, "diag": 0.3}


@dataclass
class Incident:
    episodes: list[Episode]  # the lead (most severe) first, the rest by source, then series
    severity: float
    number: int = 0

    @property
    def lead(self) -> Episode:
        return self.episodes[0]

    @property
    def start_ns(self) -> int:
        return min(ep.start_ns for ep in self.episodes)

    @property
    def end_ns(self) -> int:
        return max(ep.end_ns for ep in self.episodes)

    @property
    def ongoing(self) -> bool:
        return any(ep.ongoing for ep in self.episodes)

    @property
    def sources(self) -> list[str]:
        return sorted({ep.series.source for ep in self.episodes})

    @property
    def grade(self) -> str:
        return "major" if self.severity >= MAJOR else "minor"


def _size(ep: Episode) -> float:
    if ep.baseline > 0 and ep.level > 0:
        return min(1.0, abs(math.log2(ep.level / ep.baseline)))
    return 1.0 if ep.relative >= 1 else ep.relative


def _episode_rank(ep: Episode) -> tuple:
    """Which episode leads an incident's story: the most unusual, then the biggest change."""
    return (-ep.peak_score, -_size(ep), -min(ep.relative, 1e12), ep.start_ns, ep.series.key)


ErrorsDuring = Callable[[list[str], int, int], int]


def severity(episodes: list[Episode], errors_during: ErrorsDuring | None = None) -> float:
    """The incident's severity; error records its sources logged meanwhile count as the severity
    field too, not only the severity of the flagged records themselves."""
    start = min(ep.start_ns for ep in episodes)
    end = max(ep.end_ns for ep in episodes)
    sev_rank = max(ep.severity for ep in episodes)
    if errors_during is not None and sev_rank < ERROR:
        if errors_during(sorted({ep.series.source for ep in episodes}), start, end):
            sev_rank = ERROR
    parts = {
        "score": max(min(1.0, max(0.0, ep.peak_score)) for ep in episodes),
        "size": max(_size(ep) for ep in episodes),
        "duration": min(1.0, (end - start) / 1e9 / FULL_DURATION_S),
        "breadth": min(1.0, (len({ep.series.source for ep in episodes}) - 1) / (FULL_BREADTH - 1)),
        "lane": max(LANE_WEIGHT.get(ep.series.lane, 0.3) for ep in episodes),
        "severity": 1.0 if sev_rank >= ERROR else 0.5 if sev_rank >= WARN else 0.0,
    }
    return round(sum(WEIGHTS[k] * parts[k] for k in WEIGHTS), 1)


def group(episodes: list[Episode], errors_during: ErrorsDuring | None = None) -> list[Incident]:
    """Overlapping episodes become incidents, most severe first (ties: earliest first)."""
    ordered = sorted(episodes, key=lambda ep: (ep.start_ns, ep.series.key))
    groups: list[list[Episode]] = []
    reach = 0
    for ep in ordered:
        if groups and ep.start_ns <= reach:
            groups[-1].append(ep)
            reach = max(reach, ep.active_end_ns + ep.gap_ns)
        else:
            groups.append([ep])
            reach = ep.active_end_ns + ep.gap_ns
    incidents = []
    for members in groups:
        lead = min(members, key=_episode_rank)
        rest = sorted((ep for ep in members if ep is not lead), key=lambda ep: (ep.series.name, ep.series.source, ep.series.key))
        incidents.append(Incident([lead, *rest], severity(members, errors_during)))
    incidents.sort(key=lambda inc: (-inc.severity, inc.start_ns, inc.lead.series.key))
    for i, inc in enumerate(incidents, 1):
        inc.number = i
    return incidents

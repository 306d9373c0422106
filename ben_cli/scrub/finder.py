"""Find every entity in a string: prefilter, run the triggered finders, resolve overlaps."""

from __future__ import annotations

from ben_cli import registry
from ben_cli.scrub import entities as ents
from ben_cli.scrub.entities import Entity
from ben_cli.scrub.prefilter import ALL, Prefilter

Finding = tuple[int, int, str]  # start, end, entity name

# Entities found by shape alone: an id, digest or date that happens to fit is left alone.
# (Entities found by context, such as password=..., are hidden whatever their value looks like.)
SHAPE_ENTITIES = frozenset(("phone", "credit_card", "us_ssn", "ipv4", "ipv6", "mac", "iban", "high_entropy"))
MIN_TEXT = 3  # "::1" is the shortest thing any finder reports

_PREFILTER: Prefilter | None = None


def shared_prefilter() -> Prefilter:
    """The Hyperscan database is compiled once per process (about 20 ms)."""
    global _PREFILTER
    if _PREFILTER is None:
        _PREFILTER = Prefilter()
    return _PREFILTER


class EntityFinder:
    """Finds the registered entities (built-in and plugins) in text.

    ``use_prefilter=False`` runs every finder on every string; it exists so tests can prove the
    prefilter never hides a finding.
    """

    def __init__(self, names: list[str] | None = None, *, use_prefilter: bool = True):
        chosen = names if names is not None else registry.entities.names()
        entities: list[Entity] = sorted((registry.entities.get(n) for n in chosen), key=lambda e: -e.priority)
        self.entities = entities
        self.always = [e for e in entities if e.families is None]
        self.prefilter = shared_prefilter() if use_prefilter else None

    def families(self, data: bytes | str) -> frozenset[str] | set[str]:
        return self.prefilter.families(data) if self.prefilter is not None else ALL

    def find(self, text: str, context: str = "", families: frozenset[str] | set[str] | None = None) -> list[Finding]:
        """Non-overlapping findings in text order; the higher priority wins an overlap.
        ``context`` is text the value is read after (a field's name), never rewritten itself.
        ``families``: triggers already known to cover ``text`` (those of the line it came from),
        which saves scanning a short string again."""
        if len(text) < MIN_TEXT:
            return []
        if context:
            shift = len(context) + 1
            return [(s - shift, e - shift, n) for s, e, n in self.find(f"{context} {text}", "", families) if s >= shift]
        fams = families if families is not None else self.families(text)
        if not fams and not self.always:
            return []
        taken: list[Finding] = []
        for e in self.entities:  # highest priority first
            if e.families is not None and fams.isdisjoint(e.families):
                continue
            for s, end in e.find(text):
                if end <= s or any(s < te and ts < end for ts, te, _ in taken):
                    continue
                if e.name in SHAPE_ENTITIES and ents.protected(text[s:end]):
                    continue
                taken.append((s, end, e.name))
        taken.sort()
        return taken

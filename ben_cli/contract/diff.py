"""Which changes between two versions of a contract break existing producers.

A change *breaks* when the new contract rejects records the old one accepted (a new required
field, a narrower range, an enum value taken away, a type changed); it *may break* when it
depends on what producers send (an optional field given a type, a pattern changed); it is *safe*
when every record the old contract accepted still passes (a wider range, a field made optional,
a deprecation).
"""

from __future__ import annotations

from dataclasses import dataclass

from ben_cli.contract.fmt import rule_text
from ben_cli.contract.tree import Contract, Kind, Lane, Rule

BREAKS, MAY_BREAK, SAFE = "breaks", "may break", "safe"


@dataclass
class Change:
    effect: str  # breaks, may break, safe
    what: str
    lane: str
    kind: str | None = None
    field: str | None = None
    line: int = 0  # in the new contract (0: it is gone from it)

    def record(self, new_file: str, old_file: str, old_line: int = 0) -> dict:
        out: dict = {"effect": self.effect, "change": self.what, "lane": self.lane}
        if self.kind is not None:
            out["kind"] = self.kind
        if self.field is not None:
            out["field"] = self.field
        out["at"] = f"{new_file}:{self.line}" if self.line else f"{old_file}"
        return out


def _narrower(old: Rule, new: Rule) -> bool:
    """Whether ``new``'s range leaves out numbers ``old``'s allowed."""
    if not new.has_range:
        return False
    if not old.has_range:
        return True
    low = new.low is not None and (old.low is None or new.low > old.low)
    high = new.high is not None and (old.high is None or new.high < old.high)
    return low or high


def _rule_changes(lane: str, kind: str, old: Rule, new: Rule) -> list[Change]:
    out: list[Change] = []
    line = new.pos.line

    def add(effect: str, what: str) -> None:
        out.append(Change(effect, what, lane, kind, new.path, line))

    ot, nt = old.type, new.type
    if ot.name != nt.name:
        widened = (ot.name, nt.name) in (("int", "float"), ("enum", "string")) and not (
            ot.name == "enum" and any(not isinstance(v, str) for v in ot.values))
        add(SAFE if widened else BREAKS, f"type {ot.name} -> {nt.name}")
    elif nt.name == "enum" and set(ot.values) != set(nt.values):
        gone = [v for v in ot.values if v not in nt.values]
        came = [v for v in nt.values if v not in ot.values]
        if gone:
            add(BREAKS, "enum values removed: " + ", ".join(map(str, gone)))
        if came:
            add(SAFE, "enum values added: " + ", ".join(map(str, came)))
    if new.required and not old.required:
        add(BREAKS, "now required")
    elif old.required and not new.required:
        add(SAFE, "now optional")
    if _narrower(old, new):
        add(BREAKS, "range narrowed")
    elif _narrower(new, old):
        add(SAFE, "range widened")
    if new.maxlen is not None and (old.maxlen is None or new.maxlen < old.maxlen):
        add(BREAKS, "maxlen lowered" if old.maxlen is not None else "maxlen added")
    elif old.maxlen is not None and (new.maxlen is None or new.maxlen > old.maxlen):
        add(SAFE, "maxlen raised" if new.maxlen is not None else "maxlen removed")
    if new.pattern != old.pattern:
        if new.pattern is None:
            add(SAFE, "pattern removed")
        else:
            add(BREAKS if old.pattern is None else MAY_BREAK, "pattern added" if old.pattern is None else "pattern changed")
    if new.cardinality is not None and (old.cardinality is None or new.cardinality < old.cardinality):
        add(BREAKS, "cardinality limit lowered" if old.cardinality is not None else "cardinality limit added")
    elif old.cardinality is not None and (new.cardinality is None or new.cardinality > old.cardinality):
        add(SAFE, "cardinality limit raised" if new.cardinality is not None else "cardinality limit removed")
    if new.unit != old.unit:
        add(BREAKS if new.scope == "field" and new.name == "value" and new.unit is not None else SAFE,
            f"unit {old.unit} -> {new.unit}")
    if new.deprecated and not old.deprecated:
        add(SAFE, "deprecated" + (f", use {new.use}" if new.use else ""))
    if new.pii != old.pii:
        add(SAFE, f"personal data {old.pii} -> {new.pii}")
    return out


def _kind_changes(lane: str, old: Kind, new: Kind) -> list[Change]:
    out: list[Change] = []
    olds = {r.path: r for r in old.rules}
    news = {r.path: r for r in new.rules}
    if new.closed and not old.closed:
        out.append(Change(BREAKS, "attrs closed: undeclared keys are rejected", lane, new.pattern, None, new.pos.line))
    elif old.closed and not new.closed:
        out.append(Change(SAFE, "attrs opened", lane, new.pattern, None, new.pos.line))
    for path, rule in news.items():
        if path not in olds:
            effect = BREAKS if rule.required else MAY_BREAK
            out.append(Change(effect, f"added: {rule_text(rule)}", lane, new.pattern, path, rule.pos.line))
        else:
            out += _rule_changes(lane, new.pattern, olds[path], rule)
    for path, rule in olds.items():
        if path not in news:
            effect = BREAKS if new.closed and rule.scope == "attr" else SAFE
            out.append(Change(effect, "removed" + (" (and attrs are closed)" if effect == BREAKS else ""),
                              lane, new.pattern, path, 0))
    return out


def diff(old: Contract, new: Contract) -> list[Change]:
    """The changes from ``old`` to ``new``, in the new contract's order (removals last)."""
    out: list[Change] = []
    old_lanes: dict[str, Lane] = {lane.name: lane for lane in old.lanes}
    new_lanes: dict[str, Lane] = {lane.name: lane for lane in new.lanes}
    for name, lane in new_lanes.items():
        before = old_lanes.get(name)
        if before is None:
            if lane.signed or any(k.rules or k.closed for k in lane.kinds):
                out.append(Change(BREAKS, "lane added: its records are now checked", name, None, None, lane.pos.line))
            before = Lane(name)
        if lane.signed and not before.signed:
            out.append(Change(BREAKS, "lane now signed: records without sig are rejected", name, None, None,
                              lane.pos.line))
        elif before.signed and not lane.signed:
            out.append(Change(SAFE, "lane no longer signed", name, None, None, lane.pos.line))
        old_kinds = {k.pattern: k for k in before.kinds}
        for kind in lane.kinds:
            was = old_kinds.get(kind.pattern)
            if was is None:
                effect = BREAKS if kind.closed or any(r.required for r in kind.rules) else (
                    MAY_BREAK if kind.rules else SAFE)
                out.append(Change(effect, "kind added: its records are now checked", name, kind.pattern, None,
                                  kind.pos.line))
                continue
            out += _kind_changes(name, was, kind)
        for pattern in old_kinds:
            if pattern not in {k.pattern for k in lane.kinds}:
                out.append(Change(SAFE, "kind removed: its records are no longer checked", name, pattern))
    for name in old_lanes:
        if name not in new_lanes:
            out.append(Change(SAFE, "lane removed: its records are no longer checked", name))
    if any(c.effect == BREAKS for c in out) and old.version is not None and (
            new.version is None or new.version <= old.version):
        out.append(Change(BREAKS, f"breaking changes, but the version stays {new.version} (was {old.version})",
                          "*", None, None, new.at.get("version", new.pos).line))
    return out

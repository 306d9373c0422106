"""A first contract from data: the types, ranges, small enums, presence and label cardinalities
that a sample of records shows.

What it writes holds for the sample it read (the sample validates against it), with room to
grow: a range opens to the next round number, a cardinality limit is twice the distinct values
seen. Memory is bounded: distinct values are counted up to :data:`DISTINCT_CAP` per field, names
up to :data:`NAMES_CAP` per lane; a lane with more than :data:`KINDS_MAX` names is grouped by
their first dotted part (``http.*``).
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ben_cli.contract.fmt import fmt
from ben_cli.contract.pycode import TIME_PATTERN
from ben_cli.contract.tree import Contract, Kind, Lane, Rule, TypeRef
from ben_cli.ndjson import Reader
from ben_cli.record import LANES, RESERVED
from ben_cli.rejects import Rejects

DISTINCT_CAP = 10_000
ENUM_MAX = 8  # at most this many values, each seen...
ENUM_MIN_SEEN = 3  # ...on average this many times, makes a string field an enum
NAMES_CAP = 1_000
KINDS_MAX = 40
SKIP = frozenset({"lane", "name", "contract", *RESERVED})
_TIME = re.compile(TIME_PATTERN).search
_ENUM_WORD = re.compile(r"[A-Za-z0-9_.\-]{1,40}")


def _shape(value: object) -> str | None:
    t = type(value)
    if t is bool:
        return "bool"
    if t is int:
        return "int"
    if t is float:
        return "int" if value.is_integer() else "float"  # type: ignore[attr-defined]
    if t is str:
        text: str = value  # type: ignore[assignment]
        if _TIME(text):
            return "time"
        if ":" in text or text.count(".") == 3:
            try:
                address = ipaddress.ip_address(text)
            except ValueError:
                pass
            else:
                if not getattr(address, "scope_id", None):
                    return "ip"
        return "string"
    return None  # objects, lists, null: no rule can say them


@dataclass
class FieldStats:
    seen: int = 0
    shapes: set[str] = field(default_factory=set)
    low: float = math.inf
    high: float = -math.inf
    distinct: set = field(default_factory=set)
    capped: bool = False

    def add(self, value: object) -> None:
        self.seen += 1
        shape = _shape(value)
        self.shapes.add(shape or "other")
        if shape in ("int", "float"):
            v = float(value)  # type: ignore[arg-type]
            self.low, self.high = min(self.low, v), max(self.high, v)
        if shape is not None and not self.capped:
            self.distinct.add(value if shape != "bool" else ("bool", value))
            if len(self.distinct) > DISTINCT_CAP:
                self.capped, self.distinct = True, set()

    def merge(self, other: FieldStats) -> None:
        self.seen += other.seen
        self.shapes |= other.shapes
        self.low, self.high = min(self.low, other.low), max(self.high, other.high)
        self.capped = self.capped or other.capped or len(self.distinct | other.distinct) > DISTINCT_CAP
        self.distinct = set() if self.capped else self.distinct | other.distinct


@dataclass
class KindStats:
    seen: int = 0
    fields: dict[str, FieldStats] = field(default_factory=dict)
    attrs: dict[str, FieldStats] = field(default_factory=dict)

    def add(self, rec: dict) -> None:
        self.seen += 1
        for key, value in rec.items():
            if key in SKIP:
                continue
            if key == "attrs" and type(value) is dict:
                for k, v in value.items():
                    stats = self.attrs.get(k)
                    if stats is None:
                        if len(self.attrs) >= 256:
                            continue
                        stats = self.attrs[k] = FieldStats()
                    stats.add(v)
                continue
            stats = self.fields.get(key)
            if stats is None:
                stats = self.fields[key] = FieldStats()
            stats.add(value)

    def merge(self, other: KindStats) -> None:
        self.seen += other.seen
        for mine, theirs in ((self.fields, other.fields), (self.attrs, other.attrs)):
            for k, stats in theirs.items():
                if k in mine:
                    mine[k].merge(stats)
                else:
                    mine[k] = stats


def nice_above(x: float) -> float:
    """The next round number at or above ``x`` (1, 2, 5 times a power of ten)."""
    if x <= 0:
        return 0.0 if x == 0 else -nice_below(-x)
    exp = math.floor(math.log10(x))
    for step in (1, 2, 5, 10):
        candidate = step * 10.0 ** exp
        if candidate >= x:
            return candidate
    return 10.0 ** (exp + 1)


def nice_below(x: float) -> float:
    """The round number at or below ``x``: 0 for positive numbers (counts and latencies start there)."""
    if x >= 0:
        return 0.0
    return -nice_above(-x)


def _rule(scope: str, name: str, stats: FieldStats, total: int) -> Rule | None:
    shapes = stats.shapes - {"other"} if stats.shapes != {"other"} else stats.shapes
    if "other" in stats.shapes or not shapes:
        return None
    if shapes == {"int", "float"}:
        shapes = {"float"}
    if len(shapes) > 1:
        if shapes <= {"string", "time", "ip"}:
            shapes = {"string"}
        else:
            return None
    shape = shapes.pop()
    rule = Rule(scope, name, TypeRef(shape), required=stats.seen == total)
    if shape in ("int", "float"):
        rule.has_range = True
        low, high = nice_below(stats.low), nice_above(stats.high)
        rule.low, rule.high = (int(low), int(high)) if shape == "int" else (low, high)
        if shape == "float":
            rule.low, rule.high = _tidy(low), _tidy(high)
    if shape == "string" and not stats.capped and stats.distinct:
        values = sorted(stats.distinct)
        if len(values) <= ENUM_MAX and stats.seen >= ENUM_MIN_SEEN * len(values) and all(
                _ENUM_WORD.fullmatch(v) for v in values) and name not in ("body", "source"):
            rule.type = TypeRef("enum", tuple(values))
        elif scope == "attr":
            rule.cardinality = int(nice_above(max(10, 2 * len(values))))
    if shape == "ip" and scope == "attr" and not stats.capped:
        rule.cardinality = int(nice_above(max(10, 2 * len(stats.distinct))))
    return rule


def _tidy(x: float) -> int | float:
    return int(x) if x.is_integer() else x


def _group(names: dict[str, KindStats]) -> dict[str, KindStats]:
    """Names as they are, or grouped by their first dotted part when there are too many."""
    if len(names) <= KINDS_MAX:
        return dict(sorted(names.items()))
    groups: dict[str, KindStats] = {}
    for name, stats in sorted(names.items()):
        head = name.split(".", 1)[0]
        glob = f"{head}.*" if "." in name else name
        if glob in groups:
            groups[glob].merge(stats)
        else:
            groups[glob] = stats
    if len(groups) > KINDS_MAX:
        merged = KindStats()
        for stats in groups.values():
            merged.merge(stats)
        return {"*": merged}
    return groups


class Inferrer:
    """Feed records, then :meth:`contract` gives the contract they suggest."""

    def __init__(self) -> None:
        self.lanes: dict[str, dict[str, KindStats]] = {}
        self.overflow: dict[str, KindStats] = {}  # names past NAMES_CAP, per lane
        self.read = 0

    def add(self, rec: dict) -> None:
        lane, name = rec.get("lane"), rec.get("name")
        if type(lane) is not str or lane not in LANES or type(name) is not str:
            return
        self.read += 1
        names = self.lanes.setdefault(lane, {})
        stats = names.get(name)
        if stats is None:
            if len(names) >= NAMES_CAP:
                stats = self.overflow.setdefault(lane, KindStats())
            else:
                stats = names[name] = KindStats()
        stats.add(rec)

    def feed(self, records: Iterable[dict]) -> None:
        for rec in records:
            self.add(rec)

    def contract(self, name: str = "inferred") -> Contract:
        out = Contract(name=name, version=1)
        out.comments = [(0, 0, f"# inferred by ben contract infer from {self.read} records: a starting point to edit")]
        for lane_name in LANES:
            names = self.lanes.get(lane_name)
            if not names:
                continue
            if lane_name in self.overflow:
                names = {**names, "*": self.overflow[lane_name]}
            lane = Lane(lane_name)
            for glob, stats in _group(names).items():
                kind = Kind(glob)
                for scope, table in (("field", stats.fields), ("attr", stats.attrs)):
                    for key, fstats in sorted(table.items()):
                        rule = _rule(scope, key, fstats, stats.seen)
                        if rule is not None:
                            kind.rules.append(rule)
                lane.kinds.append(kind)
            # the catch-all last: first match wins, and "*" would hide every kind after it
            lane.kinds.sort(key=lambda k: k.pattern == "*")
            out.lanes.append(lane)
        return out


def infer(inputs: list[str], rejects: Rejects, name: str = "inferred") -> tuple[str, int, int]:
    """``ben contract infer``: the contract text the records of ``inputs`` suggest, the lines read
    and the records described (those with a lane and a name)."""
    inferrer = Inferrer()
    reader = Reader(inputs or ["-"], rejects.add)
    inferrer.feed(reader.records())
    return fmt(inferrer.contract(name)), reader.read, inferrer.read

"""The contract's syntax tree: every node knows where it was written.

Positions (``Pos``) are left out of equality, so a contract and its canonical layout (``fmt``)
compare equal when they say the same thing, wherever their lines fall.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TYPES = ("string", "int", "float", "bool", "time", "enum", "ip", "duration")
NUMERIC = ("int", "float")
TEXT = ("string",)


@dataclass(frozen=True)
class Pos:
    """Line and column (both from 1) of a node's first character, and how many characters to
    underline when it is at fault."""

    line: int
    col: int
    width: int = 1


class Marks(dict[str, Pos]):
    """Where each modifier was written; a tree built in code (not parsed) has none, and then every
    position is line 0."""

    def __missing__(self, key: str) -> Pos:
        return Pos(0, 0)


def _marks() -> dict[str, Pos]:
    return field(default_factory=Marks, compare=False, repr=False)


def _pos() -> Pos:
    return field(default=Pos(0, 0), compare=False, repr=False)


@dataclass
class TypeRef:
    name: str
    values: tuple[str | int | float, ...] = ()  # an enum's values
    pos: Pos = _pos()


@dataclass
class Rule:
    """One ``field`` (a key of the record) or ``attr`` (a key of its ``attrs``) and what holds of it."""

    scope: str  # "field" or "attr"
    name: str
    type: TypeRef
    required: bool = False
    low: float | int | None = None  # range low..high, either end open
    high: float | int | None = None
    has_range: bool = False
    unit: str | None = None
    pattern: str | None = None
    maxlen: int | None = None
    cardinality: int | None = None
    pii: str | None = None
    deprecated: bool = False
    since: int | None = None
    use: str | None = None
    pos: Pos = _pos()
    at: dict[str, Pos] = _marks()  # each modifier's position

    @property
    def path(self) -> str:
        """How violations name it: ``value``, ``attrs.status``."""
        return self.name if self.scope == "field" else f"attrs.{self.name}"


@dataclass
class Kind:
    """The records of a lane whose ``name`` matches ``pattern`` (``*`` and ``?`` are globs)."""

    pattern: str
    rules: list[Rule] = field(default_factory=list)
    window: str | None = None  # the cardinality window, as written (``5m``)
    closed: bool = False  # attrs keys not declared are violations
    pos: Pos = _pos()
    end: Pos = _pos()  # its closing brace
    at: dict[str, Pos] = _marks()


@dataclass
class Lane:
    name: str
    kinds: list[Kind] = field(default_factory=list)
    signed: bool = False
    pos: Pos = _pos()
    end: Pos = _pos()  # its closing brace
    at: dict[str, Pos] = _marks()


@dataclass
class Contract:
    name: str | None = None
    version: int | None = None
    window: str | None = None  # the default cardinality window
    lanes: list[Lane] = field(default_factory=list)
    file: str = field(default="<contract>", compare=False)
    comments: list[tuple[int, int, str]] = field(default_factory=list, compare=False, repr=False)  # (line, col, text)
    pos: Pos = _pos()
    at: dict[str, Pos] = _marks()

    def kinds(self) -> list[tuple[Lane, Kind]]:
        """Every kind with its lane, in the order written (the order matching tries them)."""
        return [(lane, kind) for lane in self.lanes for kind in lane.kinds]

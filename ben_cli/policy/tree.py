"""The policy's syntax tree: every node knows where it was written (``Pos`` from the contract language).

Positions are left out of equality, as in the contract's tree, so two policies that say the same
thing compare equal wherever their lines fall.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ben_cli.contract.tree import Pos

DECISIONS = ("allow", "deny")
ACTIONS = ("allow", "deny", "limit", "alert")
LIST_TESTS = ("from", "group", "lane", "name", "source", "to")  # each takes a list of names or globs
STATIC = frozenset(LIST_TESTS)  # tests that depend on who sent what kind where, not on the record's content
TESTS = (*LIST_TESTS, "value", "has", "unredacted")
KEYS = ("identity", "source", "name", "lane")  # what a rate limit or an alert counts per
CLOCKS = ("event", "wall")


def _pos() -> Pos:
    return field(default=Pos(0, 0), compare=False, repr=False)


@dataclass
class Test:
    """One condition of a rule: ``lane diag, event``, ``not group node``, ``value over 500``, ``unredacted``."""

    what: str  # one of TESTS
    values: tuple[str, ...] = ()  # the names or globs of a list test, the fields of ``has``
    op: str = ""  # ``over`` or ``under`` for ``value``
    number: float = 0.0
    negated: bool = False
    pos: Pos = _pos()

    def text(self) -> str:
        """How the test reads in a policy (used in explanations and warnings)."""
        if self.what == "value":
            body = f"value {self.op} {self.number:g}"
        elif self.what == "unredacted":
            body = "unredacted"
        else:
            body = f"{self.what} {', '.join(self.values)}"
        return f"not {body}" if self.negated else body


@dataclass
class Action:
    """What a rule does when it matches: allow, deny, or allow within a rate (``limit``), or allow
    and count towards an alert (``alert``)."""

    kind: str  # one of ACTIONS
    count: int = 0  # limit: tokens per ``per``; alert: the threshold (more than ``count`` within ``per``)
    per: float = 0.0  # seconds
    per_text: str = ""
    burst: int = 0  # limit: the bucket's size (default: ``count``)
    by: tuple[str, ...] = ()
    clock: str = "event"

    def text(self) -> str:
        if self.kind == "limit":
            out = f"limit {self.count} per {self.per_text} burst {self.burst}"
        elif self.kind == "alert":
            out = f"alert over {self.count} within {self.per_text}"
        else:
            return self.kind
        if self.by:
            out += f" by {', '.join(self.by)}"
        return out + (f" clock {self.clock}" if self.kind == "limit" else "")


@dataclass
class Rule:
    name: str
    action: Action
    tests: list[Test] = field(default_factory=list)
    pos: Pos = _pos()


@dataclass
class Personal:
    """Fields that carry personal data: written in the policy, or read from a contract's ``pii`` marks.
    ``kinds`` limits them to records of a lane and name glob (a contract's kind); empty: every record."""

    paths: tuple[str, ...]
    lane: str | None = None
    kind: str | None = None
    pos: Pos = _pos()


@dataclass
class Policy:
    name: str = ""
    version: int = 0
    default: str = ""  # allow or deny: required, so that no record is decided by accident
    personal: list[Personal] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    contracts: list[tuple[str, Pos]] = field(default_factory=list, compare=False)  # ``personal from "x.ben"``
    file: str = field(default="<policy>", compare=False)
    pos: Pos = _pos()
    at: dict[str, Pos] = field(default_factory=dict, compare=False, repr=False)

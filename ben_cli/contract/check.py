"""Meaning after syntax: names that exist, modifiers that fit their type, ranges that are ranges.

Every fault is positioned and collected (a contract with three mistakes shows three), and a
misspelt lane, type or personal-data kind comes with the closest correct word.
"""

from __future__ import annotations

import re

from ben_cli.contract.errors import ContractError, ContractErrors, did_you_mean
from ben_cli.contract.parser import parse
from ben_cli.contract.tree import NUMERIC, TEXT, TYPES, Contract, Kind, Lane, Pos, Rule
from ben_cli.record import LANES
from ben_cli.units import parse_duration

# The kinds of personal data ``ben scrub`` knows by name (its built-in entities), plus plain words a
# contract may use for what has no finder of its own.
PII = ("email", "url_password", "secret", "aws_secret_key", "cookie", "auth_header", "high_entropy",
       "aws_access_key", "github_token", "slack_token", "stripe_key", "google_api_key", "private_key", "jwt",
       "credit_card", "us_ssn", "iban", "phone", "ipv4", "ipv6", "ip", "mac", "username", "name", "address")
DEFAULT_WINDOW = "1m"


class _Checker:
    def __init__(self, contract: Contract, source: str):
        self.contract = contract
        self.source = source
        self.errors: list[ContractError] = []

    def fault(self, message: str, pos: Pos) -> None:
        self.errors.append(ContractError(message, pos, self.contract.file, self.source))

    def run(self) -> list[ContractError]:
        c = self.contract
        if c.window is not None:
            self.window(c.window, c.at["window"])
        seen: dict[str, Lane] = {}
        for lane in c.lanes:
            if lane.name not in LANES:
                self.fault(f"unknown lane {lane.name!r}{did_you_mean(lane.name, LANES)} "
                           f"(lanes: {', '.join(LANES)})", lane.pos)
            else:
                self.once(seen, lane.name, lane, f"lane {lane.name!r} is declared twice")
            if lane.signed and lane.name != "control":
                self.fault("'signed' is for the control lane (instructions to the system)", lane.at["signed"])
            kinds: dict[str, Kind] = {}
            for kind in lane.kinds:
                self.once(kinds, kind.pattern, kind, f"kind {kind.pattern!r} is declared twice in lane {lane.name!r}")
                self.kind(kind)
        return self.errors

    def once(self, seen: dict, key: str, item: Lane | Kind | Rule, message: str) -> None:
        """Fault a second declaration of ``key``, pointing back at the first (which is the one kept)."""
        if key in seen:
            self.fault(f"{message} (first on line {seen[key].pos.line})", item.pos)
        seen.setdefault(key, item)

    def window(self, text: str, pos: Pos) -> None:
        try:
            if parse_duration(text) <= 0:
                self.fault("a window must be longer than zero", pos)
        except ValueError as exc:
            self.fault(str(exc), pos)

    def kind(self, kind: Kind) -> None:
        if kind.window is not None:
            self.window(kind.window, kind.at["window"])
        rules: dict[str, Rule] = {}
        for rule in kind.rules:
            self.once(rules, rule.path, rule, f"{rule.scope} {rule.name!r} is declared twice in kind {kind.pattern!r}")
            self.rule(rule)

    def rule(self, rule: Rule) -> None:
        t = rule.type
        if t.name not in TYPES:
            self.fault(f"unknown type {t.name!r}{did_you_mean(t.name, TYPES)} (types: {', '.join(TYPES)})", t.pos)
            return
        if t.name == "enum" and not t.values:
            self.fault("an enum needs its values: enum(GET, POST)", t.pos)
        if t.name != "enum" and t.values:
            self.fault(f"only an enum takes values in parentheses, not {t.name!r}", t.pos)
        if len(set(map(repr, t.values))) != len(t.values):
            self.fault("an enum value is listed twice", t.pos)
        at = rule.at
        if rule.has_range:
            if t.name not in NUMERIC:
                self.fault(f"a range is for int and float, not {t.name}", at["range"])
            elif rule.low is not None and rule.high is not None and rule.low > rule.high:
                self.fault(f"the range's low end {rule.low} is above its high end {rule.high}", at["range"])
            elif t.name == "int" and any(isinstance(v, float) for v in (rule.low, rule.high)):
                self.fault("an int's range has whole numbers at its ends", at["range"])
        for word, value in (("maxlen", rule.maxlen), ("pattern", rule.pattern)):
            if value is not None and t.name not in TEXT:
                self.fault(f"{word} is for strings, not {t.name}", at[word])
        if rule.pattern is not None:
            try:
                re.compile(rule.pattern)
            except re.error as exc:
                self.fault(f"the pattern is not a regular expression: {exc}", at["pattern"])
        if rule.cardinality is not None:
            if rule.scope != "attr":
                self.fault("a cardinality limit is for attrs keys (labels), not fields", at["cardinality"])
            elif rule.cardinality < 1:
                self.fault("a cardinality limit is at least 1", at["cardinality"])
        if rule.pii is not None and rule.pii not in PII:
            self.fault(f"unknown kind of personal data {rule.pii!r}{did_you_mean(rule.pii, PII)}", at["pii"])
        version = self.contract.version
        if rule.since is not None and version is not None and rule.since > version:
            self.fault(f"deprecated since version {rule.since}, but the contract is version {version}", at["deprecated"])


def check(contract: Contract, source: str = "") -> list[ContractError]:
    """The faults of meaning in a parsed contract, in the order written (empty: it is sound)."""
    return _Checker(contract, source).run()


def load_text(source: str, file: str = "<contract>") -> Contract:
    """Parse and check; raises :class:`ContractError` (syntax) or :class:`ContractErrors` (meaning)."""
    contract = parse(source, file)
    errors = check(contract, source)
    if errors:
        raise ContractErrors(errors)
    return contract

"""Deciding one record: the first rule that matches decides, else the policy's explicit default.

Rules are compiled once into closures. Most tests depend only on who sent what kind of record
where (identity, groups, lane, name, source, destination): for each such combination the rules
whose static tests pass are worked out once and cached, so a record pays one dict look-up plus the
content tests (``value``, ``has``, ``unredacted``) of its few candidate rules, however many rules
the policy holds.

Who sent a record: ``via.peer`` and ``via.groups`` when the bee put them there (a certificate's
name and groups), else the identity the enforcing command was given.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import translate

from ben_cli.policy.ratelimit import Buckets, ts_ns
from ben_cli.policy.tree import STATIC, Personal, Policy, Rule, Test

ALLOW, DENY, LIMITED = "allow", "deny", "limited"
OUTCOMES = (ALLOW, DENY, LIMITED)
CACHE_LIMIT = 65_536
ALERT_SOURCE = "ben.policy"


@dataclass(frozen=True)
class Who:
    """The sender and the destination a decision is made for (None: not known)."""

    identity: str | None = None
    groups: tuple[str, ...] = ()
    to: str | None = None


def _matcher(values: tuple[str, ...]) -> Callable[[object], bool]:
    """Whether a string equals one of ``values`` or matches one of their globs."""
    literal = frozenset(v for v in values if not any(ch in v for ch in "*?["))
    globs = [v for v in values if v not in literal]
    if not globs:
        return lambda x: x in literal
    regex = re.compile("|".join(f"(?:{translate(g)})" for g in globs))
    match = regex.match
    return lambda x: x in literal or (type(x) is str and match(x) is not None)


def _path_getter(path: str) -> Callable[[dict], object]:
    if path.startswith("attrs."):
        key = path[6:]

        def attr(rec: dict) -> object:
            attrs = rec.get("attrs")
            return attrs.get(key) if type(attrs) is dict else None

        return attr
    return lambda rec: rec.get(path)


def _personal_test(personal: list[Personal]) -> Callable[[dict], bool]:
    """True for a record holding a personal field and no scrub ``redacted`` mark."""
    groups = [([_path_getter(p) for p in each.paths], each.lane, _matcher((each.kind,)) if each.kind else None)
              for each in personal]

    def unredacted(rec: dict) -> bool:
        if rec.get("redacted"):
            return False
        for getters, lane, kind in groups:
            if lane is not None and rec.get("lane") != lane:
                continue
            if kind is not None and not kind(rec.get("name")):
                continue
            if any(get(rec) not in (None, "") for get in getters):
                return True
        return False

    return unredacted


StaticKey = tuple[object, object, object, object, tuple[str, ...], object]  # lane, name, source, identity, groups, to


def _static(test: Test) -> Callable[[StaticKey], bool]:
    match = _matcher(test.values)
    if test.what == "group":
        def fn(k: StaticKey) -> bool:
            return any(match(g) for g in k[4])
    else:
        i = {"lane": 0, "name": 1, "source": 2, "from": 3, "to": 5}[test.what]

        def fn(k: StaticKey) -> bool:
            return match(k[i])
    if test.negated:
        return lambda k: not fn(k)
    return fn


def _dynamic(test: Test, unredacted: Callable[[dict], bool]) -> Callable[[dict], bool]:
    fn: Callable[[dict], bool]
    if test.what == "value":
        n, over = test.number, test.op == "over"

        def fn(rec: dict) -> bool:
            v = rec.get("value")
            if type(v) not in (int, float):
                return False
            return v > n if over else v < n  # type: ignore[operator]
    elif test.what == "has":
        getters = [_path_getter(p) for p in test.values]

        def fn(rec: dict) -> bool:
            return all(get(rec) is not None for get in getters)
    else:
        fn = unredacted
    if test.negated:
        return lambda rec: not fn(rec)
    return fn


@dataclass
class Compiled:
    index: int
    rule: Rule
    static: list[Callable[[StaticKey], bool]]
    dynamic: list[Callable[[dict], bool]]
    buckets: Buckets | None = None
    windows: dict[object, list[int]] = field(default_factory=dict)  # alert: key -> [window start ns, count]


class Evaluator:
    """The compiled policy: ``decide`` one record, ``explain`` one decision, ``alerts`` raised."""

    def __init__(self, policy: Policy, wall_ns: Callable[[], int] = time.time_ns):
        self.policy = policy
        self.wall_ns = wall_ns
        self.default = policy.default
        self.default_index = len(policy.rules)
        unredacted = _personal_test(policy.personal)
        self.compiled: list[Compiled] = []
        for i, rule in enumerate(policy.rules):
            c = Compiled(i, rule, [_static(t) for t in rule.tests if t.what in STATIC],
                         [_dynamic(t, unredacted) for t in rule.tests if t.what not in STATIC])
            action = rule.action
            if action.kind == "limit":
                c.buckets = Buckets(action.count, int(round(action.per * 1e9)), action.burst)
            self.compiled.append(c)
        self.cache: dict[StaticKey, tuple[Compiled, ...]] = {}
        self.alerts: list[dict] = []  # control-lane records raised by alert rules, for the caller to emit
        self.last_event_ns: int | None = None

    # -- who and when -----------------------------------------------------------------------------

    @staticmethod
    def key_of(rec: dict, who: Who) -> StaticKey:
        identity, groups = who.identity, who.groups
        via = rec.get("via")
        if type(via) is dict:
            peer = via.get("peer")
            if type(peer) is str:
                identity = peer
                g = via.get("groups")
                groups = tuple(x for x in g if type(x) is str) if type(g) is list else ()
        return (rec.get("lane"), rec.get("name"), rec.get("source"), identity, groups, who.to)

    def now_ns(self, rec: dict, clock: str) -> int:
        """Event time (the record's ``ts``; a record without one is taken to be at the last time
        seen, or at the wall clock before any) or wall time."""
        if clock == "event":
            t = ts_ns(rec.get("ts"))
            if t is not None:
                self.last_event_ns = t
                return t
            if self.last_event_ns is not None:
                return self.last_event_ns
        return self.wall_ns()

    def candidates(self, key: StaticKey) -> tuple[Compiled, ...]:
        found = self.cache.get(key)
        if found is None:
            found = tuple(c for c in self.compiled if all(fn(key) for fn in c.static))
            if len(self.cache) >= CACHE_LIMIT:
                self.cache.clear()
            self.cache[key] = found
        return found

    # -- deciding ---------------------------------------------------------------------------------

    def decide(self, rec: dict, who: Who = Who()) -> tuple[int, str]:
        """The index of the deciding rule (``default_index`` for the default) and the outcome:
        allow, deny or limited. Takes a token from a limit rule's bucket and counts towards an
        alert rule's threshold, as enforcement does."""
        key = self.key_of(rec, who)
        for c in self.candidates(key):
            for fn in c.dynamic:
                if not fn(rec):
                    break
            else:
                return c.index, self._act(c, rec, key)
        return self.default_index, self.default

    def _act(self, c: Compiled, rec: dict, key: StaticKey) -> str:
        action = c.rule.action
        kind = action.kind
        if kind == "allow" or kind == "deny":
            return kind
        by = tuple(self._by(b, key) for b in action.by)
        now = self.now_ns(rec, action.clock if kind == "limit" else "event")
        if c.buckets is not None:
            return ALLOW if c.buckets.take(by, now) else LIMITED
        window = c.windows.get(by)
        per = int(round(action.per * 1e9))
        if window is None or now - window[0] >= per or now < window[0] - per:
            window = c.windows[by] = [now, 0]
        window[1] += 1
        if window[1] == action.count + 1:
            self.alerts.append(self._alert(c, rec, by, window[1]))
        return ALLOW

    @staticmethod
    def _by(name: str, key: StaticKey) -> object:
        return key[{"lane": 0, "name": 1, "source": 2, "identity": 3}[name]]

    def _alert(self, c: Compiled, rec: dict, by: tuple, count: int) -> dict:
        action = c.rule.action
        attrs: dict[str, object] = {"policy": self.policy.name, "rule": c.rule.name, "threshold": action.count,
                                    "within": action.per_text, "count": count, "at": self.where(c.index)}
        for name, value in zip(action.by, by, strict=True):
            attrs[f"by.{name}"] = value if isinstance(value, (str, int, float)) else str(value)
        out: dict[str, object] = {"lane": "control", "source": ALERT_SOURCE, "name": "policy.alert",
                                  "value": count, "severity": "warn", "attrs": attrs}
        if isinstance(rec.get("ts"), str):
            out = {"ts": rec["ts"], **out}
        return out

    def name_of(self, index: int) -> str:
        return "default" if index == self.default_index else self.policy.rules[index].name

    def where(self, index: int) -> str:
        if index == self.default_index:
            return f"{self.policy.file}:{self.policy.at.get('default', self.policy.pos).line}"
        pos = self.policy.rules[index].pos
        return f"{self.policy.file}:{pos.line}:{pos.col}"

    # -- explaining -------------------------------------------------------------------------------

    def explain(self, rec: dict, who: Who = Who()) -> dict:
        """One decision with its reasons: the rules passed over (and the test that failed in
        each), the rule that decided and the tests it matched. Rate limits and alerts count this
        record as enforcement would."""
        key = self.key_of(rec, who)
        unredacted = _personal_test(self.policy.personal)
        passed: list[dict] = []
        for c in self.compiled:
            failed = next((t for t in c.rule.tests if not self._holds(t, rec, key, unredacted)), None)
            if failed is not None:
                passed.append({"rule": c.rule.name, "at": self.where(c.index), "failed": failed.text()})
                continue
            outcome = self._act(c, rec, key)
            why = [t.text() for t in c.rule.tests] or ["the rule has no tests: it matches every record"]
            return {"decision": outcome, "rule": c.rule.name, "at": self.where(c.index), "action": c.rule.action.text(),
                    "matched": why, "passed_over": passed, "identity": key[3], "groups": list(key[4]), "to": key[5]}
        return {"decision": self.default, "rule": "default", "at": self.where(self.default_index),
                "action": f"default {self.default}", "matched": ["no rule matched"], "passed_over": passed,
                "identity": key[3], "groups": list(key[4]), "to": key[5]}

    @staticmethod
    def _holds(test: Test, rec: dict, key: StaticKey, unredacted: Callable[[dict], bool]) -> bool:
        if test.what in STATIC:
            return _static(test)(key)
        return _dynamic(test, unredacted)(rec)


def explain_text(policy: Policy, text: str, who: Who = Who()) -> str:
    """``ben policy eval``: the explained decision for the record in ``text``, as one JSON line."""
    import orjson

    from ben_cli.errors import UsageError

    try:
        rec = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"the record is not JSON: {exc}") from None
    if type(rec) is not dict:
        raise UsageError("the record is not a JSON object")
    return orjson.dumps(Evaluator(policy).explain(rec, who)).decode()


__all__ = ["ALLOW", "DENY", "LIMITED", "OUTCOMES", "Evaluator", "Who", "explain_text"]

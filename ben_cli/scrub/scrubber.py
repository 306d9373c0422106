"""The scrub stage core: walk every field of a record, apply field rules, rewrite findings, mark ``redacted``.

The walk is copy-on-write (the caller's record is never modified) and plans per key path are
cached, because the same few dozen paths repeat on every record of a stream. A record reaches the
core as a dict (:meth:`Scrubber.feed`, for stages composed in one process) or as its NDJSON line
with the parsed dict (:meth:`Scrubber.feed_lines`, for ``ben scrub``): a line the prefilter proves
clean is then passed on as its own bytes with ``"redacted":[]`` appended, without a
walk-and-serialise round trip. Both give the same records.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

import orjson

from ben_cli.errors import BenError
from ben_cli.scrub import entities as ents
from ben_cli.scrub.finder import EntityFinder, plain
from ben_cli.scrub.keys import load_or_create_key, read_key
from ben_cli.scrub.operators import APPLY, Drop
from ben_cli.scrub.policy import Policy, default_policy

_PLAN_CACHE_LIMIT = 50_000
_MAX_ROUNDS = 4
_SHORT = 64  # strings up to this long reuse their line's trigger families instead of a scan
_AUTH_SCHEME = re.compile(r"(?i)(\s*(?:bearer|basic|digest|negotiate|token|apikey|hmac|aws4-hmac-sha256|dpop)\s+)(\S.*)", re.S)
_EMPTY_MARK = b'"redacted":[]}\n'

Reject = Callable[[str, bytes], None]
"""Where a record that cannot be scrubbed goes: ``(reason, raw line)``, as :meth:`ben_cli.ndjson.Reader.reject`."""


class Unscrubbable(BenError):
    """A record that cannot be scrubbed safely; it must be rejected, never passed on."""


@dataclass(frozen=True)
class Plan:
    """What to do with one key path (resolved once from the policy, then cached)."""

    path: str
    never: bool
    action: str  # "scan" or a whole-value operator (incl. drop)
    entity: str  # name used by a whole-value operator
    key_entity: str | None  # secret/cookie/auth_header implied by the key name
    operators: dict[str, str]
    numbers: bool
    context: str = ""  # words the key lends its value (a field named phone)
    key_plan: Plan | None = None  # how this object's keys are scanned (None: keys are left alone)
    # For the walk's shortcuts, derived from the fields above once rather than at every value.
    plain: bool = field(init=False)  # scanned as text: action scan, no entity implied by the key
    scalars: bool = field(init=False)  # numbers are read as text (numbers on, an implied entity or an operator)

    def __post_init__(self) -> None:
        object.__setattr__(self, "plain", self.action == "scan" and self.key_entity is None)
        object.__setattr__(self, "scalars", bool(self.numbers or self.key_entity or self.action != "scan"))


class Scrubber:
    """The scrub stage: ``feed`` records in, scrubbed copies carrying ``redacted`` out.

    ``key`` is the HMAC key for pseudonyms (bytes), or a key file (read at once, so a bad key
    stops the run before any output); without one the key under ``$BEN_HOME`` is used, created on
    the first pseudonym. With ``dry_run`` records pass unchanged and ``findings`` counts what
    would have been scrubbed, per (entity, field path). A record that cannot be scrubbed safely
    goes to ``on_reject`` (reason, raw line); without it :class:`Unscrubbable` is raised.
    """

    def __init__(self, policy: Policy | None = None, *, key: bytes | Path | None = None,
                 dry_run: bool = False, on_reject: Reject | None = None, use_prefilter: bool = True):
        self.policy = policy or default_policy()
        self.finder = EntityFinder(use_prefilter=use_prefilter)
        self._key_bytes: bytes | None = read_key(key) if isinstance(key, Path) else key
        self._plans: dict[tuple[str, str, str | None], Plan] = {}
        self.dry_run = dry_run
        self.on_reject = on_reject
        self.findings: Counter[tuple[str, str]] = Counter()
        self._ops = {e.name: self.policy.operator_for(e.name) for e in self.finder.entities}
        self._max = self.policy.max_value_bytes
        self._short = min(_SHORT, self._max // 4)  # strings this short skip the walk when known clean
        self._rule_keys = self._fast_path_keys()
        self._line_families: frozenset[str] | set[str] | None = None
        self._clean_keys: set[tuple[str, str, str | None]] = set()
        self._known: dict[tuple[str, int], tuple[Plan | None, dict[object, Plan]]] = {}
        self._applied: dict[tuple[str, str, str], str] = {}
        self._top_keys = self._key_plan("", self._ops)

    def _key_plan(self, path: str, ops: dict[str, str]) -> Plan | None:
        """The plan that scans the keys of the object at ``path``: each entity gets the policy's
        key operator (pseudonym by default, so keys stay distinct), unless its own operator is
        keep or drop."""
        op = self.policy.keys
        if op == "keep":
            return None
        key_ops = {e: (o if o in ("keep", "drop") else op) for e, o in ops.items()}
        return Plan(path, False, "scan", "pii", None, key_ops, False)

    # -- the stage --------------------------------------------------------------------------
    def feed(self, records: Iterable[dict]) -> Iterator[dict]:
        """Each record scrubbed (or, with ``dry_run``, counted and passed as it is)."""
        scrub, dry_run = self.scrub, self.dry_run
        for rec in records:
            try:
                out = scrub(rec)
            except Unscrubbable as exc:
                self._reject(exc, orjson.dumps(rec))
                continue
            yield rec if dry_run else out

    def feed_lines(self, pairs: Iterable[tuple[bytes, dict]]) -> Iterator[bytes]:
        """The output line (ending in a newline) of each (line, record) pair, as ``feed`` gives
        it for the record; a line proven clean is reused as it is, with ``"redacted":[]`` added."""
        clean, scrub, families = self.line_is_clean, self.scrub, self.line_families
        dumps, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE
        dry_run = self.dry_run
        for data, rec in pairs:
            try:
                if dry_run:
                    scrub(rec)
                    yield data + b"\n"
                    continue
                fams = families(data)
                if fams is not None and clean(data, fams):  # None: a line with an escape is never clean
                    body = data.rstrip()
                    yield body[:-1] + (_EMPTY_MARK if body == b"{}" or body[:-1].rstrip() == b"{" else b"," + _EMPTY_MARK)
                else:
                    yield dumps(scrub(rec, fams), option=newline)
            except Unscrubbable as exc:
                self._reject(exc, data)

    def flush(self) -> Iterator[dict]:
        """Nothing: a record is scrubbed as it comes, none is held back."""
        return iter(())

    def _reject(self, exc: Unscrubbable, raw: bytes) -> None:
        if self.on_reject is None:
            raise exc
        self.on_reject(f"cannot scrub safely: {exc}", raw)

    # -- the key --------------------------------------------------------------------------
    def key(self) -> bytes:
        if self._key_bytes is None:
            self._key_bytes = load_or_create_key()
        return self._key_bytes

    # -- plans ----------------------------------------------------------------------------
    def _plan(self, parent: str, key: str, inherited: Plan | None) -> Plan:
        ck = (parent, key, inherited.path if inherited is not None else None)
        plan = self._plans.get(ck)
        if plan is not None:
            return plan
        path = f"{parent}.{key}" if parent else key
        pol = self.policy
        never = any(fnmatchcase(path, g) for g in pol.never)
        rule = next((r for r in pol.fields if r.matches(path)), None)
        ops = dict(inherited.operators) if inherited is not None else dict(self._ops)
        action, entity, numbers = "scan", "pii", pol.numbers
        key_entity = ents.key_entity(key) if isinstance(key, str) else None
        context = ents.context_hint(key) if isinstance(key, str) else ""
        if inherited is not None:
            context = context or inherited.context
            numbers = inherited.numbers
            if inherited.action != "scan":
                action, entity = inherited.action, inherited.entity
            # a user object's fields are not all names (user.roles, user.id): username is not inherited
            key_entity = key_entity or (inherited.key_entity if inherited.key_entity != "username" else None)
            never = never or inherited.never
        if rule is not None:
            if rule.action == "never":
                never = True
            elif rule.action != "scan":
                action, entity = rule.action, rule.entity
            ops.update(rule.operators)
            if rule.numbers is not None:
                numbers = rule.numbers
        plan = Plan(path, never, action, entity, key_entity, ops, numbers, context, self._key_plan(path, ops))
        if len(self._plans) < _PLAN_CACHE_LIMIT:
            self._plans[ck] = plan
        return plan

    def _fast_path_keys(self) -> list[bytes] | None:
        """Quoted key names whose presence in a line forces the full walk (rules that rewrite a
        field whatever its content); None when a rule's last key is a glob."""
        keys = []
        for rule in self.policy.fields:
            if rule.action in ("scan", "never", "keep"):
                continue
            last = rule.path.rsplit(".", 1)[-1]
            if any(c in last for c in "*?["):
                return None
            keys.append(b'"' + last.encode() + b'"')
        return keys

    # -- records --------------------------------------------------------------------------
    def line_families(self, data: bytes) -> frozenset[str] | set[str] | None:
        """The trigger families of a raw NDJSON line, or None when its bytes cannot stand for its
        strings: a backslash escape (``\\u0040``) could hide a character from the byte scan."""
        if b"\\" in data:
            return None
        return self.finder.families(data)

    def line_is_clean(self, data: bytes, families: frozenset[str] | set[str] | None = None) -> bool:
        """True when a raw NDJSON line certainly holds nothing to scrub, so it can pass unchanged
        (with an empty ``redacted``) without a walk: no escapes, no earlier ``redacted``, no
        forcing rule key, no over-long value, and no trigger anywhere."""
        if self._rule_keys is None or self.finder.always or len(data) > self._max or b'"redacted"' in data:
            return False
        for k in self._rule_keys:
            if k in data:
                return False
        if families is None:
            families = self.line_families(data)
        return families is not None and not families

    def scrub(self, record: dict, families: frozenset[str] | set[str] | None = None) -> dict:
        """A scrubbed copy of ``record`` with ``redacted`` set to the sorted entity names found
        (merged with any earlier list, so scrubbing twice changes nothing more). ``families``
        are the line's trigger families (see :meth:`line_families`), which spare short strings a
        scan of their own."""
        found: set[str] = set()
        self._line_families = families
        out = self._dict(record, "", None, found)
        prev = record.get("redacted")
        if isinstance(prev, list):
            found.update(x for x in prev if isinstance(x, str))
        out["redacted"] = sorted(found)
        return out

    def _dict(self, d: dict, prefix: str, inherited: Plan | None, found: set[str]) -> dict:
        out = {}
        key_plan = self._top_keys if inherited is None else inherited.key_plan
        clean_keys = self._clean_keys
        memo, short = self.finder.memo, self._short
        # The plans of this object's keys known to be clean: one lookup per key instead of a key
        # check and a plan lookup. The entry holds the inherited plan, so its id is not reused.
        entry = self._known.get((prefix, id(inherited)))
        if entry is None or entry[0] is not inherited:
            if len(self._known) >= _PLAN_CACHE_LIMIT:
                self._known.clear()
            entry = self._known[(prefix, id(inherited))] = (inherited, {})
        known = entry[1]
        for k, val in d.items():
            plan = known.get(k)
            if plan is None:
                if not prefix and k == "redacted":
                    continue
                clean = True
                if key_plan is not None and type(k) is str:
                    ck = (prefix, k, key_plan.path)
                    if ck not in clean_keys:
                        try:
                            new = self._text(k, key_plan, found)
                        except Drop as dropped:
                            found.add(str(dropped))
                            if self.dry_run:
                                self.findings[(str(dropped), f"{prefix}.(key)" if prefix else "(key)")] += 1
                            continue
                        if new == k and len(clean_keys) < _PLAN_CACHE_LIMIT:
                            clean_keys.add(ck)
                        else:
                            clean = False
                            k = new
                plan = self._plan(prefix, k, inherited)
                if clean and len(known) < _PLAN_CACHE_LIMIT:
                    known[k] = plan
            if plan.never:
                out[k] = val
                continue
            t = type(val)
            try:
                if t is str:
                    if plan.plain and len(val) <= short and not memo.get((val, plan.context), True):
                        out[k] = val  # a short string already known to hold nothing (what _string would find again)
                    else:
                        out[k] = self._string(val, plan, found)
                elif t is dict:
                    out[k] = self._dict(val, plan.path, plan, found)
                elif t is list or plan.scalars:
                    out[k] = self._value(val, plan, found)
                else:
                    out[k] = val  # a number, true, false or null that is not read as text (what _value gives)
            except Drop as dropped:
                found.add(str(dropped))
                if self.dry_run:
                    self.findings[(str(dropped), plan.path)] += 1
        return out

    def _value(self, val: object, plan: Plan, found: set[str]) -> object:
        t = type(val)
        if t is str:
            return self._string(val, plan, found)  # type: ignore[arg-type]
        if t is dict:
            return self._dict(val, plan.path, plan, found)  # type: ignore[arg-type]
        if t is list:
            return [self._value(x, plan, found) for x in val]  # type: ignore[attr-defined]
        if (t is int or t is float) and (plan.numbers or plan.key_entity or plan.action != "scan"):
            text = str(val)
            new = self._string(text, plan, found)
            return val if new == text else new
        return val

    def _apply(self, op: str, entity: str, value: str, plan: Plan, found: set[str], rescan: bool = False) -> str:
        """Rewrite one finding and count it (on a rescan only if it changed: a truncated network
        is found again and truncates to itself)."""
        if op == "keep":
            new = value
        else:  # operators are functions of (entity, value) under one key: a stream repeats its values
            ck = (op, entity, value)
            hit = self._applied.get(ck)
            if hit is None:
                hit = APPLY[op](entity, value, self.key)  # drop raises, and is never remembered
                if len(self._applied) >= _PLAN_CACHE_LIMIT:
                    self._applied.clear()
                self._applied[ck] = hit
            new = hit
        if self.dry_run and not (rescan and new == value):
            self.findings[(entity, plan.path)] += 1
        if op != "keep":
            found.add(entity)
        return new

    def _string(self, s: str, plan: Plan, found: set[str]) -> str:
        if len(s) > self._max // 4 and len(s.encode("utf-8", "surrogatepass")) > self._max:
            raise Unscrubbable(f"{plan.path} is a string of over {self._max} bytes (max_value_bytes)")
        if plan.action != "scan":
            if ents.already_scrubbed(s):
                return s
            return self._apply(plan.action, plan.entity, s, plan, found)
        if plan.key_entity is not None:
            return self._keyed(s, plan, found)
        return self._text(s, plan, found)

    def _keyed(self, s: str, plan: Plan, found: set[str]) -> str:
        """The value of a field whose name says it is a secret, cookie or credential."""
        entity = plan.key_entity
        assert entity is not None
        ok = ents.cookie_value if entity == "cookie" else ents.username_value if entity == "username" else ents.secret_value
        if not ok(s):
            return s
        op = plan.operators.get(entity, "redact")
        if entity == "auth_header":
            m = _AUTH_SCHEME.fullmatch(s)
            if m:
                return m.group(1) + (m.group(2) if ents.already_scrubbed(m.group(2)) else self._apply(op, entity, m.group(2), plan, found))
        if entity == "cookie" and "=" in s:
            return self._replace(s, [(a, b, "cookie") for a, b in ents.cookie_value_spans(s)], plan, found)
        return self._apply(op, entity, s, plan, found)

    def _text(self, s: str, plan: Plan, found: set[str]) -> str:
        """Scan and rewrite until nothing new is found. A rewrite can expose a finding that was
        glued to its neighbour (``2001:db8::1bob@x.io``: once the e-mail is a token, the address
        before it stands alone), so the output is rescanned; this is what makes scrubbing
        idempotent. Text that keeps changing after a few rounds is refused, not passed on."""
        findings = self.finder.find(s, plan.context, self._line_families if len(s) <= _SHORT else None)
        rounds = 0
        while findings:
            new = self._replace(s, findings, plan, found, rounds > 0)
            if new == s:
                return s
            s = new
            rounds += 1
            findings = [f for f in self.finder.find(s, plan.context) if plan.operators.get(f[2]) != "keep"]
            if findings and self._settled(s, findings, plan, found):
                return s
            if rounds == _MAX_ROUNDS and findings:
                raise Unscrubbable(f"{plan.path or 'text'} did not settle after {_MAX_ROUNDS} scrubbing rounds")
        return s

    def _settled(self, s: str, findings: list[tuple[int, int, str]], plan: Plan, found: set[str]) -> bool:
        """True when rewriting a rescan's findings would change nothing at all: each is already
        its own rewrite (a truncated network), as the operator cache remembers it, of an entity
        already in ``found``. :meth:`_replace` would then rebuild the same string, and on a
        rescan an unchanged finding is neither counted nor new in ``found``."""
        ops, applied = plan.operators, self._applied
        for start, end, name in findings:
            value = s[start:end]
            if name not in found or applied.get((ops.get(name) or "redact", name, value)) != value or plain(value) != value:
                return False
        return True

    def _replace(self, s: str, findings: list[tuple[int, int, str]], plan: Plan, found: set[str], rescan: bool = False) -> str:
        parts, last = [], 0
        ops = plan.operators
        for start, end, name in findings:
            parts.append(s[last:start])
            parts.append(self._apply(ops.get(name) or "redact", name, plain(s[start:end]), plan, found, rescan))
            last = end
        parts.append(s[last:])
        return "".join(parts)

    # -- plain text -----------------------------------------------------------------------
    def scrub_text(self, text: str) -> tuple[str, list[str]]:
        """Scrub one string (no field rules apply); ``drop`` hides the whole text as ``<NAME>``.
        Returns the new text and the sorted entity names found."""
        found: set[str] = set()
        plan = Plan("", False, "scan", "pii", None, self._ops, False)
        try:
            out = self._text(text, plan, found)
        except Drop as dropped:
            found.add(str(dropped))
            out = f"<{str(dropped).upper()}>"
        return out, sorted(found)


_DEFAULT_SCRUBBER: Scrubber | None = None


def scrub_text(text: str, scrubber: Scrubber | None = None) -> str:
    """Scrub a string with the default policy (or ``scrubber``'s): ``scrub_text("mail bob@x.io")``."""
    global _DEFAULT_SCRUBBER
    if scrubber is None:
        if _DEFAULT_SCRUBBER is None:
            _DEFAULT_SCRUBBER = Scrubber()
        scrubber = _DEFAULT_SCRUBBER
    return scrubber.scrub_text(text)[0]


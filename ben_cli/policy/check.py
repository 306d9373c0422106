"""Meaning after syntax: faults (exit 2) and warnings (rules that can never match, rules an earlier
rule shadows), every one positioned.

A rule is *shadowed* when an earlier rule matches every record it could match: the first match
decides, so the later rule is dead. The test is conservative (it may miss a shadow, never invent
one): each test of the earlier rule must be implied by a test of the later one.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path

from ben_cli.contract.errors import ContractError, ContractErrors
from ben_cli.contract.tree import Pos
from ben_cli.errors import BenError, UsageError
from ben_cli.policy.errors import PolicyError, PolicyErrors, PolicyWarning, did_you_mean
from ben_cli.policy.parser import parse
from ben_cli.policy.tree import Personal, Policy, Rule, Test
from ben_cli.record import LANES


def _glob(text: str) -> bool:
    return any(ch in text for ch in "*?[")


def _implies(later: Test, earlier: Test) -> bool:
    """Whether a record passing ``later`` surely passes ``earlier`` (same kind of test)."""
    if later.what != earlier.what or later.negated != earlier.negated:
        return False
    if later.what == "value":
        if later.op != earlier.op:
            return False
        if later.negated:
            return later.number == earlier.number
        return later.number >= earlier.number if later.op == "over" else later.number <= earlier.number
    if later.what == "unredacted":
        return True
    if later.what == "has":  # has a, b: every field present
        return set(earlier.values) <= set(later.values)
    if later.negated:  # not lane a, b: later excludes at least what earlier excludes
        return set(earlier.values) <= set(later.values)
    return all(any(fnmatchcase(v, g) for g in earlier.values) for v in later.values)


def shadows(earlier: Rule, later: Rule) -> bool:
    """Whether ``earlier`` matches every record ``later`` could (so ``later`` never decides)."""
    return all(any(_implies(t, e) for t in later.tests) for e in earlier.tests)


def never_matches(rule: Rule, has_personal: bool) -> str | None:
    """Why ``rule`` can match no record, or None when it might."""
    literal: dict[str, set[str]] = {}
    excluded: dict[str, set[str]] = {}
    low, high = float("-inf"), float("inf")
    for test in rule.tests:
        if test.what == "lane" and not test.negated and not any(v in LANES or _glob(v) for v in test.values):
            return f"no lane is named {', '.join(test.values)} (lanes: {', '.join(LANES)}){did_you_mean(test.values[0], LANES)}"
        if test.what == "unredacted" and not test.negated and not has_personal:
            return "'unredacted' needs personal fields ('personal ...' or 'personal from \"contract.ben\"'), and none are named"
        if test.what in ("value",) and not test.negated:
            if test.op == "over":
                low = max(low, test.number)
            else:
                high = min(high, test.number)
            if low >= high:
                return f"no value is over {low:g} and under {high:g}"
        elif test.values and test.what != "has":
            if test.negated:
                excluded.setdefault(test.what, set()).update(test.values)
            elif not any(_glob(v) for v in test.values):
                before = literal.get(test.what)
                literal[test.what] = set(test.values) if before is None else before & set(test.values)
        if test.what in literal and not literal[test.what] - excluded.get(test.what, set()):
            return f"no record has a {test.what} that passes all of this rule's {test.what} tests"
    return None


def check(policy: Policy, source: str = "") -> tuple[list[PolicyError], list[PolicyWarning]]:
    """The faults and the warnings of ``policy``, each positioned, in the order written."""
    errors: list[PolicyError] = []
    warnings: list[PolicyWarning] = []
    seen: dict[str, Rule] = {}
    has_personal = bool(policy.personal or policy.contracts)
    live: list[Rule] = []
    for rule in policy.rules:
        if rule.name in seen:
            errors.append(PolicyError(f"rule {rule.name!r} is named twice (first at line {seen[rule.name].pos.line})",
                                      rule.pos, policy.file, source))
        seen.setdefault(rule.name, rule)
        why = never_matches(rule, has_personal)
        if why is not None:
            warnings.append(PolicyWarning(f"rule {rule.name!r} can never match: {why}", rule.pos, policy.file, source))
            continue
        for earlier in live:
            if shadows(earlier, rule):
                warnings.append(PolicyWarning(
                    f"rule {rule.name!r} is shadowed by rule {earlier.name!r} (line {earlier.pos.line}), which matches "
                    f"every record it could: it never decides", rule.pos, policy.file, source))
                break
        live.append(rule)
    return errors, warnings


def personal_from_contracts(policy: Policy, source: str = "", base: Path | None = None) -> None:
    """Add the fields each ``personal from "x.ben"`` contract marks ``pii`` to ``policy.personal``
    (a relative path is read beside the policy)."""
    from ben_cli.contract import load

    for name, pos in policy.contracts:
        path = Path(name)
        if not path.is_absolute() and base is not None:
            path = base / path
        if not path.is_file():
            raise PolicyError(f"cannot read the contract {name}: no such file", pos, policy.file, source)
        try:
            contract = load(path)
        except (ContractError, ContractErrors) as exc:
            first = exc.errors[0].message if isinstance(exc, ContractErrors) else exc.message
            raise PolicyError(f"the contract {name} has faults ({first}): run ben contract check", pos,
                              policy.file, source) from None
        except OSError as exc:
            raise PolicyError(f"cannot read the contract {name}: {exc}", pos, policy.file, source) from None
        except BenError as exc:  # the contract's own UsageError (unreadable)
            raise PolicyError(f"{exc}", pos, policy.file, source) from None
        for lane, kind in contract.kinds():
            paths = tuple(rule.path for rule in kind.rules if rule.pii)
            if paths:
                policy.personal.append(Personal(paths, lane=lane.name, kind=kind.pattern, pos=pos))


def load_text(source: str, file: str = "<policy>", base: Path | None = None) -> tuple[Policy, list[PolicyWarning]]:
    """Parse and check ``source``; raises :class:`PolicyErrors` with every fault, returns the
    policy and its warnings."""
    policy = parse(source, file)
    personal_from_contracts(policy, source, base)
    errors, warnings = check(policy, source)
    if errors:
        raise PolicyErrors(errors)
    return policy, warnings


def load(path: str | Path) -> tuple[Policy, list[PolicyWarning]]:
    """Read, parse and check the policy at ``path``."""
    try:
        source = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read the policy {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"cannot read the policy {path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    return load_text(source, str(path), Path(path).parent)




def faults(path: str | Path) -> tuple[list[PolicyError], list[PolicyWarning]]:
    """``ben policy check``: the faults and the warnings of the policy at ``path``."""
    try:
        _policy, warnings = load(path)
    except PolicyErrors as exc:
        return exc.policy_errors, []
    except PolicyError as exc:
        return [exc], []
    return [], warnings


__all__ = ["Pos", "check", "faults", "load", "load_text", "never_matches", "shadows"]

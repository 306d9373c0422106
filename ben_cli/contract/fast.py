"""The table the compiled check (``_check.c``) reads: a spec per kind, made from the contract's tree.

The C module interprets the same rules ``pycode`` writes as Python, and a test holds the two to
the same answers; where the module cannot be built, :func:`specs` returns None and the Python
validator runs alone. Simple patterns (a literal start, then characters of one class a number of
times, anchored or not) are matched in C on ASCII text; any other pattern, and any text that is
not ASCII, goes to Python's ``re``, as in the Python validator.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ben_cli.contract.tree import Contract, Kind, Lane, Rule

try:
    from ben_cli.contract._check import check as c_check
    from ben_cli.contract._check import seen as c_seen
except ImportError:  # built without a C compiler: the Python validator does the work
    c_check = c_seen = None

TCODES = {"string": 0, "int": 1, "float": 2, "bool": 3, "time": 4, "ip": 5, "duration": 6}
_LITERAL = r"(?:[A-Za-z0-9_ /:=,@#%&'<>~`-]|\\[.\-/\\+*?()\[\]{}|^$#&~ ])"
_CLASS_ITEM = r"(?:[A-Za-z0-9]-[A-Za-z0-9]|[A-Za-z0-9_.:/+@]|\\d|\\w|\\-|-(?=\]))"
_SHAPE = re.compile(rf"\^(?P<prefix>{_LITERAL}*)(?:(?P<cls>\[{_CLASS_ITEM}+\]|\\d|\\w)"
                    r"(?P<q>\+|\*|\{\d+\}|\{\d+,\d*\}))?(?P<end>\$?)")


def _bits(cls: str) -> bytes:
    """The ASCII characters of a class (``[0-9a-f]``, ``\\d``, ``\\w``) as 128 flags."""
    body = cls[1:-1] if cls.startswith("[") else cls
    flags = bytearray(128)
    items = re.findall(r"[A-Za-z0-9]-[A-Za-z0-9]|\\.|.", body)
    for item in items:
        if item == "\\d":
            chars = "0123456789"
        elif item == "\\w":
            chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
        elif item.startswith("\\"):
            chars = item[1]
        elif len(item) == 3:
            chars = "".join(chr(c) for c in range(ord(item[0]), ord(item[2]) + 1))
        else:
            chars = item
        for ch in chars:
            flags[ord(ch)] = 1
    return bytes(flags)


def shape(pattern: str, search: Callable) -> tuple | Callable:
    """The pattern as (prefix, class flags, min, max, anchored, search) when it is simple enough to
    match in C (``^web-\\d+$``, ``^[0-9a-f]{32}$``, ``^/``), else its ``search``."""
    m = _SHAPE.fullmatch(pattern)
    if m is None:
        return search
    prefix = re.sub(r"\\(.)", r"\1", m["prefix"])
    if m["cls"] is None:
        return (prefix, None, 0, 0, bool(m["end"]), search)
    q = m["q"]
    if q == "+":
        low, high = 1, -1
    elif q == "*":
        low, high = 0, -1
    else:
        ends = q[1:-1].split(",")
        low = int(ends[0])
        high = low if len(ends) == 1 else (int(ends[1]) if ends[1] else -1)
    if high >= 0 and high < low:
        return search
    return (prefix, _bits(m["cls"]), low, high, bool(m["end"]), search)


def _rule(rule: Rule, module: dict) -> tuple:
    t = rule.type
    if t.name == "enum":
        tcode = 7 if all(isinstance(v, str) for v in t.values) else 8
    else:
        tcode = TCODES[t.name]
    helper = module["_is_ip"] if t.name == "ip" else module["_DURATION"] if t.name == "duration" else None
    pattern = None
    if rule.pattern is not None:
        pattern = shape(rule.pattern, re.compile(rule.pattern).search)
    unit = rule.unit if rule.scope == "field" and rule.name == "value" else None
    at = rule.at
    return (rule.name, rule.path, tcode, rule.pos.line if rule.required else -1, rule.type.pos.line,
            at["deprecated"].line if rule.deprecated else -1, rule.low, rule.high,
            at["range"].line if rule.has_range else -1, -1 if rule.maxlen is None else rule.maxlen,
            at["maxlen"].line, pattern, at["pattern"].line, frozenset(t.values) if t.name == "enum" else None,
            helper, unit, at["unit"].line)


def _spec(lane: Lane, kind: Kind | None, module: dict) -> tuple:
    rules = kind.rules if kind is not None else []
    fields = tuple(_rule(r, module) for r in rules if r.scope == "field")
    attr_rules = [r for r in rules if r.scope == "attr"]
    closed = kind is not None and kind.closed
    attrs = tuple(_rule(r, module) for r in attr_rules) if attr_rules or closed else None
    return (lane.at["signed"].line if lane.signed else -1, fields, attrs, kind.pos.line if kind else 0,
            frozenset(r.name for r in attr_rules) if closed else None, kind.at["closed"].line if kind else 0)


def compiled_check() -> Callable[[dict, tuple, list], None]:
    """``_check.check``; only call it when :func:`specs` gave specs."""
    assert c_check is not None
    return c_check


def compiled_seen() -> Callable[[dict, tuple, str], bool]:
    """``_check.seen``, the cardinality guard's common case; only when :func:`specs` gave specs."""
    assert c_seen is not None
    return c_seen


def specs(contract: Contract, module: dict) -> list[tuple] | None:
    """A spec per kind, in the order of the validator's ``KINDS`` (signed lanes' catch-alls last);
    None when the compiled check is not available."""
    if c_check is None:
        return None
    out = [_spec(lane, kind, module) for lane, kind in contract.kinds()]
    out += [_spec(lane, None, module) for lane in contract.lanes if lane.signed]
    return out


def both_verdicts(module: dict, table: list[tuple], rec: dict) -> tuple[list, list] | None:
    """The Python validator's and the compiled check's faults for ``rec`` (in that order), or None
    when no kind of the contract takes it: the differential that keeps the C check true to its
    definition (a test and a fuzz target hold them equal)."""
    i = module["kind_of"](rec.get("lane"), rec.get("name"))
    if i < 0:
        return None
    python: list = []
    module["CHECKS"][i](rec, python)
    compiled: list = []
    compiled_check()(rec, table[i], compiled)
    return python, compiled

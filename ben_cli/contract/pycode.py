"""A contract compiled to Python: one function per kind, each rule a few straight lines.

``ben contract compile --to python`` prints this module; ``ben contract validate`` and
``ben ingest --contract`` run the very same text (compiled once, in memory), so what the printed
validator says about a record is what enforcement does. The module needs nothing but the standard
library. It checks one record at a time; the cardinality of labels, which needs memory across
records, is the guard's (:mod:`ben_cli.contract.cardinality`).

A violation is ``(rule, field, value, line)``: the rule broken (``type``, ``required``, ``range``,
``enum``, ``maxlen``, ``pattern``, ``unit``, ``closed``, ``signed``, ``deprecated``), the field's
path, the value found (None when missing) and the contract line that says so.
"""

from __future__ import annotations

import re

from ben_cli.contract.tree import Contract, Kind, Lane, Rule

# RFC 3339 with a zone, up to nanoseconds: what ingest writes in ``ts``. ASCII digits ([0-9], as JSON
# Schema's ECMA-262 \d means) and no capturing groups: twice as fast as \d and (...) in Python's re.
TIME_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})$"
# ben's one duration grammar (ben_cli.units) as a pattern; a duration may also be a number of seconds.
DURATION_PATTERN = r"^(?:(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:ns|us|µs|ms|s|m|h|d|w))+$"
_CACHE_MAX = 1 << 16


def glob_pattern(glob: str) -> str:
    """A kind's name glob as a regular expression (``*`` any run of characters, ``?`` one)."""
    return "^" + "".join("[\\s\\S]*" if c == "*" else "[\\s\\S]" if c == "?" else re.escape(c) for c in glob) + "$"


_PRELUDE = f'''\
import ipaddress
import re

_M = object()  # missing
_EMPTY: dict = {{}}
_TIME = re.compile({TIME_PATTERN!r}).search
_DURATION = re.compile({DURATION_PATTERN!r}).search


def _is_ip(v):
    try:
        address = ipaddress.ip_address(v)
    except ValueError:
        return False
    return not getattr(address, "scope_id", None)

'''


# a Python expression true when {v} has the type; enums are tested against their set of values
_TYPE_TESTS = {
    "string": "type({v}) is str",
    "int": "(type({v}) is int or (type({v}) is float and {v}.is_integer()))",
    "float": "(type({v}) is int or type({v}) is float)",
    "bool": "type({v}) is bool",
    "time": "(type({v}) is str and _TIME({v}) is not None)",
    "ip": "(type({v}) is str and _is_ip({v}))",
    "duration": "((type({v}) is int or type({v}) is float) and {v} >= 0 or type({v}) is str and _DURATION({v}) is not None)",
}


def _type_test(rule: Rule, v: str, consts: dict[str, object]) -> str:
    """A Python expression true when ``v`` has the rule's type."""
    t = rule.type.name
    if t in _TYPE_TESTS:
        return _TYPE_TESTS[t].format(v=v)
    values = rule.type.values  # enum
    name = f"_ENUM{len(consts)}"
    consts[name] = frozenset(values)
    if all(isinstance(x, str) for x in values):
        return f"(type({v}) is str and {v} in {name})"
    return f"((type({v}) is str or type({v}) is int or type({v}) is float) and {v} in {name})"


def _rule_lines(rule: Rule, get: str, consts: dict[str, object]) -> list[str]:
    line = rule.pos.line
    path = rule.path
    out = [f"v = {get}", "if v is _M:"]
    out.append(f"    out.append(('required', {path!r}, None, {line}))" if rule.required else "    pass")
    if rule.deprecated:
        out.append("else:")
        out.append(f"    out.append(('deprecated', {path!r}, v, {rule.at['deprecated'].line}))")
        out.append("if v is _M:")
        out.append("    pass")
    out.append(f"elif not {_type_test(rule, 'v', consts)}:")
    what = "enum" if rule.type.name == "enum" else "type"
    out.append(f"    out.append(({what!r}, {path!r}, v, {rule.type.pos.line}))")
    checks: list[tuple[str, str, int]] = []
    if rule.has_range:
        low = "" if rule.low is None else f"{rule.low!r} <= "
        high = "" if rule.high is None else f" <= {rule.high!r}"
        checks.append((f"not ({low}v{high})", "range", rule.at["range"].line))
    if rule.maxlen is not None:
        checks.append((f"len(v) > {rule.maxlen}", "maxlen", rule.at["maxlen"].line))
    if rule.pattern is not None:
        name = f"_PATTERN{len(consts)}"
        consts[name] = rule.pattern
        checks.append((f"{name}(v) is None", "pattern", rule.at["pattern"].line))
    if checks:
        out.append("else:")
        for cond, what, at in checks:
            out.append(f"    if {cond}:")
            out.append(f"        out.append(({what!r}, {path!r}, v, {at}))")
    return out


def _kind_function(index: int, lane: Lane, kind: Kind | None, consts: dict[str, object]) -> list[str]:
    lines: list[str] = []
    if lane.signed:
        lines += ["if rec.get('sig', _M) is _M:", f"    out.append(('signed', 'sig', None, {lane.at['signed'].line}))"]
    rules = kind.rules if kind is not None else []
    for rule in rules:
        if rule.scope == "field":
            lines += _rule_lines(rule, f"rec.get({rule.name!r}, _M)", consts)
            if rule.name == "value" and rule.unit is not None:
                lines += ["u = rec.get('unit', _M)", f"if u is not _M and u != {rule.unit!r}:",
                          f"    out.append(('unit', 'unit', u, {rule.at['unit'].line}))"]
    attr_rules = [r for r in rules if r.scope == "attr"]
    if attr_rules or (kind is not None and kind.closed):
        assert kind is not None
        lines += ["a = rec.get('attrs', _M)", "if a is _M:", "    a = _EMPTY", "elif type(a) is not dict:",
                  f"    out.append(('type', 'attrs', a, {kind.pos.line}))", "    a = _EMPTY"]
        for rule in attr_rules:
            lines += _rule_lines(rule, f"a.get({rule.name!r}, _M)", consts)
        if kind.closed:
            keys = f"_KEYS{len(consts)}"
            consts[keys] = frozenset(r.name for r in attr_rules)
            lines += [f"if not {keys}.issuperset(a):", "    for k in a:", f"        if k not in {keys}:",
                      f"            out.append(('closed', 'attrs.' + k, a[k], {kind.at['closed'].line}))"]
    body = "\n".join("    " + x for x in "\n".join(lines or ["pass"]).split("\n"))
    where = f"{lane.name} {kind.pattern}" if kind is not None else f"{lane.name} (any other name)"
    return [f"def _kind{index}(rec, out):  # {where!r}", body, "", ""]


def python_source(contract: Contract) -> str:
    """The validator module for ``contract``: ``check(rec)`` returns the record's violations;
    ``kind_of(lane, name)`` the index of the kind a record falls under (-1: none); ``KINDS``
    their (lane, glob) in order; ``CHECKS`` the function of each kind."""
    consts: dict[str, object] = {}
    functions: list[str] = []
    kinds: list[tuple[str, str]] = []
    for lane, kind in contract.kinds():
        functions += _kind_function(len(kinds), lane, kind, consts)
        kinds.append((lane.name, kind.pattern))
    fallbacks: dict[str, int] = {}
    for lane in contract.lanes:  # a signed lane holds every record to its signature, of any name
        if lane.signed:
            fallbacks[lane.name] = len(kinds)
            functions += _kind_function(len(kinds), lane, None, consts)
            kinds.append((lane.name, "*"))
    head = [f'"""Validator compiled from the contract {contract.file} by ben contract compile --to python."""', "",
            _PRELUDE]
    for name, value in consts.items():
        if name.startswith("_PATTERN"):
            head.append(f"{name} = re.compile({value!r}).search")
        else:
            head.append(f"{name} = frozenset({sorted(value, key=repr)!r})")  # type: ignore[call-overload]
    matchers = ", ".join(f"({lane!r}, re.compile({glob_pattern(glob)!r}).search)" for lane, glob in kinds)
    tail = f'''
KINDS = {kinds!r}
CHECKS = [{", ".join(f"_kind{i}" for i in range(len(kinds)))}]
_MATCH = [{matchers}]
_CACHE: dict = {{}}


def kind_of(lane, name):
    """The index in KINDS of the first kind of ``lane`` whose glob matches ``name``; -1: none."""
    try:
        return _CACHE[(lane, name)]
    except KeyError:
        pass
    except TypeError:  # a lane or name that is not a string (a list, an object)
        return -1
    found = -1
    if type(lane) is str and type(name) is str:
        for i, (kind_lane, match) in enumerate(_MATCH):
            if kind_lane == lane and match(name) is not None:
                found = i
                break
    if len(_CACHE) >= {_CACHE_MAX}:
        _CACHE.clear()
    _CACHE[(lane, name)] = found
    return found


def check(rec):
    """The violations of ``rec``: a list of (rule, field, value, contract line); empty: it keeps the contract."""
    out = []
    i = kind_of(rec.get("lane"), rec.get("name"))
    if i >= 0:
        CHECKS[i](rec, out)
    return out
'''
    return "\n".join(head) + "\n\n" + "\n".join(functions) + tail


def compile_validator(contract: Contract) -> dict:
    """The namespace of the compiled validator module (``check``, ``kind_of``, ``KINDS``, ``CHECKS``)."""
    namespace: dict = {"__name__": "ben_contract_validator"}
    exec(compile(python_source(contract), f"<contract {contract.file}>", "exec"), namespace)  # noqa: S102
    return namespace

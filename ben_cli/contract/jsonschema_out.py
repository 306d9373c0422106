"""A contract compiled to JSON Schema (draft 2020-12): one schema per kind under ``$defs``, and a
root that picks a record's kind as the Python validator does, the first kind of its lane whose
glob matches its name (a chain of ``if``/``then``/``else``).

The schema says what the Python validator says about every record (a differential test holds
them to it), with two exceptions it cannot express: cardinality, which needs memory across records
(kept as the annotation ``x-cardinality``), and deprecation, which never rejects (``deprecated``).
Personal data is the annotation ``x-pii``. ``ip`` uses the ``ipv4``/``ipv6`` formats, which a
validator asserts only when asked to (a format checker).
"""

from __future__ import annotations

from ben_cli.contract.pycode import DURATION_PATTERN, TIME_PATTERN, glob_pattern
from ben_cli.contract.tree import Contract, Kind, Lane, Rule

DIALECT = "https://json-schema.org/draft/2020-12/schema"


# a type's schema; enums are built from their values
_TYPE_SCHEMAS: dict[str, dict] = {
    "string": {"type": "string"},
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "time": {"type": "string", "pattern": TIME_PATTERN},
    "ip": {"type": "string", "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]},
    "duration": {"anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": DURATION_PATTERN}]},
}
# (rule attribute, schema keyword) for the constraints and annotations copied when present
_KEYWORDS = (("maxlen", "maxLength"), ("pattern", "pattern"), ("unit", "x-unit"),
             ("cardinality", "x-cardinality"), ("pii", "x-pii"))


def rule_schema(rule: Rule) -> dict:
    t = rule.type.name
    out = dict(_TYPE_SCHEMAS[t]) if t in _TYPE_SCHEMAS else {"enum": list(rule.type.values)}
    if rule.has_range:
        for bound, keyword in ((rule.low, "minimum"), (rule.high, "maximum")):
            if bound is not None:
                out[keyword] = bound
    for attr, keyword in _KEYWORDS:
        value = getattr(rule, attr)
        if value is not None:
            out[keyword] = value
    if rule.deprecated:
        out["deprecated"] = True
        if rule.use is not None:
            out["description"] = f"deprecated{'' if rule.since is None else f' since version {rule.since}'}: use {rule.use}"
    return out


def _add(properties: dict, name: str, schema: dict) -> None:
    if name in properties:
        properties[name] = {"allOf": [properties[name], schema]}
    else:
        properties[name] = schema


def kind_schema(lane: Lane, kind: Kind | None) -> dict:
    """The schema of the records of one kind (or, with None, of a signed lane's other records)."""
    properties: dict = {}
    required: list[str] = []
    rules = kind.rules if kind is not None else []
    for rule in rules:
        if rule.scope == "field":
            _add(properties, rule.name, rule_schema(rule))
            if rule.required:
                required.append(rule.name)
            if rule.name == "value" and rule.unit is not None:
                _add(properties, "unit", {"const": rule.unit})
    attr_rules = [r for r in rules if r.scope == "attr"]
    if attr_rules or (kind is not None and kind.closed):
        attrs: dict = {"type": "object", "properties": {r.name: rule_schema(r) for r in attr_rules}}
        keys = [r.name for r in attr_rules if r.required]
        if keys:
            attrs["required"] = keys
            required.append("attrs")
        if kind is not None and kind.closed:
            attrs["additionalProperties"] = False
        _add(properties, "attrs", attrs)
    if lane.signed:
        required.append("sig")
    out: dict = {"type": "object", "title": f"{lane.name} {kind.pattern if kind is not None else '*'}"}
    if properties:
        out["properties"] = properties
    if required:
        out["required"] = list(dict.fromkeys(required))
    return out


def json_schema(contract: Contract) -> dict:
    """The JSON Schema of ``contract``."""
    defs: dict = {}
    tests: list[tuple[dict, str]] = []
    pairs: list[tuple[Lane, Kind | None]] = list(contract.kinds())
    pairs += [(lane, None) for lane in contract.lanes if lane.signed]
    for i, (lane, kind) in enumerate(pairs):
        key = f"k{i}"
        defs[key] = kind_schema(lane, kind)
        glob = kind.pattern if kind is not None else "*"
        test = {"properties": {"lane": {"const": lane.name}, "name": {"type": "string", "pattern": glob_pattern(glob)}},
                "required": ["lane", "name"]}
        tests.append((test, key))
    chain: dict = {}
    for test, key in reversed(tests):
        step: dict = {"if": test, "then": {"$ref": f"#/$defs/{key}"}}
        if chain:
            step["else"] = chain
        chain = step
    root: dict = {"$schema": DIALECT, "title": contract.name or contract.file, "type": "object"}
    if contract.version is not None:
        root["x-version"] = contract.version
    root.update(chain)
    root["$defs"] = defs
    return root

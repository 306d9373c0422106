"""A contract compiled to ClickHouse: a view per kind over ben's telemetry table, with a typed
column per declared field and attrs key.

Views change nothing about how ``ben sink`` stores records, so they fit both schemas: the legacy
one (ClickHouse before 22.3: ``attrs`` is a ``Nested`` of keys and values) and the modern one
(``attrs`` is a ``Map``). A record falls in the view of the first kind of its lane whose glob
matches its name, as in the validator. Values that do not convert are NULL, never an error.
"""

from __future__ import annotations

import re

from ben_cli.contract.tree import Contract, Kind, Lane, Rule

LEGACY, MODERN = "legacy", "modern"
COLUMNS = ("ts", "lane", "source", "name", "value", "unit", "severity", "body")  # the envelope's own columns


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _ident(text: str) -> str:
    return "`" + text.replace("\\", "\\\\").replace("`", "\\`") + "`"


def _raw(rule: Rule, flavour: str) -> tuple[str, bool]:
    """The expression holding the rule's value as stored, and whether it is text (or JSON)."""
    if rule.scope == "attr":
        if flavour == MODERN:
            return f"attrs[{_literal(rule.name)}]", True
        return f"attrs.value[indexOf(attrs.key, {_literal(rule.name)})]", True
    if rule.name in COLUMNS:
        return rule.name, False
    return f"visitParamExtractRaw(extra, {_literal(rule.name)})", True  # other fields are kept in extra


def _column(rule: Rule, flavour: str) -> str:
    raw, text = _raw(rule, flavour)
    t = rule.type.name
    if not text:  # an envelope column: already typed
        expr = raw
    elif t == "int":
        expr = f"toInt64OrNull({raw})"
    elif t == "float":
        expr = f"toFloat64OrNull({raw})"
    elif t == "bool":
        expr = f"if({raw} IN ('true', 'false'), toUInt8({raw} = 'true'), NULL)"
    elif t == "time":
        unquoted = raw if rule.scope == "attr" else f"visitParamExtractString(extra, {_literal(rule.name)})"
        expr = (f"parseDateTime64BestEffortOrNull({unquoted}, 9, 'UTC')" if flavour == MODERN
                else f"parseDateTimeBestEffortOrNull({unquoted})")
    elif rule.scope == "attr":
        expr = raw
        if t == "enum" and flavour == MODERN:
            expr = f"CAST({raw} AS LowCardinality(String))"
    else:
        expr = f"visitParamExtractString(extra, {_literal(rule.name)})"
    return f"{expr} AS {_ident(rule.path.replace('.', '_'))}"


def _condition(lane: Lane, kind: Kind) -> str:
    if "*" in kind.pattern or "?" in kind.pattern:
        regex = "^" + "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in kind.pattern) + "$"
        name = f"match(name, {_literal(regex)})"
    else:
        name = f"name = {_literal(kind.pattern)}"
    return f"(lane = {_literal(lane.name)} AND {name})"


def view_name(table: str, lane: Lane, kind: Kind) -> str:
    stem = re.sub(r"[^A-Za-z0-9]+", "_", kind.pattern.replace("*", "any")).strip("_") or "any"
    return f"{table}_{lane.name}_{stem}"


def views(contract: Contract, flavour: str = MODERN, database: str = "ben", table: str = "telemetry") -> list[str]:
    """``CREATE VIEW IF NOT EXISTS`` statements, one per kind, over ``database.table``."""
    if flavour not in (LEGACY, MODERN):
        raise ValueError(f"the schema is legacy or modern, not {flavour!r}")
    out: list[str] = []
    earlier: list[tuple[str, str]] = []  # (lane, condition) of the kinds before: a record is in one view
    for lane, kind in contract.kinds():
        cond = _condition(lane, kind)
        where = cond + "".join(f"\n  AND NOT {e}" for name, e in earlier if name == lane.name)
        earlier.append((lane.name, cond))
        cols = ["ts", "source", "name"]
        seen = set(cols)
        for rule in kind.rules:
            if rule.scope == "field" and rule.name in seen:
                continue
            seen.add(rule.path)
            cols.append(_column(rule, flavour))
        select = ",\n    ".join(cols)
        out.append(f"CREATE VIEW IF NOT EXISTS {_ident(database)}.{_ident(view_name(table, lane, kind))} AS\n"
                   f"SELECT\n    {select}\nFROM {_ident(database)}.{_ident(table)}\nWHERE {where}")
    return out

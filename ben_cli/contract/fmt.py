"""The canonical layout of a contract: one rule per line, modifiers in one order, two-space indents.

``fmt`` is idempotent and keeps the meaning (its output parses to an equal tree); comments are kept,
each on its own line above the item that followed it in the source.
"""

from __future__ import annotations

from ben_cli.contract.parser import NAME
from ben_cli.contract.tree import Contract, Pos, Rule


def word(text: str) -> str:
    """``text`` bare when it reads back as one word, else in quotes."""
    return text if NAME.fullmatch(text) else quote(text)


def quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


def number(value: int | float) -> str:
    return str(value) if isinstance(value, int) else repr(value)


def _value(value: str | int | float) -> str:
    return word(value) if isinstance(value, str) else number(value)


def rule_text(rule: Rule) -> str:
    """One rule on one line, modifiers in the canonical order."""
    t = rule.type
    type_text = t.name + (f"({', '.join(_value(v) for v in t.values)})" if t.values else "")
    parts = [rule.scope, f"{word(rule.name)}:", type_text]
    if rule.required:
        parts.append("required")
    if rule.has_range:
        low = "" if rule.low is None else number(rule.low)
        high = "" if rule.high is None else number(rule.high)
        parts += ["range", f"{low}..{high}"]
    if rule.unit is not None:
        parts += ["unit", word(rule.unit)]
    if rule.pattern is not None:
        parts += ["pattern", quote(rule.pattern)]
    if rule.maxlen is not None:
        parts += ["maxlen", str(rule.maxlen)]
    if rule.cardinality is not None:
        parts += ["cardinality", str(rule.cardinality)]
    if rule.pii is not None:
        parts += ["pii", rule.pii]
    if rule.deprecated:
        parts.append("deprecated")
        if rule.since is not None:
            parts += ["since", str(rule.since)]
        if rule.use is not None:
            parts += ["use", word(rule.use)]
    return " ".join(parts)


def fmt(contract: Contract) -> str:
    """The canonical text of ``contract``."""
    out: list[str] = []
    comments = sorted(contract.comments)

    def emit(text: str, at: Pos, indent: int) -> None:
        while comments and (at.line == 0 or comments[0][:2] < (at.line, at.col)):
            out.append("  " * indent + comments.pop(0)[2])
        out.append("  " * indent + text)

    def close(text: str, at: Pos, indent: int) -> None:  # the comments before a closing brace stay inside
        while comments and at.line and comments[0][:2] < (at.line, at.col):
            out.append("  " * indent + comments.pop(0)[2])
        out.append(text)

    if contract.name is not None:
        head = f"contract {word(contract.name)}"
        if contract.version is not None:
            head += f" version {contract.version}"
        if contract.window is not None:
            head += f" window {contract.window}"
        emit(head, contract.pos, 0)
    for lane in contract.lanes:
        if out:
            out.append("")
        emit(f"lane {lane.name}{' signed' if lane.signed else ''} {{", lane.pos, 0)
        for kind in lane.kinds:
            head = f"kind {word(kind.pattern)}"
            if kind.window is not None:
                head += f" window {kind.window}"
            if kind.closed:
                head += " closed"
            emit(head + " {", kind.pos, 1)
            for rule in kind.rules:
                emit(rule_text(rule), rule.pos, 2)
            close("  }", kind.end, 2)
        close("}", lane.end, 1)
    while comments:
        out.append(comments.pop(0)[2])
    return "\n".join(out) + "\n" if out else ""

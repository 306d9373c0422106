"""``--where`` filters: which records are counted.

``FIELD OP VALUE`` with OP one of ``>=``, ``<=``, ``>``, ``<``, ``=``, ``!=`` or ``~`` (a regular
expression searched in the field's text). FIELD is a dotted path (``attrs.code``). ``severity``
compares by rank (trace < debug < info < warn < error < fatal), other fields as numbers when both
sides are numbers, else as text. Several filters must all hold.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from ben_cli.errors import UsageError
from ben_cli.record import SEVERITIES, path_getter

RANK = {name: i for i, name in enumerate(SEVERITIES)}
_FILTER = re.compile(r"^\s*([A-Za-z_@][\w.@-]*)\s*(>=|<=|!=|=|>|<|~)\s*(.*?)\s*$", re.S)

Predicate = Callable[[dict], bool]


def _number(x: Any) -> float | None:
    if type(x) in (int, float):
        return float(x)
    if isinstance(x, str):
        try:
            return float(x)
        except ValueError:
            return None
    return None


def parse_where(texts: Sequence[str]) -> Predicate:
    """One predicate for all the filters (every one must hold); a bad filter is a usage error."""
    preds = [_one(text) for text in texts]
    if not preds:
        return lambda rec: True
    if len(preds) == 1:
        return preds[0]
    return lambda rec: all(p(rec) for p in preds)


def _one(text: str) -> Predicate:
    m = _FILTER.match(text)
    if not m:
        raise UsageError(f"--where: {text!r} is not FIELD OP VALUE (OP: >= <= > < = != ~), e.g. 'severity>=error'")
    path, op, want = m.groups()
    get = path_getter(path)
    if op == "~":
        try:
            pattern = re.compile(want)
        except re.error as exc:
            raise UsageError(f"--where: {text!r}: bad regular expression ({exc})") from None
        return lambda rec: isinstance(v := get(rec), (str, int, float)) and pattern.search(str(v)) is not None
    if path == "severity":
        if want not in RANK:
            raise UsageError(f"--where: {text!r}: severity is one of {', '.join(SEVERITIES)}")
        rank = RANK[want]
        return _compare(lambda rec: RANK.get(s) if isinstance(s := rec.get("severity"), str) else None, op, rank)
    number = _number(want)
    if number is not None and op not in ("=", "!="):
        return _compare(lambda rec: _number(get(rec)), op, number)
    if op in ("=", "!="):
        def same(rec: dict) -> bool:
            v = get(rec)
            return v is not None and (str(v) == want or (number is not None and _number(v) == number))

        return same if op == "=" else (lambda rec: not same(rec))
    return _compare(lambda rec: v if isinstance(v := get(rec), str) else None, op, want)


def _compare(read: Callable[[dict], Any], op: str, want: Any) -> Predicate:
    if op == ">=":
        return lambda rec: (v := read(rec)) is not None and v >= want
    if op == "<=":
        return lambda rec: (v := read(rec)) is not None and v <= want
    if op == ">":
        return lambda rec: (v := read(rec)) is not None and v > want
    if op == "<":
        return lambda rec: (v := read(rec)) is not None and v < want
    if op == "=":
        return lambda rec: read(rec) == want
    return lambda rec: read(rec) != want

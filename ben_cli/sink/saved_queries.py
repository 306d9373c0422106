"""Saved queries ("stored procedures") and parameter binding that never pastes values into SQL.

A saved query is a ``.sql`` file written in ClickHouse's own parameter syntax
(``{name:Type}``), with ``-- @param name Type [= default]`` lines saying what it takes. The
built-ins ship with ben (``ben_cli/sink/queries/``); ``$BEN_HOME/queries/`` and ``--queries DIR``
add more, and a later folder's file shadows an earlier one of the same name.

Binding: a current server receives the query text unchanged and the values separately (the
driver's server-side parameters). An old server without that feature gets the driver's
client-side escaping instead: each ``{name:Type}`` becomes ``%(name)s`` (wrapped in ``CAST(... AS
Type)`` for times) and the driver quotes the value. Either way the value never reaches the SQL text unescaped. Identifiers
(``{table:Identifier}``) are checked to be plain names and quoted with backticks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from ben_cli.errors import BenError
from ben_cli.record import NS_PER_S, TimestampError, to_ns
from ben_cli.sink.target import check_identifier
from ben_cli.units import ben_home

PLACEHOLDER = re.compile(r"\{(\w+):\s*([^{}]+?)\s*\}")
PARAM_LINE = re.compile(r"^--\s*@param\s+(\w+)\s+(\S+)(?:\s*=\s*(.*?))?\s*$")


class QueryError(BenError):
    """A saved query that does not exist, or parameters that do not fit it."""


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: str | None = None


@dataclass(frozen=True)
class SavedQuery:
    name: str
    sql: str
    path: str
    description: str = ""
    params: tuple[Param, ...] = field(default_factory=tuple)

    def listing(self) -> dict:
        """What ``ben db proc --list`` says about it: one NDJSON object."""
        params = [{"name": p.name, "type": p.type, **({"default": p.default} if p.default is not None else {})}
                  for p in self.params]
        return {"name": self.name, "description": self.description, "from": self.path, "params": params}


def parse_saved(name: str, text: str, path: str) -> SavedQuery:
    params, description = [], []
    for line in text.splitlines():
        m = PARAM_LINE.match(line.strip())
        if m:
            params.append(Param(m[1], m[2], m[3]))
        elif line.startswith("--") and not params:
            description.append(line.lstrip("-").strip())
    return SavedQuery(name, text, path, " ".join(d for d in description if d), tuple(params))


def query_dirs(extra: list[Path] | None = None) -> list[Path]:
    return [ben_home() / "queries", *(extra or [])]


def saved_queries(extra: list[Path] | None = None) -> dict[str, SavedQuery]:
    found: dict[str, SavedQuery] = {}
    for item in sorted(resources.files("ben_cli.sink").joinpath("queries").iterdir(), key=lambda p: p.name):
        if item.name.endswith(".sql"):
            name = item.name[:-4]
            found[name] = parse_saved(name, item.read_text(encoding="utf-8"), f"built-in {item.name}")
    for folder in query_dirs(extra):
        if folder.is_dir():
            for path in sorted(folder.glob("*.sql")):
                found[path.stem] = parse_saved(path.stem, path.read_text(encoding="utf-8"), str(path))
    return found


def find_saved(name: str, extra: list[Path] | None = None) -> SavedQuery:
    """The saved query called ``name`` (the last folder that has it wins)."""
    found = saved_queries(extra).get(name)
    if found is None:
        raise QueryError(f"no saved query {name!r}; `ben db proc --list` shows them")
    return found


def parse_params(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise QueryError(f"--param wants NAME=VALUE, got {pair!r}")
        out[key.strip()] = value
    return out


def convert(value: str, type_: str) -> object:
    """A parameter's text as the Python value the driver escapes for its declared type."""
    base = type_
    if base.startswith("Nullable("):
        base = base[len("Nullable("):-1]
    try:
        m = re.fullmatch(r"(U?)Int(\d+)", base)
        if m:
            number, bits = int(value), int(m[2])
            low, high = (0, 2**bits - 1) if m[1] else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
            if not low <= number <= high:
                raise ValueError(f"out of range {low}..{high}")
            return number
        if re.fullmatch(r"Float\d+|Decimal.*", base):
            return float(value)
        if base.startswith("DateTime") or base == "Date":
            ns = to_ns(value)
            return datetime.fromtimestamp(ns // NS_PER_S, UTC)
    except (ValueError, TimestampError) as exc:
        raise QueryError(f"{value!r} is not a {type_}: {exc}") from None
    return value


def bind(sql: str, params: dict[str, str], server_side: bool, declared: tuple[Param, ...] = ()) -> tuple[str, dict]:
    """(query text, values) for the driver; raises QueryError for a missing or unused parameter."""
    values = {p.name: p.default for p in declared if p.default is not None}
    values.update(params)
    used: dict[str, str] = {}
    for m in PLACEHOLDER.finditer(sql):
        used.setdefault(m[1], m[2])
    missing = sorted(set(used) - set(values))
    if missing:
        raise QueryError(f"missing parameter(s): {', '.join(missing)} (pass --param NAME=VALUE)")
    unknown = sorted(set(params) - set(used))
    if unknown:
        raise QueryError(f"the query takes no parameter(s) {', '.join(unknown)}")
    typed = {}
    for name, type_ in used.items():
        if type_ == "Identifier":
            check_identifier(values[name], name)
        typed[name] = convert(values[name], type_)

    if server_side:
        return sql, typed

    def replace(m: re.Match) -> str:
        name, type_ = m[1], m[2]
        if type_ == "Identifier":
            return f"`{typed[name]}`"
        if isinstance(typed[name], (int, float, str)):  # literals that carry their type (LIMIT needs a bare one)
            return f"%({name})s"
        return f"CAST(%({name})s AS {type_})"

    text = PLACEHOLDER.sub(replace, sql.replace("%", "%%"))
    return text, {k: v for k, v in typed.items() if used[k] != "Identifier"}

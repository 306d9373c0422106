"""The scrub policy: which operator each entity gets, which fields are scanned, dropped or left
alone. Read from TOML (``--policy FILE``); :data:`DEFAULT_POLICY` is what runs without one and
what ``ben scrub --print-policy`` prints, so the documented default is the real one.

A mistake in a policy file is reported with its line (``policy.toml:12: unknown operator
'masq' for email; use one of ...``), because a scrubber that silently ignores a rule leaks.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

from ben_cli import registry
from ben_cli.errors import UsageError
from ben_cli.scrub import entities as _entities  # noqa: F401  (registers the built-in entities)
from ben_cli.scrub.operators import OPERATORS

FIELD_ACTIONS = ("scan", "never") + OPERATORS

DEFAULT_POLICY = """\
# ben scrub policy (this is the built-in default; copy it and pass your copy with --policy FILE).
# Operators: redact (<EMAIL>), mask (stars, last 4 kept), pseudonym (<EMAIL:hmac>, keyed and
# stable), truncate (IPv4 /24, IPv6 /48, e-mail to its domain), hash (unkeyed), drop (remove the
# field), keep (leave it; not listed in `redacted`).

[operators]
email = "pseudonym"
ipv4 = "truncate"
ipv6 = "truncate"
mac = "pseudonym"
phone = "redact"
credit_card = "redact"
iban = "redact"
us_ssn = "redact"
jwt = "redact"
auth_header = "redact"
url_password = "redact"
cookie = "redact"
secret = "redact"
aws_access_key = "redact"
aws_secret_key = "redact"
github_token = "redact"
slack_token = "redact"
stripe_key = "redact"
google_api_key = "redact"
private_key = "redact"
high_entropy = "redact"
username = "pseudonym"
ip_in_hostname = "truncate"
secret_prose = "redact"

[scan]
# Every string value is scanned (body, attrs, anything nested); numbers only when this is true
# or a field rule says so.
numbers = false
# A string longer than this is not scanned: its record goes to --rejects instead.
max_value_bytes = 1048576
# Keys of objects are scanned too (a JSON log keyed by user or address). A key that holds personal
# data becomes this operator's output: pseudonym (default) keeps keys distinct and stable; redact
# or hash also work, drop removes the entry, keep leaves keys unscanned. An entity whose operator
# is keep stays in keys as well, and one whose operator is drop drops the entry.
keys = "pseudonym"
# Fields never read or changed (globs over dotted key paths; '*' also crosses dots). Only fields
# that cannot carry personal data, by exact name: `name` can (ingest fills it from an `event`
# field), and so can a key that merely ends in trace_id (`user_trace_id`).
never = ["ts", "lane", "severity", "unit", "redacted", "_ingest", "sig", "via",
         "trace_id", "span_id", "parent_span_id", "traceparent", "tracestate",
         "attrs.trace_id", "attrs.span_id", "attrs.parent_span_id", "attrs.traceparent", "attrs.tracestate"]

# The source names a series (ben detect keys its series by it): an address or a user in it gets a
# stable keyed pseudonym per value, never a truncation, which would merge hosts 10.0.0.5 and
# 10.0.0.6 into one series 10.0.0.0/24.
[[field]]
path = "source"
operators = { ipv4 = "pseudonym", ipv6 = "pseudonym", ip_in_hostname = "pseudonym", mac = "pseudonym", email = "pseudonym", username = "pseudonym" }

# ben detect copies the source into anomaly.series ("source/name"): the same pseudonyms keep the
# copy equal to the field it copies.
[[field]]
path = "anomaly.series"
operators = { ipv4 = "pseudonym", ipv6 = "pseudonym", ip_in_hostname = "pseudonym", mac = "pseudonym", email = "pseudonym", username = "pseudonym" }

# Field rules, first match wins. action: scan (default), never, drop, or an operator applied to
# the whole value; entity names the value in tokens; operators overrides per entity while scanning.
#
# [[field]]
# path = "attrs.user.*"
# action = "pseudonym"
# entity = "user"
#
# [[field]]
# path = "attrs.client_ip"
# operators = { ipv4 = "pseudonym" }
#
# [[field]]
# path = "attrs.order_total"
# numbers = true
"""


class PolicyError(UsageError):
    """A policy that cannot be used; the message names the file and line. A usage error (exit 2):
    the policy is part of how ben scrub was asked to run."""


@dataclass(frozen=True)
class FieldRule:
    path: str
    action: str = "scan"
    entity: str = "pii"
    operators: dict[str, str] = field(default_factory=dict)
    numbers: bool | None = None

    def matches(self, path: str) -> bool:
        return fnmatchcase(path, self.path)


@dataclass(frozen=True)
class Policy:
    operators: dict[str, str]
    never: tuple[str, ...] = ()
    fields: tuple[FieldRule, ...] = ()
    numbers: bool = False
    max_value_bytes: int = 1 << 20
    keys: str = "pseudonym"

    def operator_for(self, entity: str) -> str:
        return self.operators.get(entity) or _default_operator(entity)

    def with_operators(self, **overrides: str) -> Policy:
        return Policy({**self.operators, **overrides}, self.never, self.fields, self.numbers, self.max_value_bytes, self.keys)


def _default_operator(entity: str) -> str:
    try:
        return registry.entities.get(entity).default_operator
    except KeyError:
        return "redact"


def _line_of(text: str, key: str, table: str | None = None, index: int = 0) -> int | None:
    """The line where ``key`` is set inside ``[table]`` (the ``index``-th ``[[table]]``)."""
    current: str | None = None
    counts: dict[str, int] = {}
    assignment = re.compile(rf'(?:^|[{{,])\s*"?{re.escape(key)}"?\s*=')
    for n, line in enumerate(text.splitlines(), 1):
        header = re.match(r"^\s*\[\[?\s*([A-Za-z0-9_.-]+)\s*\]", line)
        if header:
            current = header.group(1)
            counts[current] = counts.get(current, -1) + 1
            if table is None and current == key:
                return n
            continue
        if current == table and (table is None or counts.get(table, 0) == index) and assignment.search(line):
            return n
    return None


def _check_operator(op: object, what: str, where: str, line: int | None) -> str:
    if op not in OPERATORS:
        loc = f"{where}:{line}" if line else where
        raise PolicyError(f"{loc}: unknown operator {op!r} for {what}; use one of {', '.join(OPERATORS)}")
    return op


def parse_policy(text: str, where: str = "<policy>") -> Policy:
    """A :class:`Policy` from TOML text; errors name ``where`` and the line."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise PolicyError(f"{where}:{m.group(1)}: {msg} (column {m.group(2)})" if m else f"{where}: {msg}") from None

    def fail(msg: str, key: str, table: str | None = None, index: int = 0) -> PolicyError:
        line = _line_of(text, key, table, index)
        return PolicyError(f"{where}:{line}: {msg}" if line else f"{where}: {msg}")

    unknown = set(doc) - {"operators", "scan", "field"}
    if unknown:
        key = sorted(unknown)[0]
        raise fail(f"unknown table or key {key!r}; expected [operators], [scan] or [[field]]", key)
    for table in ("operators", "scan"):
        if not isinstance(doc.get(table, {}), dict):
            raise fail(f"{table} is a table: write [{table}] with its keys below it", table)
    known = set(registry.entities.names())
    operators: dict[str, str] = {}
    for name, op in doc.get("operators", {}).items():
        if name not in known:
            raise fail(f"unknown entity {name!r}; known: {', '.join(sorted(known))}", name, "operators")
        operators[name] = _check_operator(op, name, where, _line_of(text, name, "operators"))
    scan = doc.get("scan", {})
    for key in scan:
        if key not in ("numbers", "max_value_bytes", "never", "keys"):
            raise fail(f"unknown key {key!r} in [scan]; expected numbers, max_value_bytes, never or keys", key, "scan")
    keys = _check_operator(scan.get("keys", "pseudonym"), "[scan] keys", where, _line_of(text, "keys", "scan"))
    if keys in ("mask", "truncate"):
        raise fail("[scan] keys cannot be mask or truncate: two keys would become one; use pseudonym, hash, redact, drop or keep",
                   "keys", "scan")
    numbers = scan.get("numbers", False)
    if not isinstance(numbers, bool):
        raise fail("[scan] numbers must be true or false", "numbers", "scan")
    max_bytes = scan.get("max_value_bytes", 1 << 20)
    if not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes < 1:
        raise fail("[scan] max_value_bytes must be a positive integer", "max_value_bytes", "scan")
    never = scan.get("never", [])
    if not isinstance(never, list) or not all(isinstance(p, str) for p in never):
        raise fail("[scan] never must be a list of path globs", "never", "scan")
    rules = []
    raw_fields = doc.get("field", [])
    if not isinstance(raw_fields, list):
        raise fail("field rules are written [[field]]", "field")
    for i, raw in enumerate(raw_fields):
        if not isinstance(raw, dict):
            raise fail("field rules are written [[field]], each a table of path, action, ...", "field")
        for key in raw:
            if key not in ("path", "action", "entity", "operators", "numbers"):
                raise fail(f"unknown key {key!r} in [[field]]; expected path, action, entity, operators or numbers", key, "field", i)
        path = raw.get("path")
        if not isinstance(path, str) or not path:
            raise fail("[[field]] needs a path (a dotted key path, globs allowed)", "path", "field", i) \
                if "path" in raw else PolicyError(f"{where}: [[field]] number {i + 1} has no path")
        action = raw.get("action", "scan")
        if action not in FIELD_ACTIONS:
            raise fail(f"unknown action {action!r} for {path}; use one of {', '.join(FIELD_ACTIONS)}", "action", "field", i)
        entity = raw.get("entity", "pii")
        if not isinstance(entity, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", entity):
            raise fail("entity must be a name of letters, digits and underscores", "entity", "field", i)
        ops = raw.get("operators", {})
        if not isinstance(ops, dict):
            raise fail("operators must be a table: operators = { email = \"keep\" }", "operators", "field", i)
        for name, op in ops.items():
            if name not in known:
                raise fail(f"unknown entity {name!r} in operators for {path}", name, "field", i)
            _check_operator(op, name, where, _line_of(text, name, "field", i))
        nums = raw.get("numbers")
        if nums is not None and not isinstance(nums, bool):
            raise fail("numbers must be true or false", "numbers", "field", i)
        rules.append(FieldRule(path, action, entity.lower(), dict(ops), nums))
    return Policy(operators, tuple(never), tuple(rules), numbers, max_bytes, keys)


def load_policy(path: Path | str | None = None) -> Policy:
    """The policy in ``path``, or the default policy when ``path`` is None."""
    if path is None:
        return default_policy()
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{p}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise PolicyError(f"{p}: not UTF-8 text") from None
    return parse_policy(text, str(p))


_DEFAULT: Policy | None = None


def default_policy() -> Policy:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = parse_policy(DEFAULT_POLICY, "<default policy>")
    return _DEFAULT

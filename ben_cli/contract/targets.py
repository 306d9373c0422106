"""``ben contract compile --to``: a contract as the text of one of its targets."""

from __future__ import annotations

import orjson

from ben_cli.contract import ddl
from ben_cli.contract.jsonschema_out import json_schema
from ben_cli.contract.pycode import python_source
from ben_cli.contract.tree import Contract
from ben_cli.errors import UsageError

TARGETS = ("python", "jsonschema", "clickhouse", "scrub")
# What ben scrub does to the whole value of a field the contract calls personal: an address keeps
# its network, a secret or a card number goes, anything else becomes a keyed, stable pseudonym.
_TRUNCATE = frozenset({"ip", "ipv4", "ipv6"})
_REDACT = frozenset({"secret", "aws_secret_key", "aws_access_key", "cookie", "auth_header", "high_entropy", "github_token",
                     "slack_token", "stripe_key", "google_api_key", "private_key", "jwt", "url_password", "credit_card",
                     "us_ssn", "iban"})


def scrub_rules(contract: Contract) -> str:
    """``[[field]]`` rules of a ben scrub policy, one per rule with ``pii``: the field's whole value
    is rewritten whatever scrub's finders would have found in it."""
    out = [f"# Field rules from the contract {contract.file} (ben contract compile --to scrub): add them to a",
           "# scrub policy (ben scrub --print-policy > policy.toml) and run ben scrub --policy policy.toml."]
    seen: set[str] = set()
    for _lane, kind in contract.kinds():
        for rule in kind.rules:
            if rule.pii is None or rule.path in seen:
                continue
            seen.add(rule.path)
            action = "truncate" if rule.pii in _TRUNCATE else "redact" if rule.pii in _REDACT else "pseudonym"
            entity = "ipv4" if rule.pii == "ip" else rule.pii
            out += ["", "[[field]]", f"path = {_toml(rule.path)}", f"action = {_toml(action)}", f"entity = {_toml(entity)}"]
    return "\n".join(out) + "\n"


def _toml(text: str) -> str:
    return orjson.dumps(text).decode()  # a JSON string is a TOML basic string


def compiled(contract: Contract, to: str, schema: str = ddl.MODERN, database: str = "ben",
             table: str = "telemetry") -> str:
    """The validator module (python), the JSON Schema (jsonschema), the views' DDL (clickhouse) or
    the field rules of a ben scrub policy (scrub)."""
    if to == "python":
        return python_source(contract)
    if to == "jsonschema":
        return orjson.dumps(json_schema(contract), option=orjson.OPT_INDENT_2).decode() + "\n"
    if to == "clickhouse":
        if schema not in (ddl.LEGACY, ddl.MODERN):
            raise UsageError(f"--schema is modern or legacy, not {schema!r}")
        return "".join(sql + ";\n\n" for sql in ddl.views(contract, schema, database, table))
    if to == "scrub":
        return scrub_rules(contract)
    raise UsageError(f"--to is one of {', '.join(TARGETS)}, not {to!r}")

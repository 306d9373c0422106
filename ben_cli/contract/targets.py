"""``ben contract compile --to``: a contract as the text of one of its targets."""

from __future__ import annotations

import orjson

from ben_cli.contract import ddl
from ben_cli.contract.jsonschema_out import json_schema
from ben_cli.contract.pycode import python_source
from ben_cli.contract.tree import Contract
from ben_cli.errors import UsageError

TARGETS = ("python", "jsonschema", "clickhouse")


def compiled(contract: Contract, to: str, schema: str = ddl.MODERN, database: str = "ben",
             table: str = "telemetry") -> str:
    """The validator module (python), the JSON Schema (jsonschema) or the views' DDL (clickhouse)."""
    if to == "python":
        return python_source(contract)
    if to == "jsonschema":
        return orjson.dumps(json_schema(contract), option=orjson.OPT_INDENT_2).decode() + "\n"
    if to == "clickhouse":
        if schema not in (ddl.LEGACY, ddl.MODERN):
            raise UsageError(f"--schema is modern or legacy, not {schema!r}")
        return "".join(sql + ";\n\n" for sql in ddl.views(contract, schema, database, table))
    raise UsageError(f"--to is one of {', '.join(TARGETS)}, not {to!r}")

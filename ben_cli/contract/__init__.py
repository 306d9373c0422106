"""``ben contract``: telemetry contracts, the language that says what a lane's records must look like.

A ``.ben`` file names lanes and, in them, kinds of records by name (globs allowed), with typed
fields and attrs keys, ranges, patterns, lengths, cardinality limits, personal-data annotations,
signatures and deprecations. :mod:`parser` reads it (every node positioned), :mod:`check` judges
it, :mod:`fmt` lays it out, :mod:`pycode`, :mod:`jsonschema_out` and :mod:`ddl` compile it,
:mod:`enforce` holds records to it (:class:`Enforcer` is the stage core), :mod:`infer` writes one
from data and :mod:`diff` says which changes break producers.
"""

from ben_cli.contract.check import check, load_text
from ben_cli.contract.enforce import ContractOptions, ContractWriter, Enforcer, faults, load, overflow_message, run
from ben_cli.contract.errors import ContractError, ContractErrors
from ben_cli.contract.fmt import fmt
from ben_cli.contract.parser import parse
from ben_cli.contract.pycode import python_source
from ben_cli.contract.tree import Contract

__all__ = ["Contract", "ContractError", "ContractErrors", "ContractOptions", "ContractWriter", "Enforcer", "check",
           "faults", "fmt", "load", "load_text", "overflow_message", "parse", "python_source", "run"]

"""``ben policy``: declarative rules that decide, record by record, what may pass.

A policy file says which identities (certificate names and groups from ``ben ca``, or the bee's
``via.peer``) may send which lanes and names, at what rate, with which fields, to which
destinations; the first rule that matches decides, else the explicit default. :mod:`parser` reads
it on the contract language's lexer (same positions, same error format), :mod:`check` finds
faults and dead rules, :mod:`evaluate` decides and explains, :mod:`ratelimit` keeps the token
buckets, :mod:`enforce` is the filter and the sink's gate, :mod:`cases` runs table-driven tests,
and :mod:`bundle` signs, verifies and installs policies against the CA's trust.
"""

from ben_cli.policy.cases import Report, run_cases
from ben_cli.policy.check import check, load, load_text
from ben_cli.policy.enforce import Gate, PolicyOptions, run
from ben_cli.policy.errors import PolicyError, PolicyErrors, PolicyWarning
from ben_cli.policy.evaluate import Evaluator, Who
from ben_cli.policy.parser import parse
from ben_cli.policy.tree import Policy

__all__ = ["Evaluator", "Gate", "Policy", "PolicyError", "PolicyErrors", "PolicyOptions", "PolicyWarning", "Report",
           "Who", "check", "load", "load_text", "parse", "run", "run_cases"]

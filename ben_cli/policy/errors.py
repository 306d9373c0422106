"""Errors and warnings in a policy's text: the contract language's format (``file:line:col:``, the
line, a caret under the fault, a did-you-mean), so both languages read the same."""

from __future__ import annotations

from ben_cli.contract.errors import ContractError, ContractErrors, did_you_mean
from ben_cli.contract.tree import Pos

__all__ = ["PolicyError", "PolicyErrors", "PolicyWarning", "did_you_mean"]


class PolicyError(ContractError):
    """One fault in a policy, positioned; rendered as the contract language renders its faults."""

    def __init__(self, message: str, pos: Pos, file: str = "<policy>", source: str = ""):
        super().__init__(message, pos, file, source)


class PolicyWarning(PolicyError):
    """Something that is allowed but almost surely a mistake: a rule that can never match, or one
    that an earlier rule shadows. ``check`` reports it; ``--strict`` makes it fatal."""

    def __init__(self, message: str, pos: Pos, file: str = "<policy>", source: str = ""):
        super().__init__(f"warning: {message}", pos, file, source)


class PolicyErrors(ContractErrors):
    """Every fault ``check`` found, rendered one after the other (exit status 2)."""

    def __init__(self, errors: list[PolicyError]):
        super().__init__(list[ContractError](errors))
        self.policy_errors = errors

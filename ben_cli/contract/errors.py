"""Errors in a contract's text: where (file:line:col), the line itself and a caret under the fault."""

from __future__ import annotations

from difflib import get_close_matches

from ben_cli.contract.tree import Pos
from ben_cli.errors import BenError, UsageError


def did_you_mean(word: str, choices: tuple[str, ...] | list[str]) -> str:
    """``; did you mean 'string'?`` for a misspelt word, or nothing when no choice is close."""
    close = get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


class ContractError(BenError):
    """One fault in a contract, positioned. ``str()`` is ``file:line:col: message``; ``render``
    adds the line and a caret under the fault."""

    status = UsageError.status  # a contract that cannot be read is a usage error (exit 2)

    def __init__(self, message: str, pos: Pos, file: str = "<contract>", source: str = ""):
        self.message = message
        self.pos = pos
        self.file = file
        self.source = source
        super().__init__(f"{file}:{pos.line}:{pos.col}: {message}")

    def render(self) -> str:
        lines = self.source.splitlines()
        if not 1 <= self.pos.line <= len(lines):
            return str(self)
        text = lines[self.pos.line - 1].expandtabs(1)
        width = max(1, min(self.pos.width, len(text) - self.pos.col + 1))
        return f"{self}\n    {text}\n    {' ' * (self.pos.col - 1)}{'^' * width}"


class ContractErrors(BenError):
    """Every fault ``check`` found, rendered one after the other."""

    status = UsageError.status

    def __init__(self, errors: list[ContractError]):
        self.errors = errors
        super().__init__("\n".join(e.render() for e in errors))

    def render(self) -> str:
        return "\n".join(e.render() for e in self.errors)

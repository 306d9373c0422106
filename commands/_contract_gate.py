"""``ben ingest --contract``: the contract held at the door, kept out of ingest's shell."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

import typer

from ben_cli.rejects import Rejects

from ._common import say


class ContractGate:
    """The checked contract and, once the rejects are open, the enforcer that holds records to it."""

    def __init__(self, path: Path, mode: str, quiet: bool) -> None:
        if mode not in ("reject", "warn"):
            raise typer.BadParameter("must be reject or warn", param_hint="--contract-mode")
        from ben_cli.contract import ContractOptions, overflow_message

        from .contract import load_contract

        self.loaded = load_contract(path)
        self.options = ContractOptions(mode=mode, on_overflow=lambda r: say(overflow_message(r, "ben ingest: contract"), quiet))
        self.enforcer: Any = None

    @classmethod
    def of(cls, path: Optional[Path], mode: str, quiet: bool) -> Optional[ContractGate]:
        """None without ``--contract``: the ingest runs as before."""
        return None if path is None else cls(path, mode, quiet)

    def attach(self, bad: Rejects, options: Any) -> None:
        """Wrap every writer ingest's records go to, so each is checked before it is written."""
        from ben_cli.contract import ContractWriter, Enforcer

        enforcer = self.enforcer = Enforcer(self.loaded, bad, self.options)
        options.wrap_writer = lambda writer: ContractWriter(writer, enforcer)

    def refusal(self, bad: Rejects) -> Callable[[dict], Optional[str]]:
        """The OTLP door's check: the reason a record breaks the contract (reject mode), or None."""
        from ben_cli.contract import Enforcer

        self.enforcer = Enforcer(self.loaded, bad, self.options)
        return self.enforcer.refusal

    def flush(self) -> None:
        self.enforcer.flush()

    def report(self) -> None:
        say("ben ingest: contract: " + ", ".join(f"{k} {v}" for k, v in self.enforcer.counts().items()))

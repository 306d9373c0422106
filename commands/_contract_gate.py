"""``ben ingest --contract`` and ``ben contract validate``: the contract loaded and held at the
door (with the CA trust its signed lanes need), kept out of the two shells."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from ben_cli.errors import ExitStatus
from ben_cli.rejects import Rejects

from ._common import say

if TYPE_CHECKING:
    from ben_cli.contract import Contract

TRUST_HELP = ("A signed lane: the CA trust bundle its signers' certificates must chain to (default: this "
              "machine's CA under $BEN_HOME/ca, else the bundle an enrolled node accepted).")
CRL_HELP = "A signed lane: the CA's revocation list (default: the local CA's own, when --trust is not given)."


def load_contract(path: Path) -> Contract:
    """The checked contract at ``path``; its faults are printed with the line and a caret, and
    end the run with status 2."""
    from ben_cli import contract as core

    try:
        return core.load(path)
    except (core.ContractError, core.ContractErrors) as exc:
        sys.stderr.write(exc.render() + "\n")
    raise typer.Exit(ExitStatus.USAGE)


def signature_check(contract: Any, trust: Optional[Path], crl: Optional[Path]) -> Any:
    """The hook that verifies the sig of records on the contract's signed lanes (None when it has
    none). Files named are read now (a wrong path ends the run); the local CA's trust is read at
    the first signed record. The contract never imports the CA; the shell joins them here."""
    if not any(lane.signed for lane in contract.lanes):
        return None
    import time

    from ben_cli.ca.local import load_trust
    from ben_cli.ca.records import DeferredVerifier, RecordVerifier

    if trust is not None or crl is not None:
        return RecordVerifier(*load_trust(trust, crl, int(time.time())))
    return DeferredVerifier(lambda: RecordVerifier(*load_trust(None, None, int(time.time()))))


class ContractGate:
    """The checked contract and, once the rejects are open, the enforcer that holds records to it."""

    def __init__(self, path: Path, mode: str, quiet: bool, trust: Optional[Path] = None,
                 crl: Optional[Path] = None, who: str = "ben ingest: contract", mode_flag: str = "--contract-mode") -> None:
        if mode not in ("reject", "warn"):
            raise typer.BadParameter("must be reject or warn", param_hint=mode_flag)
        from ben_cli.contract import ContractOptions, overflow_message

        self.loaded = load_contract(path)
        self.options = ContractOptions(mode=mode, on_overflow=lambda r: say(overflow_message(r, who), quiet),
                                       signatures=signature_check(self.loaded, trust, crl))
        self.enforcer: Any = None

    @classmethod
    def of(cls, path: Optional[Path], mode: str, quiet: bool, trust: Optional[Path] = None,
           crl: Optional[Path] = None) -> Optional[ContractGate]:
        """None without ``--contract``: the ingest runs as before."""
        return None if path is None else cls(path, mode, quiet, trust, crl)

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

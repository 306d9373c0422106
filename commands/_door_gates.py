"""``ben ingest --contract`` and ``--policy``: what is held to them, and where.

Reading files or a plain socket, the contract wraps the writer (``ContractGate``). Serving OTLP
(``--listen grpc://`` or ``http://``), both go to the door's ``check`` seam instead, so a record
they refuse is counted in the answer's ``partial_success`` with the reason and is never
acknowledged as accepted; the door writes it to ``--rejects``. The policy applies in the OTLP
modes only (a file or a socket stream has ``ben policy enforce`` after it). ingest knows neither:
this module is where they meet it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ben_cli.errors import UsageError
from ben_cli.rejects import Rejects

from ._common import say
from ._contract_gate import ContractGate

PolicyOpt = Annotated[Optional[Path], typer.Option("--policy", metavar="FILE", help="--listen grpc/http: refuse records this policy denies or rate-limits, before they are acknowledged (counted in partial_success, written to --rejects with the rule).")]
IdentityOpt = Annotated[Optional[str], typer.Option("--identity", help="--policy: who sends the records (the policy's identity; a client certificate's subject is not read).")]
GroupOpt = Annotated[Optional[list[str]], typer.Option("--group", help="--policy: a group of that identity; repeatable.")]

Check = Callable[[dict], Optional[str]]


def is_otlp(listen: Optional[str]) -> bool:
    """Whether ``--listen`` serves OTLP, where the door's ``check`` seam is."""
    return listen is not None and listen.startswith(("grpc://", "http://"))


class DoorGates:
    """The contract and the policy an ingest run holds records to, composed for the door."""

    def __init__(self, contract: Optional[ContractGate], policy: Optional[Path], who: tuple[Optional[str], tuple[str, ...]],
                 quiet: bool) -> None:
        self.contract, self.policy_path, self.who, self.quiet = contract, policy, who, quiet
        self.policy: Any = None

    @classmethod
    def of(cls, contract: Optional[Path], mode: str, policy: Optional[Path], identity: Optional[str],
           groups: Optional[list[str]], quiet: bool, trust: Optional[Path] = None,
           crl: Optional[Path] = None) -> Optional[DoorGates]:
        """None without ``--contract`` and ``--policy``: the ingest runs as before."""
        if contract is None and policy is None:
            return None
        return cls(ContractGate.of(contract, mode, quiet, trust, crl), policy, (identity, tuple(groups or ())), quiet)

    def attach(self, bad: Rejects, options: Any) -> None:
        """Put each gate where it holds records before they are written (and, at the OTLP door,
        before they are acknowledged)."""
        otlp = is_otlp(options.listen)
        if self.policy_path is not None and not otlp:
            raise UsageError("--policy applies to --listen grpc:// and http://; pipe other input through `ben policy enforce`")
        checks: list[Check] = []
        if self.policy_path is not None:
            from ben_cli.policy.enforce import gate_for

            self.policy = gate_for(self.policy_path, bad, self.who[0], self.who[1], f"file:{options.output or '-'}")
            checks.append(self._policy_refusal)
        if self.contract is not None:
            if otlp:
                checks.append(self.contract.refusal(bad))
            else:
                self.contract.attach(bad, options)
        if checks:
            options.check = _one_at_a_time(checks)

    def _policy_refusal(self, rec: dict) -> Optional[str]:
        reason = self.policy.refusal(rec)
        self.policy.evaluator.alerts.clear()  # alert records have no way out of the door: not kept
        return reason

    def flush(self) -> None:
        if self.contract is not None:
            self.contract.flush()

    def report(self) -> None:
        if self.contract is not None:
            self.contract.report()
        if self.policy is not None:
            counts = self.policy.counts
            say(f"ben ingest: policy: allowed {counts['allow']}, denied {counts['deny']}, rate-limited {counts['limited']}")


def _one_at_a_time(checks: list[Check]) -> Check:
    """The checks in order, the first reason refusing; under one lock, since the transports call
    the door from several threads and the gates keep counts, windows and rate limits."""
    lock = threading.Lock()

    def check(rec: dict) -> Optional[str]:
        with lock:
            for one in checks:
                reason = one(rec)
                if reason is not None:
                    return reason
            return None

    return check

"""``ben bee listen`` and ``ben bee send`` as two calls: credentials, sockets, signals, summary.

The listener ends on SIGTERM or SIGINT (saving its marks; the connections are cut, their senders
resume on the next listener) and rereads its revocation list on SIGHUP, dropping every peer the
new list revokes, and its policy file (``--policy-file``), which judges records from the next one
on if it still checks.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ben_cli.bee import address as addresses
from ben_cli.bee.committed import Committed
from ben_cli.bee.handshake import Credentials
from ben_cli.bee.listener import Listener, Marks
from ben_cli.bee.listener import Options as ListenOptions
from ben_cli.bee.sender import Options as SendOptions
from ben_cli.bee.sender import Sender, Stats
from ben_cli.bee.spooled import SpoolAcks
from ben_cli.bee.window import Spool, Window
from ben_cli.errors import UsageError
from ben_cli.policy.enforce import gate_for
from ben_cli.policy.evaluate import DENY, LIMITED
from ben_cli.rejects import Rejects, Summary


@dataclass(frozen=True)
class Identity:
    """The files a bee needs: its certificate, its X25519 key, the trust bundle, the CRL."""

    cert: Path
    key: Path
    bundle: Path
    crl: Path | None = None

    def credentials(self) -> Credentials:
        return Credentials.load(self.cert, self.key, self.bundle, self.crl)


def listen(where: str, identity: Identity, out: BinaryIO, *, state: Path | None, options: ListenOptions,
           rejects: Rejects, log: Callable[[str], None], ready: Callable[[str], None] = lambda text: None,
           policy: Path | None = None, ack_from: Path | None = None) -> Summary:
    """Serve until SIGTERM/SIGINT; the counts for the summary line. ``policy``: a policy file
    that judges each record with its peer's certificate name and groups. ``ack_from``: the state
    of the ``ben sink --ack`` downstream, whose committed positions are what is acknowledged."""
    if ack_from is not None and state is not None:
        raise UsageError("--ack-from and --state exclude each other: with --ack-from the sink's "
                         "acknowledgements are the listener's state")
    creds = identity.credentials()
    gate = gate_for(policy, rejects, None, (), None) if policy is not None else None
    committed = Committed(ack_from) if ack_from is not None else None
    listener = Listener(creds, out, Marks(state), options, rejects, log, gate, committed)
    server = addresses.parse(where).listen()
    bound = server.getsockname()
    ready(f"{bound[0]}:{bound[1]}" if isinstance(bound, tuple) else f"unix:{bound}")
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: listener.stop())
        signal.signal(signal.SIGINT, lambda *_: listener.stop())
        if identity.crl is not None or policy is not None:
            signal.signal(signal.SIGHUP, lambda *_: threading.Thread(
                target=_reload, args=(listener, identity.crl, policy, log)).start())
    try:
        listener.serve(server)
    finally:
        server.close()
    n = listener.counts
    denied, limited = (gate.counts[DENY], gate.counts[LIMITED]) if gate is not None else (0, 0)
    extra: dict[str, int] = {"duplicates dropped": n.duplicates, "connections": n.connections,
                             "refused": n.refused, "dropped": n.dropped}
    if gate is not None:
        extra.update({"denied": denied, "limited": limited, "alerts": n.alerts})
        for line in gate.limited_lines():
            log(line)
    return Summary("bee listen", read=n.records + n.rejected + n.duplicates + denied + limited, written=n.records,
                   rejected=n.rejected + denied, extra=extra)


def _reload(listener: Listener, crl: Path | None, policy: Path | None, log: Callable[[str], None]) -> None:
    """SIGHUP: the revocation list, then the policy file; a bad one keeps the one in force."""
    if crl is not None:
        try:
            dropped = listener.reload_crl(crl)
        except Exception as exc:  # a bad list keeps the old one: say so, keep serving
            log(f"SIGHUP: the revocation list {crl} was not reloaded: {exc}")
        else:
            log(f"SIGHUP: reloaded {crl}; dropped {dropped} connection(s)")
    if policy is not None:
        try:
            what = listener.reload_policy(policy)
        except Exception as exc:  # a policy that no longer checks: the one in force stays
            log(f"SIGHUP: the policy {policy} was not reloaded, the one in force stays: {exc}")
        else:
            log(f"SIGHUP: reloaded the policy {policy} ({what})")


def send(where: str, identity: Identity, *, spool: Path | None, options: SendOptions,
         log: Callable[[str], None], ack: Path | None = None) -> Stats:
    """Stream stdin to ``where``; return once the listener has acknowledged every record.
    ``ack``: the ingest state whose inputs' positions the spool acknowledges (needs ``spool``)."""
    if ack is not None and spool is None:
        raise UsageError("--ack needs --spool: only records on disk can be acknowledged to ingest")
    creds = identity.credentials()
    window: Window = Spool(spool, SpoolAcks(ack) if ack is not None else None) if spool is not None else Window()
    try:
        if isinstance(window, Spool) and window.resumed:
            log(f"resuming {window.resumed} unacknowledged record(s) from the spool {spool}")
        stats = Sender(creds, addresses.parse(where), sys.stdin.fileno(), window, options, log).run()
        if isinstance(window, Spool) and window.acks is not None:
            stats.already = window.acks.dropped
        return stats
    finally:
        window.close()

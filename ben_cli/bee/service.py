"""``ben bee listen`` and ``ben bee send`` as two calls: credentials, sockets, signals, summary.

The listener ends on SIGTERM or SIGINT (saving its marks; the connections are cut, their senders
resume on the next listener) and rereads its revocation list on SIGHUP, dropping every peer the
new list revokes.
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
from ben_cli.bee.handshake import Credentials
from ben_cli.bee.listener import Listener, Marks
from ben_cli.bee.listener import Options as ListenOptions
from ben_cli.bee.sender import Options as SendOptions
from ben_cli.bee.sender import Sender, Stats
from ben_cli.bee.window import Spool, Window
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
           rejects: Rejects, log: Callable[[str], None], ready: Callable[[str], None] = lambda text: None) -> Summary:
    """Serve until SIGTERM/SIGINT; the counts for the summary line."""
    creds = identity.credentials()
    listener = Listener(creds, out, Marks(state), options, rejects, log)
    server = addresses.parse(where).listen()
    bound = server.getsockname()
    ready(f"{bound[0]}:{bound[1]}" if isinstance(bound, tuple) else f"unix:{bound}")
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: listener.stop())
        signal.signal(signal.SIGINT, lambda *_: listener.stop())
        if identity.crl is not None:
            crl = identity.crl
            signal.signal(signal.SIGHUP, lambda *_: threading.Thread(target=_reload, args=(listener, crl, log)).start())
    try:
        listener.serve(server)
    finally:
        server.close()
    n = listener.counts
    return Summary("bee listen", read=n.records + n.rejected + n.duplicates, written=n.records, rejected=n.rejected,
                   extra={"duplicates dropped": n.duplicates, "connections": n.connections, "refused": n.refused,
                          "dropped": n.dropped})


def _reload(listener: Listener, crl: Path, log: Callable[[str], None]) -> None:
    try:
        dropped = listener.reload_crl(crl)
    except Exception as exc:  # a bad list keeps the old one: say so, keep serving
        log(f"SIGHUP: the revocation list {crl} was not reloaded: {exc}")
        return
    log(f"SIGHUP: reloaded {crl}; dropped {dropped} connection(s)")


def send(where: str, identity: Identity, *, spool: Path | None, options: SendOptions,
         log: Callable[[str], None]) -> Stats:
    """Stream stdin to ``where``; return once the listener has acknowledged every record."""
    creds = identity.credentials()
    window: Window = Spool(spool) if spool is not None else Window()
    try:
        if isinstance(window, Spool) and window.resumed:
            log(f"resuming {window.resumed} unacknowledged record(s) from the spool {spool}")
        return Sender(creds, addresses.parse(where), sys.stdin.fileno(), window, options, log).run()
    finally:
        window.close()

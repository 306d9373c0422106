"""``ben bee``: the bridge that carries records between hosts, encrypted, authenticated, resumable."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import click
import typer

from ben_cli.bee import listener as lsn
from ben_cli.bee import sender as snd
from ben_cli.bee import service
from ben_cli.rejects import Rejects

from ._common import QuietOpt, as_duration, say

app = typer.Typer(help="The bridge: records carried between hosts, encrypted, authenticated, exactly once.",
                  no_args_is_help=True)

CertOpt = Annotated[Path, typer.Option("--cert", help="This node's certificate (ben-cert-v1).")]
KeyOpt = Annotated[Path, typer.Option("--key", help="This node's X25519 key (the noise.key the certificate binds).")]
BundleOpt = Annotated[Path, typer.Option("--bundle", help="The CA certificates to trust (ben ca bundle).")]


def _log(quiet: bool, command: str):
    return lambda message: say(f"ben bee {command}: {message}", quiet)


@app.command()
def listen(
    address: Annotated[str, typer.Argument(metavar="ADDR", help="HOST:PORT, :PORT (loopback) or unix:PATH.")],
    cert: CertOpt, key: KeyOpt, bundle: BundleOpt,
    crl: Annotated[Optional[Path], typer.Option("--crl", help="A revocation list of the bundle's CA; reread on SIGHUP.")] = None,
    state: Annotated[Optional[Path], typer.Option("--state", help="Keep the high-water marks here, across restarts.")] = None,
    policy: Annotated[str, typer.Option("--policy", click_type=click.Choice(lsn.POLICIES),
                                        help="lanes: a record's lane must be one its peer's certificate allows; none: any.")] = "lanes",
    policy_file: Annotated[Optional[Path], typer.Option("--policy-file", metavar="FILE",
                                                        help="Also judge each record by this ben policy, as sent by its peer "
                                                             "(via.peer, via.groups from its certificate); denied records go "
                                                             "to --rejects, rate-limited ones are counted; reread on SIGHUP.")] = None,
    handshake_timeout: Annotated[str, typer.Option("--handshake-timeout", callback=as_duration, metavar="DURATION",
                                                   help="Drop a connection that has not finished its handshake by then.")] = "5s",
    per_source: Annotated[int, typer.Option("--handshakes-per-source", min=1, help="Concurrent handshakes from one address.")] = 8,
    max_peers: Annotated[int, typer.Option("--max-peers", min=1, help="Connections at once.")] = 1024,
    rejects: Annotated[Optional[Path], typer.Option("--rejects", help="Records refused (not JSON, a lane not allowed, denied by --policy-file) go here.")] = None,
    ack_from: Annotated[Optional[Path], typer.Option("--ack-from", metavar="STATE",
                                                     help="Acknowledge to senders only what `ben sink --ack STATE` downstream "
                                                          "holds (STATE.ack): records are stamped with their stream's position "
                                                          "(_ingest, the sender's mark under _ingest.from), and a restart asks "
                                                          "again for what died in the pipe. Excludes --state.")] = None,
    quiet: QuietOpt = False,
) -> None:
    """Receive records from bee senders and write them to stdout, each with via: {peer, cert, groups}."""
    options = lsn.Options(policy, float(handshake_timeout), per_source, max_peers)  # type: ignore[arg-type]
    with Rejects(rejects, stage="bee listen") as bad:
        summary = service.listen(address, service.Identity(cert, key, bundle, crl), sys.stdout.buffer, state=state,
                                 options=options, rejects=bad, log=_log(quiet, "listen"),
                                 ready=lambda where: say(f"ben bee listen: listening on {where}", quiet),
                                 policy=policy_file, ack_from=ack_from)
    if not quiet:
        summary.report(sys.stderr, bad)


@app.command()
def send(
    address: Annotated[str, typer.Argument(metavar="ADDR", help="The listener: HOST:PORT, :PORT or unix:PATH.")],
    cert: CertOpt, key: KeyOpt, bundle: BundleOpt,
    crl: Annotated[Optional[Path], typer.Option("--crl", help="A revocation list of the bundle's CA, for the listener's certificate.")] = None,
    spool: Annotated[Optional[Path], typer.Option("--spool", help="Keep unacknowledged records in this folder; a rerun resends them.")] = None,
    give_up: Annotated[str, typer.Option("--give-up", callback=as_duration, metavar="DURATION",
                                         help="Exit 1 after failing to reach the listener this long (0: never).")] = "0s",
    backoff_max: Annotated[str, typer.Option("--backoff-max", callback=as_duration, metavar="DURATION",
                                             help="The longest wait between reconnects.")] = "5s",
    ack: Annotated[Optional[Path], typer.Option("--ack", metavar="STATE",
                                                help="With --spool: keep in STATE.ack how far into each input the spooled "
                                                     "records reach, for `ben ingest --since-last --ack --state STATE`, and "
                                                     "drop records read again that the spool already holds.")] = None,
    quiet: QuietOpt = False,
) -> None:
    """Stream stdin's records to a bee listener; exit 0 once it has acknowledged every one."""
    options = snd.Options(backoff_max=float(backoff_max), give_up=float(give_up))  # type: ignore[arg-type]
    stats = service.send(address, service.Identity(cert, key, bundle, crl), spool=spool, options=options, log=_log(quiet, "send"),
                         ack=ack)
    already = f", already spooled {stats.already}" if ack is not None else ""
    say(f"ben bee send: sent {stats.records}, acknowledged all; connections {stats.connections}, "
        f"resent {stats.resent}, lines too long {stats.too_long}{already}", quiet)

"""``ben ca`` enrolment: token and sign on the CA, enroll, accept and renew on the node; and the
options and helpers the group's two modules share (attached to the group in ``ca.py``)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from ben_cli.atomic import write_atomic
from ben_cli.ca import authority, enrol
from ben_cli.ca import cert as c
from ben_cli.ca import serve as listening
from ben_cli.ca.node import Node
from ben_cli.ca.node import default_root as node_root
from ben_cli.ca.store import Store
from ben_cli.crypto import files

from ._common import QuietOpt, as_duration, say

ASK, ASK_TWICE = files.passphrase_source(), files.passphrase_source(confirm=True)
OutOpt = Annotated[Optional[Path], typer.Option("--out", metavar="FILE", help="Write here (atomically) instead of stdout.")]
NameOpt = Annotated[str, typer.Option("--name", help="The node's name, as certificates and logs show it.")]
GroupsOpt = Annotated[str, typer.Option("--groups", help="Comma-separated groups (none by default).")]
LanesOpt = Annotated[str, typer.Option("--lanes", help="Comma-separated lanes it may use: diag, event, control.")]
UsageOpt = Annotated[str, typer.Option("--usage", help="Comma-separated uses: client, server, sign.")]
CaOpt = Annotated[Optional[str], typer.Option("--ca", metavar="URL", help="A listening CA (ben ca serve), e.g. http://ca.example:7340.")]
TtlOpt = Annotated[str, typer.Option("--ttl", callback=as_duration, metavar="DURATION", help="Lifetime of the certificate (1h, 7d, 12w).")]


def emit(text: str, out: Optional[Path]) -> None:
    """``text`` onto stdout, or into ``out`` atomically."""
    if out is None:
        sys.stdout.write(text)
    else:
        write_atomic(out, text.encode("utf-8"))


def ca_store(quiet: bool = True) -> Store:
    """The CA of $BEN_HOME, which must exist; its warnings (expiry within 90 days) on stderr."""
    store = Store()
    store.require()
    for warning in authority.warnings(store, int(time.time())):
        say(f"ben ca: warning: {warning}", quiet)
    return store


def profile(name: str, groups: str, lanes: str, usage: str, ttl: float) -> authority.Profile:
    return authority.Profile(name, *map(authority.split_list, (groups, lanes, usage)), int(ttl))  # type: ignore[misc]


def done(verb: str, cert: c.Certificate, quiet: bool) -> None:
    say(f"ben ca {verb}: {cert.name}: serial {cert.serial}, until {c.format_time(cert.not_after)}", quiet)


def register(app: typer.Typer) -> None:
    @app.command()
    def token(name: NameOpt, groups: GroupsOpt = "", lanes: LanesOpt = "diag,event", usage: UsageOpt = "client", ttl: TtlOpt = "7d") -> None:
        """Make a single-use enrolment token, valid 5 minutes, for a certificate with these fields."""
        sys.stdout.write(enrol.make_token(ca_store(), profile(name, groups, lanes, usage, ttl), int(time.time())).text + "\n")  # type: ignore[arg-type]

    @app.command()
    def enroll(token: Annotated[str, typer.Option("--token", help="The token from ben ca token.")], ca: CaOpt = None,
               out: OutOpt = None, quiet: QuietOpt = False) -> None:
        """On the node: make its keys here ($BEN_HOME/node, 0600) and print the request for ben ca sign
        (or, with --ca, send it to a listening CA and keep the certificate)."""
        node = Node(node_root())
        if ca is not None:
            done("enroll", node.enroll_online(token, ca, int(time.time())), quiet)
            return
        emit(node.enroll(token, int(time.time())).decode("ascii"), out)
        say(f"ben ca enroll: keys in {node.root}; give the request to ben ca sign, then ben ca accept the certificate", quiet)

    @app.command()
    def sign(request: Annotated[Path, typer.Argument(help="The request from ben ca enroll or ben ca renew ('-' for stdin).")],
             out: OutOpt = None, quiet: QuietOpt = False) -> None:
        """On the CA: turn an enrolment or renewal request into a certificate."""
        store = ca_store(quiet)
        data = sys.stdin.buffer.read() if str(request) == "-" else request.read_bytes()
        cert = enrol.sign_request(store, store.signing_key(ASK), data, int(time.time()))
        emit(cert.text, out)
        done("sign", cert, quiet)

    @app.command()
    def accept(cert: Annotated[Path, typer.Argument(help="The certificate ben ca sign made for this node.")],
               bundle: Annotated[Optional[Path], typer.Option("--bundle", help="The CA's trust bundle (kept for later; default: the one kept).")] = None,
               quiet: QuietOpt = False) -> None:
        """On the node: keep the certificate once it verifies and binds this node's keys."""
        done("accept", Node(node_root()).accept(cert.read_bytes(), bundle.read_bytes() if bundle else None, int(time.time())), quiet)

    @app.command()
    def renew(force: Annotated[bool, typer.Option("--force", help="Make the request even before two thirds of the lifetime.")] = False,
              ca: CaOpt = None, no_follow: Annotated[bool, typer.Option("--no-follow", help="With --ca: trust no new CA, even one the old CA vouched for (after a compromise).")] = False,
              out: OutOpt = None, quiet: QuietOpt = False) -> None:
        """On the node: once two thirds of the certificate's life has passed, print a renewal request
        signed by the node's key, or with --ca renew through a listening CA (before that, say when it
        is due and exit 0: cron-friendly)."""
        node, now = Node(node_root()), int(time.time())
        request, due = node.renew(now, force) if ca is None else node.renew_online(ca, now, force, not no_follow)
        if request is None:
            say(f"ben ca renew: not due until {c.format_time(due)}", quiet)
        elif isinstance(request, c.Certificate):
            done("renew", request, quiet)
        else:
            emit(request.decode("ascii"), out)

    @app.command()
    def serve(listen: Annotated[str, typer.Option("--listen", metavar="HOST:PORT", help="Where to listen for enrolment and renewal requests.")] = "127.0.0.1:7340",
              quiet: QuietOpt = False) -> None:
        """A listening CA: POST /sign turns requests into certificates; GET /bundle and /crl. Until Ctrl-C or SIGTERM."""
        store = ca_store(quiet)
        server = listening.make_server(store, store.signing_key(ASK), *listening.parse_listen(listen), lambda: int(time.time()),
                                       lambda line: say(f"ben ca serve: {line}", quiet))
        say(f"ben ca serve: listening on http://{server.server_address[0]}:{server.server_address[1]}", quiet)
        listening.run(server)  # until SIGINT or SIGTERM
        say("ben ca serve: stopped", quiet)

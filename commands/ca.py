"""``ben ca``: the bee-keeper, a local certificate authority for bee nodes."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from ben_cli.atomic import write_atomic
from ben_cli.ca import audit, authority, enrol, local
from ben_cli.ca import cert as c
from ben_cli.ca.node import Node
from ben_cli.ca.node import default_root as node_root
from ben_cli.ca.store import Store
from ben_cli.ca.verify import Requirements
from ben_cli.crypto import files, keyfiles

from ._common import QuietOpt, as_duration, say

app = typer.Typer(
    help="The bee-keeper: a local certificate authority for bee nodes (ben-cert-v1 certificates).",
    no_args_is_help=True,
)

ASK, ASK_TWICE = files.passphrase_source(), files.passphrase_source(confirm=True)
OutOpt = Annotated[Optional[Path], typer.Option("--out", "-o", metavar="FILE", help="Write here (atomically) instead of stdout.")]
NameOpt = Annotated[str, typer.Option("--name", help="The node's name, as certificates and logs show it.")]
GroupsOpt = Annotated[str, typer.Option("--groups", help="Comma-separated groups (none by default).")]
LanesOpt = Annotated[str, typer.Option("--lanes", help="Comma-separated lanes it may use: diag, event, control.")]
UsageOpt = Annotated[str, typer.Option("--usage", help="Comma-separated uses: client, server, sign.")]
TtlOpt = Annotated[str, typer.Option("--ttl", callback=as_duration, metavar="DURATION", help="Lifetime of the certificate (1h, 7d, 12w).")]
CostOpt = Annotated[str, typer.Option("--cost", help="scrypt cost of the CA key's passphrase: interactive, moderate or sensitive.")]


def _now() -> int:
    return int(time.time())


def _emit(text: str, out: Optional[Path]) -> None:
    if out is None:
        sys.stdout.write(text)
    else:
        write_atomic(out, text.encode("utf-8"))


def _profile(name: str, groups: str, lanes: str, usage: str, ttl: object) -> authority.Profile:
    split = authority.split_list
    return authority.Profile(name, split(groups), split(lanes), split(usage), int(ttl))  # type: ignore[call-overload]


def _warn(store: Store, quiet: bool) -> None:
    for warning in authority.warnings(store, _now()):
        say(f"ben ca: warning: {warning}", quiet)


def _fields(values: dict) -> str:
    return "".join(f"{k}: {','.join(v) if isinstance(v, list) else v}".rstrip() + "\n" for k, v in values.items())


@app.command()
def init(
    name: Annotated[str, typer.Option("--name", help="The CA's name.")] = "ben-ca",
    life: Annotated[str, typer.Option("--life", callback=as_duration, metavar="DURATION", help="Lifetime of the CA certificate.")] = "1825d",
    cost: CostOpt = "moderate",
    quiet: QuietOpt = False,
) -> None:
    """Create the CA in $BEN_HOME/ca: its keys (protected by a passphrase from BEN_PASSPHRASE or
    the terminal), its self-signed certificate, an empty revocation list, the audit log."""
    if cost not in keyfiles.COST_LEVELS:
        raise typer.BadParameter(f"must be one of {', '.join(keyfiles.COST_LEVELS)}", param_hint="'--cost'")
    store = Store()
    certificate = authority.init(store, ASK_TWICE(), _now(), name, int(life), cost)
    say(f"ben ca init: created the CA in {store.root} (key id {certificate.issuer})", quiet)
    sys.stdout.write(_fields(certificate.summary()))


@app.command()
def show(
    cert: Annotated[Optional[Path], typer.Argument(help="A certificate file (default: the CA's own).")] = None,
    quiet: QuietOpt = False,
) -> None:
    """Print a certificate's fields (the CA's own by default), with its id; not a verdict (see verify)."""
    if cert is None:
        store = Store()
        store.require()
        _warn(store, quiet)
        sys.stdout.write(_fields(store.ca_cert().summary()))
        return
    sys.stdout.write(_fields(c.parse(cert.read_bytes()).summary()))


@app.command("list")
def list_(
    status: Annotated[str, typer.Option("--status", help="Only these (comma-separated): valid, expiring, replaced, expired, revoked.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per certificate (NDJSON) instead of columns.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """List every certificate issued, with its status: expiring means due for renewal."""
    store = Store()
    store.require()
    _warn(store, quiet)
    for row in authority.listing(store, _now(), authority.split_list(status)):
        if as_json:
            sys.stdout.write(json.dumps(row) + "\n")
        else:
            sys.stdout.write(f"{row['status']:<9} {row['serial']} {row['not_after']} {row['name']} "
                             f"usage={','.join(row['usage'])} lanes={','.join(row['lanes']) or '-'}\n")  # type: ignore[arg-type]


@app.command()
def issue(
    name: NameOpt,
    pub: Annotated[str, typer.Option("--pub", help="The node's X25519 key: a .pub file from ben key gen --type x25519, age1..., or base64url.")],
    groups: GroupsOpt = "",
    lanes: LanesOpt = "diag,event",
    usage: UsageOpt = "client",
    sign_pub: Annotated[Optional[str], typer.Option("--sign-pub", help="The node's Ed25519 key too: a minisign .pub file or string, or base64url.")] = None,
    ttl: TtlOpt = "7d",
    out: OutOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Issue a certificate for a key made elsewhere; prints it (or writes --out)."""
    store = Store()
    store.require()
    profile = _profile(name, groups, lanes, usage, ttl)
    noise = authority.read_x25519(pub)
    signing = authority.read_ed25519(sign_pub) if sign_pub else None
    certificate = authority.issue(store, store.signing_key(ASK), profile, noise, signing, _now())
    _emit(certificate.text, out)
    say(f"ben ca issue: {certificate.name}: serial {certificate.serial}, until {c.format_time(certificate.not_after)}", quiet)
    _warn(store, quiet)


@app.command()
def bundle(out: OutOpt = None) -> None:
    """Print the trust bundle: the CA certificates verifiers trust (two during a rotation's overlap)."""
    store = Store()
    store.require()
    _emit(authority.bundle(store, _now()).text, out)


@app.command()
def verify(
    cert: Annotated[Path, typer.Argument(help="The certificate file.")],
    bundle: Annotated[Optional[Path], typer.Option("--bundle", help="Trust bundle (default: this CA's, or the enrolled node's).")] = None,
    crl: Annotated[Optional[Path], typer.Option("--crl", help="Revocation list to check against (default: this CA's own, on the CA).")] = None,
    usage: Annotated[Optional[str], typer.Option("--usage", help="Require this use: client, server or sign.")] = None,
    lane: Annotated[Optional[str], typer.Option("--lane", help="Require that it may use this lane.")] = None,
    group: Annotated[Optional[str], typer.Option("--group", help="Require that it is in this group.")] = None,
    at: Annotated[Optional[str], typer.Option("--at", metavar="TIME", help="Judge as of this time (RFC 3339 UTC, e.g. 2027-01-01T00:00:00Z) instead of now.")] = None,
    quiet: QuietOpt = False,
) -> None:
    """Say whether a certificate is valid, or exactly why not (exit 1 with the reason)."""
    now = c.parse_time(at, "--at") if at is not None else _now()
    certificate = local.check_file(cert, now, Requirements(usage, lane, group), bundle, crl)
    if not quiet:
        sys.stdout.write(f"valid: {certificate.name} (serial {certificate.serial}, {','.join(certificate.usage)}) "
                         f"until {c.format_time(certificate.not_after)}\n")


@app.command()
def revoke(
    target: Annotated[Optional[str], typer.Argument(metavar="SERIAL|ID", help="The certificate's serial or id.")] = None,
    key: Annotated[Optional[str], typer.Option("--key", help="Revoke every certificate binding this public key (.pub file, age1..., minisign or base64url).")] = None,
    reason: Annotated[Optional[str], typer.Option("--reason", help="Why, for the audit log.")] = None,
    quiet: QuietOpt = False,
) -> None:
    """Revoke a certificate (or every one binding a key) and publish the next revocation list."""
    store = Store()
    store.require()
    public = authority.read_public(key) if key is not None else None
    crl = authority.revoke(store, store.signing_key(ASK), _now(), serial_or_id=target, public_key=public, reason=reason)
    say(f"ben ca revoke: revoked {target or key}; revocation list sequence {crl.sequence} written to {store.crl_path}", quiet)


@app.command()
def crl(
    refresh: Annotated[bool, typer.Option("--refresh", help="Sign it again with the next sequence and a new next_update (for cron).")] = False,
    valid: Annotated[str, typer.Option("--valid", callback=as_duration, metavar="DURATION", help="With --refresh: how long until verifiers call it stale.")] = "7d",
    out: OutOpt = None,
) -> None:
    """Print the current signed revocation list (verifiers refuse one older than one they saw)."""
    store = Store()
    store.require()
    if refresh:
        authority.refresh_crl(store, store.signing_key(ASK), _now(), int(valid))
    _emit(store.crl_path.read_text(encoding="utf-8"), out)


@app.command()
def token(
    name: NameOpt,
    groups: GroupsOpt = "",
    lanes: LanesOpt = "diag,event",
    usage: UsageOpt = "client",
    ttl: TtlOpt = "7d",
) -> None:
    """Make a single-use enrolment token, valid 5 minutes, for a certificate with these fields."""
    sys.stdout.write(enrol.make_token(Store(), _profile(name, groups, lanes, usage, ttl), _now()).text + "\n")


@app.command()
def enroll(
    token: Annotated[str, typer.Option("--token", help="The token from ben ca token.")],
    out: OutOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """On the node: make its keys here ($BEN_HOME/node, 0600) and print the request for ben ca sign."""
    node = Node(node_root())
    _emit(node.enroll(token, _now()).decode("ascii"), out)
    say(f"ben ca enroll: keys in {node.root}; give the request to ben ca sign, then ben ca accept the certificate", quiet)


@app.command()
def sign(
    request: Annotated[Path, typer.Argument(help="The request from ben ca enroll or ben ca renew ('-' for stdin).")],
    out: OutOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """On the CA: turn an enrolment or renewal request into a certificate."""
    store = Store()
    store.require()
    data = sys.stdin.buffer.read() if str(request) == "-" else request.read_bytes()
    certificate = enrol.sign_request(store, store.signing_key(ASK), data, _now())
    _emit(certificate.text, out)
    say(f"ben ca sign: {certificate.name}: serial {certificate.serial}, until {c.format_time(certificate.not_after)}", quiet)


@app.command()
def accept(
    cert: Annotated[Path, typer.Argument(help="The certificate ben ca sign made for this node.")],
    bundle: Annotated[Optional[Path], typer.Option("--bundle", help="The CA's trust bundle (kept for later; default: the one kept).")] = None,
    quiet: QuietOpt = False,
) -> None:
    """On the node: keep the certificate once it verifies and binds this node's keys."""
    node = Node(node_root())
    certificate = node.accept(cert.read_bytes(), bundle.read_bytes() if bundle else None, _now())
    say(f"ben ca accept: {certificate.name}: kept in {node.root / 'cert'}, until {c.format_time(certificate.not_after)}", quiet)


@app.command()
def renew(
    force: Annotated[bool, typer.Option("--force", help="Make the request even before two thirds of the lifetime.")] = False,
    out: OutOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """On the node: once two thirds of the certificate's life has passed, print a renewal request
    signed by the node's key (else say when it is due and exit 0: cron-friendly)."""
    request, due = Node(node_root()).renew(_now(), force)
    if request is None:
        say(f"ben ca renew: not due until {c.format_time(due)}", quiet)
        return
    _emit(request.decode("ascii"), out)


@app.command()
def rotate(
    overlap: Annotated[str, typer.Option("--overlap", callback=as_duration, metavar="DURATION", help="How long the old CA stays trusted.")] = "7d",
    life: Annotated[str, typer.Option("--life", callback=as_duration, metavar="DURATION", help="Lifetime of the new CA certificate.")] = "1825d",
    cost: CostOpt = "moderate",
    quiet: QuietOpt = False,
) -> None:
    """Replace the CA key: the old one trusted for --overlap more, live certificates re-issued."""
    if cost not in keyfiles.COST_LEVELS:
        raise typer.BadParameter(f"must be one of {', '.join(keyfiles.COST_LEVELS)}", param_hint="'--cost'")
    store = Store()
    store.require()
    passphrase = ASK()
    done = authority.rotate(store, store.signing_key(lambda: passphrase), passphrase, _now(), int(overlap), int(life), cost)
    say(f"ben ca rotate: new CA key {done.new.issuer}; the old one is trusted until {c.format_time(done.old.not_after)}; "
        f"{len(done.reissued)} certificate(s) re-issued into {store.issued_dir}; give verifiers ben ca bundle", quiet)


@app.command("audit")
def audit_(quiet: QuietOpt = False) -> None:
    """Verify the audit log: every segment's chain and signatures, and an entry for every certificate issued."""
    store = Store()
    store.require()
    summary = audit.check(store)
    say(f"ben ca audit: {summary.line()}", quiet)

"""``ben ca``: the bee-keeper, a local certificate authority for bee nodes."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import click
import typer

from ben_cli.ca import audit, authority, local
from ben_cli.ca import cert as c
from ben_cli.ca.store import Store
from ben_cli.ca.verify import Requirements
from ben_cli.crypto import keyfiles

from . import _ca_enrol
from ._ca_enrol import (
    ASK,
    ASK_TWICE,
    GroupsOpt,
    LanesOpt,
    NameOpt,
    OutOpt,
    TtlOpt,
    UsageOpt,
    ca_store,
    done,
    emit,
    profile,
)
from ._common import QuietOpt, as_duration, say

app = typer.Typer(help="The bee-keeper: a local certificate authority for bee nodes (ben-cert-v1 certificates).", no_args_is_help=True)
LifeOpt = Annotated[str, typer.Option("--life", callback=as_duration, metavar="DURATION", help="Lifetime of the CA certificate.")]
CostOpt = Annotated[str, typer.Option("--cost", click_type=click.Choice(keyfiles.COST_LEVELS), help="scrypt cost of the CA key's passphrase.")]


def _fields(values: dict) -> str:
    return "".join(f"{k}: {','.join(v) if isinstance(v, list) else v}".rstrip() + "\n" for k, v in values.items())


@app.command()
def init(name: Annotated[str, typer.Option("--name", help="The CA's name.")] = "ben-ca", life: LifeOpt = "1825d",
         cost: CostOpt = "moderate", quiet: QuietOpt = False) -> None:
    """Create the CA in $BEN_HOME/ca: its keys (protected by a passphrase from BEN_PASSPHRASE or
    the terminal), its self-signed certificate, an empty revocation list, the audit log."""
    store = Store()
    made = authority.init(store, ASK_TWICE(), int(time.time()), name, int(life), cost)  # type: ignore[call-overload]
    say(f"ben ca init: created the CA in {store.root} (key id {made.issuer})", quiet)
    sys.stdout.write(_fields(made.summary()))


@app.command()
def show(cert: Annotated[Optional[Path], typer.Argument(help="A certificate file (default: the CA's own).")] = None,
         quiet: QuietOpt = False) -> None:
    """Print a certificate's fields (the CA's own by default), with its id; not a verdict (see verify)."""
    sys.stdout.write(_fields((c.parse(cert.read_bytes()) if cert else ca_store(quiet).ca_cert()).summary()))


@app.command("list")
def list_(status: Annotated[str, typer.Option("--status", help="Only these (comma-separated): valid, expiring, replaced, expired, revoked.")] = "",
          as_json: Annotated[bool, typer.Option("--json", help="One JSON object per certificate (NDJSON) instead of columns.")] = False,
          quiet: QuietOpt = False) -> None:
    """List every certificate issued, with its status: expiring means due for renewal."""
    for row in authority.listing(ca_store(quiet), int(time.time()), authority.split_list(status)):
        sys.stdout.write(json.dumps(row) + "\n" if as_json else authority.row_text(row))


@app.command()
def issue(name: NameOpt, pub: Annotated[str, typer.Option("--pub", help="The node's X25519 key: a .pub file from ben key gen --type x25519, age1..., or base64url.")],
          groups: GroupsOpt = "", lanes: LanesOpt = "diag,event", usage: UsageOpt = "client",
          sign_pub: Annotated[Optional[str], typer.Option("--sign-pub", help="The node's Ed25519 key too: a minisign .pub file or string, or base64url.")] = None,
          ttl: TtlOpt = "7d", out: OutOpt = None, quiet: QuietOpt = False) -> None:
    """Issue a certificate for a key made elsewhere; prints it (or writes --out)."""
    store, wanted = ca_store(quiet), profile(name, groups, lanes, usage, ttl)  # type: ignore[arg-type]
    keys = authority.read_x25519(pub), authority.read_ed25519(sign_pub) if sign_pub else None
    cert = authority.issue(store, store.signing_key(ASK), wanted, *keys, int(time.time()))
    emit(cert.text, out)
    done("issue", cert, quiet)


@app.command()
def bundle(out: OutOpt = None) -> None:
    """Print the trust bundle: the CA certificates verifiers trust (two during a rotation's overlap)."""
    emit(authority.bundle(ca_store(), int(time.time())).text, out)


@app.command()
def verify(cert: Annotated[Path, typer.Argument(help="The certificate file.")],
           bundle: Annotated[Optional[Path], typer.Option("--bundle", help="Trust bundle (default: this CA's, or the enrolled node's).")] = None,
           crl: Annotated[Optional[Path], typer.Option("--crl", help="Revocation list to check against (default: this CA's own, on the CA).")] = None,
           usage: Annotated[Optional[str], typer.Option("--usage", help="Require this use: client, server or sign.")] = None,
           lane: Annotated[Optional[str], typer.Option("--lane", help="Require that it may use this lane.")] = None,
           group: Annotated[Optional[str], typer.Option("--group", help="Require that it is in this group.")] = None,
           at: Annotated[Optional[str], typer.Option("--at", metavar="TIME", help="Judge as of this time (RFC 3339 UTC, e.g. 2027-01-01T00:00:00Z) instead of now.")] = None,
           quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing when valid: the exit status says it (a refusal is still said on stderr).")] = False) -> None:
    """Say whether a certificate is valid, or exactly why not (exit 1 with the reason)."""
    now = c.parse_time(at, "--at") if at is not None else int(time.time())
    ok = local.check_file(cert, now, Requirements(usage, lane, group), bundle, crl)
    if not quiet:
        sys.stdout.write(f"valid: {ok.name} (serial {ok.serial}, {','.join(ok.usage)}) until {c.format_time(ok.not_after)}\n")


@app.command()
def revoke(target: Annotated[Optional[str], typer.Argument(metavar="SERIAL|ID", help="The certificate's serial or id.")] = None,
           key: Annotated[Optional[str], typer.Option("--key", help="Revoke every certificate binding this public key (.pub file, age1..., minisign or base64url).")] = None,
           reason: Annotated[Optional[str], typer.Option("--reason", help="Why, for the audit log.")] = None,
           quiet: QuietOpt = False) -> None:
    """Revoke a certificate (or every one binding a key) and publish the next revocation list."""
    store = ca_store(quiet)
    public = authority.read_public(key) if key is not None else None
    listed = authority.revoke(store, store.signing_key(ASK), int(time.time()), serial_or_id=target, public_key=public, reason=reason)
    say(f"ben ca revoke: revoked {target or key}; revocation list sequence {listed.sequence} written to {store.crl_path}", quiet)


@app.command()
def crl(refresh: Annotated[bool, typer.Option("--refresh", help="Sign it again with the next sequence and a new next_update (for cron).")] = False,
        valid: Annotated[str, typer.Option("--valid", callback=as_duration, metavar="DURATION", help="With --refresh: how long until verifiers call it stale.")] = "7d",
        out: OutOpt = None) -> None:
    """Print the current signed revocation list (verifiers refuse one older than one they saw)."""
    store = ca_store()
    if refresh:
        authority.refresh_crl(store, store.signing_key(ASK), int(time.time()), int(valid))  # type: ignore[call-overload]
    emit(store.crl_path.read_text(encoding="utf-8"), out)


_ca_enrol.register(app)


@app.command()
def rotate(overlap: Annotated[str, typer.Option("--overlap", callback=as_duration, metavar="DURATION", help="How long the old CA stays trusted.")] = "7d",
           life: LifeOpt = "1825d", cost: CostOpt = "moderate", quiet: QuietOpt = False) -> None:
    """Replace the CA key: the old one trusted for --overlap more, live certificates re-issued."""
    store, passphrase = ca_store(quiet), ASK()
    turned = authority.rotate(store, store.signing_key(lambda: passphrase), passphrase, int(time.time()), int(overlap), int(life), cost)  # type: ignore[call-overload]
    say(f"ben ca rotate: new CA key {turned.new.issuer}; the old one is trusted until {c.format_time(turned.old.not_after)}; "
        f"{len(turned.reissued)} certificate(s) re-issued into {store.issued_dir}; give verifiers ben ca bundle", quiet)


@app.command("audit")
def audit_(quiet: QuietOpt = False) -> None:
    """Verify the audit log: every segment's chain and signatures, and an entry for every certificate issued."""
    say(f"ben ca audit: {audit.check(ca_store(quiet)).line()}", quiet)

"""``ben policy``'s shared options and loader, and its bundle subcommands (``sign``, ``install``,
``versions``), kept apart so that each module stays thin."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from ben_cli.errors import ExitStatus

from ._common import QuietOpt, say

if TYPE_CHECKING:
    from ben_cli.policy import Policy

TrustOpt = Annotated[Optional[Path], typer.Option("--trust", help="The CA trust bundle (ben ca bundle). Default: this machine's CA, or the bundle an enrolled node accepted.")]
PolicyFile = Annotated[Path, typer.Argument(help="The policy (.policy file).", metavar="POLICY", show_default=False)]
CrlOpt = Annotated[Optional[Path], typer.Option("--crl", help="The CA's revocation list (ben ca crl). Default: the CA's own, on its machine.")]


def load_policy(path: Path, quiet: bool = True) -> Policy:
    """The checked policy at ``path``; its faults are printed with the line and a caret and end
    the run with status 2; its warnings are printed unless ``quiet``."""
    from ben_cli import policy as core

    try:
        policy, warnings = core.load(path)
    except (core.PolicyError, core.PolicyErrors) as exc:
        sys.stderr.write(exc.render() + "\n")
        raise typer.Exit(ExitStatus.USAGE) from None
    for warning in warnings:
        say(warning.render(), quiet)
    return policy


def register(app: typer.Typer) -> None:
    """Add the bundle subcommands to ``ben policy``."""
    app.command()(sign)
    app.command()(install)
    app.command()(versions)


def sign(
    file: PolicyFile,
    key: Annotated[Path, typer.Option("--key", help="The signer's Ed25519 secret key (ben key gen).")],
    cert: Annotated[Path, typer.Option("--cert", help="The signer's certificate: usage sign, group policy-admin (ben ca issue).")],
    out: Annotated[Optional[Path], typer.Option("--out", help="Write the bundle here (atomically) instead of stdout.")] = None,
    quiet: QuietOpt = False,
) -> None:
    """Sign a policy into a bundle that nodes install only when the signer's certificate is valid,
    not revoked, and in group policy-admin. The key's passphrase comes from BEN_PASSPHRASE or the terminal."""
    from ben_cli.policy.bundle import sign_file

    message = sign_file(file, key, cert, out, int(time.time()))
    say(f"ben policy sign: {message}", quiet)


def install(
    bundle: Annotated[Path, typer.Argument(help="The signed bundle (ben policy sign).", metavar="BUNDLE", show_default=False)],
    allow_rollback: Annotated[bool, typer.Option("--allow-rollback", help="Install a version older than the installed one.")] = False,
    trust: TrustOpt = None,
    crl: CrlOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Verify a signed bundle against the CA trust bundle and revocation list, keep it, and make it
    the installed version; refuse an older version unless --allow-rollback (exit status 1, with the reason)."""
    from ben_cli.policy.bundle import install_file

    say(f"ben policy install: {install_file(bundle, trust, crl, int(time.time()), allow_rollback)}", quiet)


def versions(
    name: Annotated[str, typer.Argument(help="The policy's name.", show_default=False)],
) -> None:
    """List the installed versions of a policy, marking the current one."""
    from ben_cli.policy.bundle import Installed

    kept = Installed(name)
    current = (kept.current() or {}).get("version")
    for version in kept.versions():
        sys.stdout.write(f"{version}{'  (installed)' if version == current else ''}\n")

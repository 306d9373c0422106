"""``ben key``: key pairs, minisign signatures, age encryption, and signed telemetry streams."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Optional

import typer

from ben_cli.crypto import chain, files, keyfiles
from ben_cli.ndjson import Writer

from ._common import Inputs, QuietOpt, say
from ._key_sign import ASK, sign

app = typer.Typer(
    help="Keys, signatures and encryption in minisign's and age's formats; tamper-evident streams.",
    no_args_is_help=True,
)

PubOpt = Annotated[str, typer.Option("--pub", "-P", help="Public key: a NAME.pub file or the key string itself (RW...).")]
PassOpt = Annotated[bool, typer.Option("--passphrase", help="Use a passphrase: from BEN_PASSPHRASE, else asked on the terminal (never read from stdin).")]
OutOpt = Annotated[Optional[Path], typer.Option("--output", "-o", help="Write here (atomically) instead of stdout.")]
COST_HELP = "scrypt cost of the passphrase: interactive (16 MiB), moderate (128 MiB) or sensitive (1 GiB)."
ASK_TWICE = files.passphrase_source(confirm=True)


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value in choices:
            return value
        raise typer.BadParameter(f"must be one of {', '.join(choices)}")
    return check


@app.command()
def gen(
    out: Annotated[Path, typer.Option("--out", help="Base name: writes NAME.key (mode 0600) and NAME.pub.", metavar="NAME")],
    type: Annotated[str, typer.Option("--type", callback=_one_of(keyfiles.KINDS), help="ed25519 (signing) or x25519 (sealing).")] = "ed25519",
    passphrase: PassOpt = False,
    cost: Annotated[str, typer.Option("--cost", callback=_one_of(keyfiles.COST_LEVELS), help=COST_HELP)] = "moderate",
    force: Annotated[bool, typer.Option("--force", help="Replace existing NAME.key and NAME.pub.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Generate a key pair: NAME.key (secret, 0600) and NAME.pub (public).

    Ed25519 keys are in minisign's formats (minisign -S -s NAME.key signs, minisign -V -p NAME.pub
    verifies); X25519 keys are an age identity file and its age1... recipient. Prints the public
    key and its fingerprint.
    """
    info = keyfiles.generate(type, out, ASK_TWICE() if passphrase else None, cost, force)
    say(f"ben key gen: wrote {out}.key (secret, mode 0600) and {out}.pub", quiet)
    sys.stdout.write("\n".join(info.lines()) + "\n")


@app.command()
def show(
    key: Annotated[str, typer.Argument(help="NAME.pub, NAME.key, or a public key string (RW... or age1...).")],
) -> None:
    """Print a key's type, public key and fingerprint (never the secret)."""
    sys.stdout.write("\n".join(keyfiles.describe(key, ASK).lines()) + "\n")


app.command()(sign)  # in _key_sign.py: files, chained streams and records one by one


@app.command()
def verify(
    inputs: Inputs = None,
    pub: PubOpt = "ben.pub",
    stream: Annotated[bool, typer.Option("--stream", help="Verify a signed NDJSON stream; pass its records through if intact.")] = False,
    signature: Annotated[Optional[Path], typer.Option("--sig", "-x", help="Signature file (default: FILE.minisig).")] = None,
    allow_empty: Annotated[bool, typer.Option("--allow-empty", help="With --stream: accept an input with no signed record (else a stream cut to nothing).")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Check FILE against FILE.minisig; or, with --stream, check a signed NDJSON stream.

    A stream's records are written to stdout as each signed checkpoint verifies. The first altered,
    missing, reordered or inserted record, a truncated end, or an empty input (unless
    --allow-empty), is reported and exits 1."""
    verify_key = keyfiles.load_verify_key(pub)
    if not stream:
        for name, comment in files.verify_files(verify_key, inputs, signature):
            say(f"ben key verify: {name}: signature verified; trusted comment: {comment}", quiet)
        return

    def verified(name: str, s: chain.VerifySummary) -> None:
        say(f"ben key verify: {name}: {s.records} records and {s.checkpoints} checkpoints verified", quiet)

    with Writer() as writer:
        chain.verify_stream(inputs or ["-"], writer, verify_key, verified, allow_empty)


@app.command()
def seal(
    inputs: Inputs = None,
    to: Annotated[Optional[list[str]], typer.Option("--to", "-r", help="Recipient: a NAME.pub file or an age1... string; repeatable.")] = None,
    passphrase: PassOpt = False,
    armor: Annotated[bool, typer.Option("--armor", "-a", help="ASCII armor (PEM-style text) instead of binary.")] = False,
    output: OutOpt = None,
) -> None:
    """Encrypt to age recipients (or a passphrase); age -d opens the result.

    Reads one file (or stdin) and writes the age file to stdout or --output.
    """
    files.seal(inputs, output, to or [], ASK_TWICE if passphrase else None, armor)


@app.command("open")
def open_(
    inputs: Inputs = None,
    key: Annotated[Optional[list[Path]], typer.Option("--key", "-k", help="Identity file (NAME.key); repeatable.", metavar="NAME.key")] = None,
    passphrase: Annotated[bool, typer.Option("--passphrase", help="The file was sealed to a passphrase (BEN_PASSPHRASE or asked).")] = False,
    output: OutOpt = None,
) -> None:
    """Decrypt an age file (binary or armored) with identity files or a passphrase.

    Nothing is written until the whole file has authenticated: altered or truncated input
    exits 1 with empty output (and --output is left untouched).
    """
    files.open_sealed(inputs, output, key or [], ASK if passphrase else None, ASK)

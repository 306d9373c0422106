"""``ben key``: key pairs, minisign signatures, age encryption, and signed telemetry streams."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Optional

import typer

from ben_cli.crypto import chain, files, keyfiles
from ben_cli.ndjson import Writer
from ben_cli.rejects import Rejects

from ._common import Inputs, QuietOpt, RejectsOpt, StrictOpt, say

app = typer.Typer(
    help="Keys, signatures and encryption in minisign's and age's formats; tamper-evident streams.",
    no_args_is_help=True,
)

KeyOpt = Annotated[Path, typer.Option("--key", "-k", help="Secret key file (NAME.key).", metavar="NAME.key")]
PubOpt = Annotated[str, typer.Option("--pub", "-P", help="Public key: a NAME.pub file or the key string itself (RW...).")]
PassOpt = Annotated[bool, typer.Option("--passphrase", help="Use a passphrase: from BEN_PASSPHRASE, else asked on the terminal (never read from stdin).")]
OutOpt = Annotated[Optional[Path], typer.Option("--output", "-o", help="Write here (atomically) instead of stdout.")]
COST_HELP = "scrypt cost of the passphrase: interactive (16 MiB), moderate (128 MiB) or sensitive (1 GiB)."
ASK, ASK_TWICE = files.passphrase_source(), files.passphrase_source(confirm=True)


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


@app.command()
def sign(
    inputs: Inputs = None,
    key: KeyOpt = Path("ben.key"),
    stream: Annotated[bool, typer.Option("--stream", help="Sign NDJSON records: add a chained 'sig' to each, with signed checkpoints.")] = False,
    every: Annotated[int, typer.Option("--every", min=1, max=chain.MAX_EVERY, help="With --stream: a signed checkpoint every N records (and on the last; sooner after 32 MiB).")] = chain.DEFAULT_EVERY,
    trusted_comment: Annotated[Optional[str], typer.Option("--trusted-comment", "-t", help="Signed one-line comment (default: timestamp and file name).")] = None,
    cert: Annotated[Optional[Path], typer.Option("--cert", metavar="CERT", help="Sign each NDJSON record on its own: a 'sig' holding this ben ca certificate (usage sign, for the key) and an Ed25519 signature, as a contract's signed lane asks.")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", metavar="FILE", help="With --stream: append to FILE, continuing the signed stream it holds (cut back to its last checkpoint after a kill).")] = None,
    rejects: RejectsOpt = None,
    strict: StrictOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Sign FILEs, writing FILE.minisig beside each; or, with --stream, sign an NDJSON stream; or,
    with --cert, sign each NDJSON record on its own.

    Signatures are minisign's (prehashed Ed25519 with a trusted comment): minisign -V checks them."""
    if cert is not None and stream:
        raise typer.BadParameter("signs each record on its own; --stream chains them: give one", param_hint="'--cert'")
    if output is not None and not stream:
        raise typer.BadParameter("needs --stream (files are signed into FILE.minisig)", param_hint="'--output'")
    signing_key = keyfiles.load_signing_key(key, ASK)
    if cert is not None:
        from ben_cli.ca.records import sign_records

        with Rejects(rejects, stage="key sign", strict=strict) as bad:
            summary = sign_records(inputs or ["-"], Writer(), bad, signing_key, cert)
        if not quiet:
            summary.report(sys.stderr, bad)
        return
    if not stream:
        for written in files.sign_files(signing_key, inputs, trusted_comment):
            say(f"ben key sign: wrote {written}", quiet)
        return
    with Rejects(rejects, stage="key sign", strict=strict) as bad:
        summary = chain.sign_into(output, inputs or ["-"], bad, signing_key, every)
    if not quiet:
        summary.report(sys.stderr, bad)


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

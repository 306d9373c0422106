"""``ben key``: key pairs, minisign signatures, age encryption, and signed telemetry streams."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, BinaryIO, Optional

import typer

from ben_cli.crypto import age, chain, keyfiles, minisign
from ben_cli.crypto.primitives import CryptoError
from ben_cli.errors import ExitStatus
from ben_cli.ndjson import Writer
from ben_cli.rejects import Rejects

from ._common import Inputs, QuietOpt, RejectsOpt, StrictOpt, say

app = typer.Typer(
    help="Keys, signatures and encryption in minisign's and age's formats; tamper-evident streams.",
    no_args_is_help=True,
)

KeyOpt = Annotated[Path, typer.Option("--key", "-k", help="Secret key file (NAME.key).", metavar="NAME.key")]
PubOpt = Annotated[str, typer.Option("--pub", "-p", help="Public key: a NAME.pub file or the key string itself (RW...).")]
PassOpt = Annotated[
    bool,
    typer.Option("--passphrase", help="Use a passphrase: from BEN_PASSPHRASE, else asked on the terminal."),
]
COST_HELP = "scrypt cost of the passphrase: interactive (16 MiB), moderate (128 MiB) or sensitive (1 GiB)."
OutOpt = Annotated[Optional[Path], typer.Option("--output", "-o", help="Write here (atomically) instead of stdout.")]


@contextmanager
def _one_input(inputs: list[str] | None, verb: str) -> Iterator[BinaryIO]:
    """The single file (or stdin) that seal and open read."""
    if inputs and len(inputs) > 1:
        raise CryptoError(f"{verb} reads one input (a file or stdin)")
    if not inputs or inputs[0] == "-":
        yield sys.stdin.buffer
        return
    with open(inputs[0], "rb") as source:
        yield source


@contextmanager
def _errors(command: str) -> Iterator[None]:
    """A crypto failure is one line on stderr and exit status 1, never a traceback."""
    try:
        yield
    except (CryptoError, OSError) as exc:
        detail = f"{exc.strerror}: {exc.filename}" if isinstance(exc, OSError) and exc.filename else str(exc)
        sys.stderr.write(f"ben key {command}: {detail}\n")
        raise typer.Exit(ExitStatus.ERROR) from None


def _ask_passphrase(confirm: bool = False) -> bytes:
    """The passphrase from BEN_PASSPHRASE, or asked on the terminal (twice when creating)."""
    given = os.environ.get("BEN_PASSPHRASE")
    if given is not None:
        if not given:
            raise CryptoError("BEN_PASSPHRASE is set but empty")
        return given.encode("utf-8")
    try:
        first = getpass.getpass("Passphrase: ")
        if confirm and getpass.getpass("Passphrase (again): ") != first:
            raise CryptoError("the passphrases do not match")
    except (EOFError, OSError):
        raise CryptoError("a passphrase is needed: set BEN_PASSPHRASE or run in a terminal") from None
    if not first:
        raise CryptoError("the passphrase is empty")
    return first.encode("utf-8")


def _check_cost(value: str) -> str:
    if value not in keyfiles.COST_LEVELS:
        raise typer.BadParameter(f"must be one of {', '.join(keyfiles.COST_LEVELS)}")
    return value


def _check_type(value: str) -> str:
    if value not in keyfiles.KINDS:
        raise typer.BadParameter(f"must be one of {', '.join(keyfiles.KINDS)}")
    return value


@app.command()
def gen(
    out: Annotated[Path, typer.Option("--out", help="Base name: writes NAME.key (mode 0600) and NAME.pub.", metavar="NAME")],
    type: Annotated[str, typer.Option("--type", "-t", callback=_check_type, help="ed25519 (signing) or x25519 (sealing).")] = "ed25519",
    passphrase: PassOpt = False,
    cost: Annotated[str, typer.Option("--cost", callback=_check_cost, help=COST_HELP)] = "moderate",
    force: Annotated[bool, typer.Option("--force", help="Replace existing NAME.key and NAME.pub.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Generate a key pair: NAME.key (secret, 0600) and NAME.pub (public).

    Ed25519 keys are in minisign's formats (minisign -S -s NAME.key signs, minisign -V -p NAME.pub
    verifies); X25519 keys are an age identity file and its age1... recipient. Prints the public
    key and its fingerprint.
    """
    with _errors("gen"):
        secret = _ask_passphrase(confirm=True) if passphrase else None
        info = keyfiles.generate(type, out, secret, cost, force)
    say(f"ben key gen: wrote {out}.key (secret, mode 0600) and {out}.pub", quiet)
    sys.stdout.write("\n".join(info.lines()) + "\n")


@app.command()
def show(
    key: Annotated[str, typer.Argument(help="NAME.pub, NAME.key, or a public key string (RW... or age1...).")],
) -> None:
    """Print a key's type, public key and fingerprint (never the secret)."""
    with _errors("show"):
        info = keyfiles.describe(key, _ask_passphrase)
    sys.stdout.write("\n".join(info.lines()) + "\n")


@app.command()
def sign(
    inputs: Inputs = None,
    key: KeyOpt = Path("ben.key"),
    stream: Annotated[bool, typer.Option("--stream", help="Sign NDJSON records: add a chained 'sig' to each, with signed checkpoints.")] = False,
    every: Annotated[int, typer.Option("--every", min=1, help="With --stream: a signed checkpoint every N records (and on the last).")] = chain.DEFAULT_EVERY,
    trusted_comment: Annotated[Optional[str], typer.Option("--trusted-comment", "-t", help="Signed one-line comment (default: timestamp and file name).")] = None,
    rejects: RejectsOpt = None,
    strict: StrictOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Sign FILEs, writing FILE.minisig beside each; or, with --stream, sign an NDJSON stream.

    Signatures are minisign's (prehashed Ed25519 with a trusted comment): minisign -V checks them.
    """
    with _errors("sign"):
        signing_key = keyfiles.load_signing_key(key, _ask_passphrase)
        if stream:
            with Rejects(rejects, stage="key sign", strict=strict) as bad:
                writer = Writer()
                summary = chain.sign_stream(inputs or ["-"], writer.stream, signing_key, bad, every)
                writer.flush()
            if not quiet:
                summary.report(sys.stderr, bad)
            return
        if not inputs or "-" in inputs:
            raise CryptoError("name the files to sign (a FILE.minisig is written beside each); use --stream for NDJSON on stdin")
        for name in inputs:
            path = Path(name)
            text = minisign.sign_file(signing_key, path, trusted_comment)
            keyfiles.write_atomically(minisign.signature_path(path), lambda fh, t=text: fh.write(t.encode("utf-8")))
            say(f"ben key sign: wrote {minisign.signature_path(path)}", quiet)


@app.command()
def verify(
    inputs: Inputs = None,
    pub: PubOpt = "ben.pub",
    stream: Annotated[bool, typer.Option("--stream", help="Verify a signed NDJSON stream; pass its records through if intact.")] = False,
    signature: Annotated[Optional[Path], typer.Option("--sig", "-x", help="Signature file (default: FILE.minisig).")] = None,
    quiet: QuietOpt = False,
) -> None:
    """Check FILE against FILE.minisig; or, with --stream, check a signed NDJSON stream.

    A stream's records are written to stdout as each signed checkpoint verifies. The first altered,
    missing, reordered or inserted record, or a truncated end, is reported and exits 1.
    """
    with _errors("verify"):
        verify_key = keyfiles.load_verify_key(pub)
        if stream:
            _verify_stream(inputs or ["-"], verify_key, quiet)
            return
        if not inputs or "-" in inputs:
            raise CryptoError("name the files to verify (each is checked against FILE.minisig)")
        if signature is not None and len(inputs) > 1:
            raise CryptoError("--sig names the signature of one file; give one FILE")
        for name in inputs:
            try:
                comment = minisign.verify_file(verify_key, Path(name), signature)
            except CryptoError as exc:
                raise CryptoError(f"{name}: {exc}") from None
            say(f"ben key verify: {name}: signature verified; trusted comment: {comment}", quiet)


def _verify_stream(inputs: list[str], verify_key, quiet: bool) -> None:
    """Each input is one signed stream; verified records go to stdout as checkpoints verify."""
    from ben_cli.ndjson import display_name, open_input

    writer = Writer()
    try:
        for name in inputs:
            verifier = chain.StreamVerifier(verify_key)
            source = open_input(name)
            try:
                for line in chain.verify_lines(source, verify_key, verifier):
                    writer.write_line(line)
            except chain.ChainError as exc:
                raise CryptoError(f"{display_name(name)}: {exc}") from None
            finally:
                if name != "-":
                    source.close()
            s = verifier.summary
            say(f"ben key verify: {display_name(name)}: {s.records} records and {s.checkpoints} checkpoints verified", quiet)
    finally:
        writer.flush()


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
    with _errors("seal"):
        keys: list[age.Key] = [keyfiles.load_recipient(r) for r in to or []]
        if passphrase:
            keys.append(age.Passphrase(_ask_passphrase(confirm=True)))
        if not keys:
            raise CryptoError("give at least one --to RECIPIENT (or --passphrase)")
        with _one_input(inputs, "seal") as source:
            if output is not None:
                keyfiles.write_atomically(output, lambda fh: age.encrypt(source, fh, keys, armor))
            else:
                age.encrypt(source, sys.stdout.buffer, keys, armor)
                sys.stdout.buffer.flush()


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
    with _errors("open"):
        openers: list[age.Opener] = []
        for path in key or []:
            openers += keyfiles.load_identities(path, _ask_passphrase)
        if passphrase:
            openers.append(age.Passphrase(_ask_passphrase()))
        if not openers:
            raise CryptoError("give --key NAME.key (or --passphrase)")
        with _one_input(inputs, "open") as source:
            if output is not None:
                keyfiles.write_atomically(output, lambda fh: age.decrypt_to(source, fh, openers), mode=0o600)
            else:
                age.decrypt_to(source, sys.stdout.buffer, openers)
                sys.stdout.buffer.flush()

"""``ben key sign``: files (minisign), NDJSON records as a chained stream, or records one by one
with a ``ben ca`` certificate; kept apart from ``key.py`` so that each module stays thin."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from ben_cli.crypto import chain, files, keyfiles
from ben_cli.ndjson import Writer
from ben_cli.rejects import Rejects

from ._common import Inputs, QuietOpt, RejectsOpt, StrictOpt, say

KeyOpt = Annotated[Path, typer.Option("--key", "-k", help="Secret key file (NAME.key).", metavar="NAME.key")]
ASK = files.passphrase_source()


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
    """Sign FILEs, writing FILE.minisig beside each; or sign NDJSON records: with --stream as a
    chained stream, with --cert each on its own.

    Signatures are minisign's (prehashed Ed25519 with a trusted comment): minisign -V checks them."""
    if cert is not None and stream:
        raise typer.BadParameter("signs each record on its own; --stream chains them: give one", param_hint="'--cert'")
    if output is not None and not stream:
        raise typer.BadParameter("needs --stream (files are signed into FILE.minisig)", param_hint="'--output'")
    signing_key = keyfiles.load_signing_key(key, ASK)
    if not stream and cert is None:
        for written in files.sign_files(signing_key, inputs, trusted_comment):
            say(f"ben key sign: wrote {written}", quiet)
        return
    with Rejects(rejects, stage="key sign", strict=strict) as bad:
        if cert is None:
            summary = chain.sign_into(output, inputs or ["-"], bad, signing_key, every)
        else:
            from ben_cli.ca.records import sign_records

            summary = sign_records(inputs or ["-"], Writer(), bad, signing_key, cert)
    if not quiet:
        summary.report(sys.stderr, bad)

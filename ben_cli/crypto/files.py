"""What ``ben key`` does with named files: sign and verify them, seal and open one input.

The command only turns flags into these calls and prints what they report; every check of what
was asked (no files named, one input where one is read, a missing recipient) is a
:class:`~ben_cli.errors.UsageError` raised here, and every failure a
:class:`~ben_cli.crypto.primitives.CryptoError`, so the command catches nothing.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from ben_cli.atomic import write_atomic
from ben_cli.crypto import age, keyfiles, minisign
from ben_cli.crypto import primitives as p
from ben_cli.crypto.keys import SigningKey, VerifyKey
from ben_cli.errors import UsageError

PASSPHRASE_VARIABLE = "BEN_PASSPHRASE"


TERMINAL = "/dev/tty"


class NoTerminal(OSError):
    """There is no controlling terminal to ask a passphrase on."""


def ask_terminal(prompt: str) -> str:
    """One line typed on the controlling terminal, without echo; never read from stdin.

    ``getpass`` falls back to stdin when ``/dev/tty`` cannot be opened, which would take the data
    ben is meant to seal or sign (its first bytes, its first record) as the passphrase. Here a
    missing terminal is :class:`NoTerminal` instead.
    """
    import termios  # only where a terminal is asked: the module exists on POSIX only

    try:
        fd = os.open(TERMINAL, os.O_RDWR | os.O_NOCTTY)
    except OSError as exc:
        raise NoTerminal(f"cannot open {TERMINAL}: {exc.strerror}") from None
    with io.TextIOWrapper(io.FileIO(fd, "w+"), encoding="utf-8", errors="replace") as tty:
        try:
            old = termios.tcgetattr(fd)
        except termios.error:
            raise NoTerminal(f"{TERMINAL} is not a terminal") from None
        quiet = list(old)
        quiet[3] &= ~termios.ECHO
        try:
            termios.tcsetattr(fd, termios.TCSAFLUSH, quiet)  # before the prompt: nothing typed after it is lost
            tty.write(prompt)
            tty.flush()
            line = tty.readline()
        finally:
            termios.tcsetattr(fd, termios.TCSAFLUSH, old)
            tty.write("\n")
            tty.flush()
    if not line:
        raise EOFError
    return line.rstrip("\r\n")


def passphrase_source(ask: Callable[[str], str] = ask_terminal, confirm: bool = False) -> keyfiles.PassphraseSource:
    """A passphrase from ``$BEN_PASSPHRASE``, else from ``ask`` (the terminal, never stdin; twice
    when ``confirm``), fetched only when a key turns out to need one. With neither, a
    :class:`~ben_cli.crypto.primitives.CryptoError` (exit 1) before any input is read."""

    def get() -> bytes:
        given = os.environ.get(PASSPHRASE_VARIABLE)
        if given is not None:
            if not given:
                raise p.CryptoError(f"{PASSPHRASE_VARIABLE} is set but empty")
            return given.encode("utf-8")
        try:
            first = ask("Passphrase: ")
            if confirm and ask("Passphrase (again): ") != first:
                raise p.CryptoError("the passphrases do not match")
        except (EOFError, OSError):
            raise p.CryptoError(f"a passphrase is needed and there is no terminal to ask on "
                                f"(it is never read from stdin): set {PASSPHRASE_VARIABLE}") from None
        if not first:
            raise p.CryptoError("the passphrase is empty")
        return first.encode("utf-8")

    return get


def _named_files(names: Sequence[str] | None, what: str) -> list[Path]:
    if not names or "-" in names:
        raise UsageError(what)
    return [Path(name) for name in names]


def sign_files(key: SigningKey, names: Sequence[str] | None, trusted_comment: str | None = None) -> Iterator[Path]:
    """Write ``FILE.minisig`` beside each named file; yield each signature's path as it is written."""
    for path in _named_files(names, "name the files to sign (a FILE.minisig is written beside each); "
                                    "use --stream for NDJSON on stdin"):
        text = minisign.sign_file(key, path, trusted_comment)
        target = minisign.signature_path(path)
        write_atomic(target, text.encode("utf-8"))
        yield target


def verify_files(key: VerifyKey, names: Sequence[str] | None, signature: Path | None = None) -> Iterator[tuple[str, str]]:
    """(file, trusted comment) for each named file as its signature verifies; the first that does
    not raises, naming the file."""
    paths = _named_files(names, "name the files to verify (each is checked against FILE.minisig)")
    if signature is not None and len(paths) > 1:
        raise UsageError("--sig names the signature of one file; give one FILE")
    for path in paths:
        try:
            comment = minisign.verify_file(key, path, signature)
        except p.CryptoError as exc:
            raise p.CryptoError(f"{path}: {exc}") from None
        yield str(path), comment


@contextmanager
def _one_input(names: Sequence[str] | None, verb: str) -> Iterator[BinaryIO]:
    """The single file (or stdin) that seal and open read."""
    if names and len(names) > 1:
        raise UsageError(f"{verb} reads one input (a file or stdin)")
    if not names or names[0] == "-":
        yield sys.stdin.buffer
        return
    with open(names[0], "rb") as source:
        yield source


def _write(output: Path | None, fill: Callable[[BinaryIO], object], mode: int = 0o644) -> None:
    """Into ``output`` atomically (readers never see a part), else onto stdout."""
    if output is not None:
        write_atomic(output, fill, mode=mode)
    else:
        fill(sys.stdout.buffer)
        sys.stdout.buffer.flush()


def seal(names: Sequence[str] | None, output: Path | None, recipients: Iterable[str],
         passphrase: keyfiles.PassphraseSource | None = None, armor: bool = False) -> None:
    """Encrypt one input to age recipients (``NAME.pub`` files or ``age1...`` strings) or a passphrase."""
    keys: list[age.Key] = [keyfiles.load_recipient(r) for r in recipients]
    if passphrase is not None:
        keys.append(age.Passphrase(passphrase()))
    if not keys:
        raise UsageError("give at least one --to RECIPIENT (or --passphrase)")
    with _one_input(names, "seal") as source:
        _write(output, lambda fh: age.encrypt(source, fh, keys, armor))


def open_sealed(names: Sequence[str] | None, output: Path | None, identity_files: Iterable[Path],
                passphrase: keyfiles.PassphraseSource | None = None, ask: keyfiles.PassphraseSource | None = None) -> None:
    """Decrypt one age input with identity files (``ask`` unlocks protected ones) or a passphrase;
    nothing is written until all of it has authenticated."""
    openers: list[age.Opener] = []
    for path in identity_files:
        openers += keyfiles.load_identities(path, ask)
    if passphrase is not None:
        openers.append(age.Passphrase(passphrase()))
    if not openers:
        raise UsageError("give --key NAME.key (or --passphrase)")
    with _one_input(names, "open") as source:
        _write(output, lambda fh: age.decrypt_to(source, fh, openers), mode=0o600)

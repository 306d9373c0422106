"""Telling a producer's format from the first lines of an input (``--format auto``).

The decision is taken on a sample: the whole lines in the first 64 KiB, up to
:data:`SNIFF_LINES` of them, each format scoring how well the sample fits it; the best score wins,
``lines`` (which claims anything, weakly) when no other fits. A first line longer than the sample
does not decide alone: when it is the only line seen, only its start is judged (an NDJSON object
opens with ``{"``). Input that is not text (NUL bytes, or mostly bytes that are neither UTF-8 nor
printable) is not sniffed at all: :class:`Binary` says why, and the input is skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ben_cli import registry
from ben_cli.errors import BenError
from ben_cli.ingest.format import Format

SNIFF_BYTES = 1 << 16
SNIFF_LINES = 100
NUL = b"\x00"


class Binary(BenError):
    """An input that is not text; the message says what gave it away."""


@dataclass(frozen=True)
class Sniffed:
    """What ``--format auto`` picked for one input, and from how many lines."""

    format: Format
    lines: int
    partial: bool = False  # judged on the start of one line longer than the sample


def format_names() -> list[str]:
    return registry.formats.names()


def binary_reason(sample: bytes) -> str | None:
    """Why ``sample`` is not text, or None when it is."""
    if not sample:
        return None
    if b"\x00" in sample:
        return f"binary input (a NUL byte at offset {sample.index(NUL)})"
    text = sample.decode("utf-8", errors="replace")
    bad = text.count("\ufffd") + sum(1 for c in text if c < " " and c not in "\t\n\r\f\v\x1b")
    if bad * 10 > len(text):  # more than one character in ten is not text
        return f"binary input ({bad} of the first {len(text)} characters are not text)"
    return None


def sample_lines(sample: bytes) -> tuple[list[bytes], bool]:
    """The non-blank whole lines of ``sample`` (at most :data:`SNIFF_LINES`), and whether they are
    instead the start of a single line the sample cut short."""
    lines = [line.rstrip(b"\r") for line in sample.split(b"\n")]
    partial = False
    if not sample.endswith(b"\n"):
        if len(lines) > 1:
            lines = lines[:-1]  # the last line may be cut off by the sample's end
        else:
            partial = len(sample) >= SNIFF_BYTES
    return [line for line in lines if line.strip()][:SNIFF_LINES], partial


def sniff(sample: bytes) -> Sniffed:
    """The registered format that claims this sample most strongly (lines when none does)."""
    reason = binary_reason(sample)
    if reason is not None:
        raise Binary(reason)
    lines, partial = sample_lines(sample)
    if partial and lines and lines[0].lstrip()[:2] == b'{"':
        return Sniffed(registry.formats.get("ndjson"), 1, partial=True)
    best: Format = registry.formats.get("lines")
    best_score = -1.0
    for _, fmt in registry.formats.items():
        if fmt.sniff is None:
            continue
        score = fmt.sniff(lines)
        if score > best_score:
            best, best_score = fmt, score
    return Sniffed(best, len(lines), partial)


def sniff_format(sample: bytes) -> Format:
    """The registered format that claims this sample most strongly (lines when none does)."""
    return sniff(sample).format


def describe(sniffed: Sniffed) -> str:
    """The stderr wording of a choice: ``syslog (from 20 lines)``."""
    if sniffed.partial:
        return f"{sniffed.format.name} (from the start of a first line over {SNIFF_BYTES >> 10} KiB)"
    n = sniffed.lines
    return f"{sniffed.format.name} (from {n} line{'' if n == 1 else 's'})"


def choose_format(fixed: Format | None, sample: bytes, name: str,
                  on_format: Callable[[str, str], None] | None, *, refuse_binary: bool = False) -> Format:
    """``fixed`` when the format was named, else the one sniffed from ``sample`` (and ``on_format``
    is told which and from how many lines, for the person watching). Input that is not text
    raises :class:`Binary` with ``refuse_binary`` (a named input, skipped), else is read as
    ``lines``, whose decoder rejects its lines one by one (a client of the listener)."""
    if fixed is not None:
        return fixed
    try:
        sniffed = sniff(sample[:SNIFF_BYTES])
    except Binary:
        if refuse_binary:
            raise
        lines, _ = sample_lines(sample[:SNIFF_BYTES])
        sniffed = Sniffed(registry.formats.get("lines"), len(lines))
    if on_format is not None:
        on_format(name, describe(sniffed))
    return sniffed.format

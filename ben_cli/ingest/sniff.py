"""Telling a producer's format from the first lines of an input (``--format auto``)."""

from __future__ import annotations

from collections.abc import Callable

from ben_cli import registry
from ben_cli.ingest.format import Format

SNIFF_BYTES = 1 << 16


def format_names() -> list[str]:
    return registry.formats.names()


def sniff_format(sample: bytes) -> Format:
    """The registered format that claims this sample most strongly (lines when none does)."""
    lines = [line.rstrip(b"\r") for line in sample.split(b"\n")]
    if len(lines) > 1 and not sample.endswith(b"\n"):
        lines = lines[:-1]  # the last line may be cut off by the sample's end
    lines = [line for line in lines if line.strip()][:20]
    best: Format = registry.formats.get("lines")
    best_score = -1.0
    for _, fmt in registry.formats.items():
        if fmt.sniff is None:
            continue
        score = fmt.sniff(lines)
        if score > best_score:
            best, best_score = fmt, score
    return best


def choose_format(fixed: Format | None, sample: bytes, name: str,
                  on_format: Callable[[str, str], None] | None) -> Format:
    """``fixed`` when the format was named, else the one sniffed from ``sample`` (and ``on_format``
    is told which, for the person watching)."""
    if fixed is not None:
        return fixed
    fmt = sniff_format(sample[:SNIFF_BYTES])
    if on_format is not None:
        on_format(name, fmt.name)
    return fmt

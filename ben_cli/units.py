"""The vocabulary of options: one grammar for durations, one for sizes, and where ben keeps state.

Every option that takes a duration (``--expire``, ``--batch-age``, ``--every``, ``--gap``,
``--retry-for``, ...) reads it with :func:`parse_duration`, and every size with :func:`parse_size`,
so ``1h30m`` or ``2w`` mean the same thing to every command.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

# Longest unit names first, so "ms" is not read as "m" followed by garbage.
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?|\.\d+)(ns|us|µs|ms|s|m|h|d|w)")
_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0,
            "d": 86400.0, "w": 604800.0}
_NUMBER = re.compile(r"\d+(?:\.\d+)?|\.\d+")
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?", re.IGNORECASE)
_SIZE_MULTIPLES = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_duration(text: str) -> float:
    """Seconds from ``500ms``, ``90s``, ``15m``, ``1h30m``, ``2d``, ``1w`` or a bare number of seconds.

    Parts add up (``1h30m`` is 5400), in any order of units; spaces between parts are allowed.
    Raises ValueError with an example of the grammar when the text is not a duration."""
    compact = text.strip().lower().replace(" ", "")
    if _NUMBER.fullmatch(compact):
        return float(compact)
    total, pos = 0.0, 0
    for part in _DURATION_PART.finditer(compact):
        if part.start() != pos:
            break
        total += float(part[1]) * _SECONDS[part[2]]
        pos = part.end()
    if not compact or pos != len(compact):
        raise ValueError(f"not a duration: {text!r} (try 500ms, 90s, 15m, 1h30m, 2d or 1w)")
    return total


def parse_size(text: str) -> int:
    """Bytes from ``123``, ``64K``, ``32M``, ``1.5G``, ``64KiB`` or ``64kb`` (multiples of 1024).

    Every size ben takes is a limit (a line, a batch, a file before rotation), so zero is refused."""
    match = _SIZE.fullmatch(text.strip())
    if not match:
        raise ValueError(f"not a size: {text!r} (try 4096, 64K, 32M or 1G)")
    size = int(float(match[1]) * _SIZE_MULTIPLES[match[2].lower()])
    if size < 1:
        raise ValueError(f"a size must be at least one byte: {text!r}")
    return size


def ben_home() -> Path:
    """Where ben keeps state between runs: ``$BEN_HOME``, else ``~/.local/share/ben``."""
    return Path(os.environ.get("BEN_HOME") or Path.home() / ".local" / "share" / "ben")


def parse_share(text: str) -> float:
    """A share between 0 and 1 from ``5%``, ``0.5%`` or ``0.05``."""
    compact = text.strip()
    percent = compact.endswith("%")
    number = compact[:-1].strip() if percent else compact
    if not _NUMBER.fullmatch(number):
        raise ValueError(f"not a share: {text!r} (try 5%, 0.5% or 0.05)")
    share = float(number) / (100 if percent else 1)
    if share > 1:
        raise ValueError(f"a share is at most 100%: {text!r}")
    return share

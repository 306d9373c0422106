"""Human sizes and durations for options: ``64M``, ``1.5G``, ``500ms``, ``30s``, ``1h``, ``7d``."""

from __future__ import annotations

import re

_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?", re.I)
_SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?", re.I)
_DURATION_UNITS = {"ms": 0.001, "s": 1, "": 1, "m": 60, "h": 3600, "d": 86400}


def parse_size(text: str) -> int:
    """Bytes from ``123``, ``64k``, ``64M``, ``1.5GiB`` (binary multiples)."""
    m = _SIZE.fullmatch(text.strip())
    if not m:
        raise ValueError(f"not a size: {text!r} (try 64M)")
    return int(float(m[1]) * _SIZE_UNITS[m[2].lower()])


def parse_duration(text: str) -> float:
    """Seconds from ``500ms``, ``30s``, ``5m``, ``1h``, ``7d`` or a bare number of seconds."""
    m = _DURATION.fullmatch(text.strip())
    if not m:
        raise ValueError(f"not a duration: {text!r} (try 30s, 5m or 1h)")
    return float(m[1]) * _DURATION_UNITS[(m[2] or "").lower()]

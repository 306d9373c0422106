"""Numbers, units, times and lists written for people: ``412 ms``, ``1.2k``, ``12 minutes``, ``10:02 UTC``.

Every function here is pure and deterministic: the same value always gives the same text, so a
report can be compared byte for byte. Rounding is to three significant digits, which is what a
reader keeps in mind anyway; the JSON report carries the exact numbers.
"""

from __future__ import annotations

import math

from ben_cli.record import NS_PER_S, civil_from_days

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def plural(n: int | float, word: str, many: str | None = None) -> str:
    """``1 record``, ``2 records``, ``1 hour``; ``many`` for irregular plurals (``entity``/``entities``)."""
    form = word if n == 1 else (many or word + "s")
    return f"{count(n)} {form}"


def sig(x: float, digits: int = 3) -> str:
    """``x`` to ``digits`` significant digits without trailing zeros or exponent (412, 3.4, 0.0123)."""
    if x == 0 or not math.isfinite(x):
        return "0" if x == 0 else str(x)
    magnitude = math.floor(math.log10(abs(x)))
    decimals = max(0, digits - 1 - magnitude)
    text = f"{x:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def count(n: int | float) -> str:
    """Counts as people say them: 950, 1.2k, 34.6k, 1.5M (exact below 1,000)."""
    a = abs(n)
    if a < 1000:
        return str(int(n)) if float(n).is_integer() else sig(n)
    for div, suffix in ((1e3, "k"), (1e6, "M"), (1e9, "G"), (1e12, "T")):
        scaled = n / div
        text = sig(scaled, 2 if abs(scaled) < 10 else 3)
        if abs(float(text)) < 1000 or suffix == "T":  # 999,999 rounds to 1000k: say 1M instead
            return text + suffix
    raise AssertionError("unreachable")


_BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")
_TIME_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0}


def quantity(value: float, unit: str | None) -> str:
    """A measured value with its unit: ``412 ms``, ``58%``, ``1.5 MiB``, ``1.2 s``, ``37``."""
    if unit in ("%", "percent"):
        return f"{sig(value)}%"
    if unit in ("By", "B", "bytes"):
        v, i = float(value), 0
        while abs(v) >= 1024 and i < len(_BYTE_UNITS) - 1:
            v, i = v / 1024, i + 1
        return f"{sig(v)} {_BYTE_UNITS[i]}"
    if unit in _TIME_UNITS:
        seconds = value * _TIME_UNITS[unit]
        if unit == "ms" and abs(seconds) >= 10:
            return f"{sig(seconds)} s"
        return f"{sig(value)} {unit}"
    if unit and unit.startswith("1/"):  # UCUM-style rates: 1/s, 1/min
        return f"{sig(value)}/{unit[2:]}"
    if not unit or unit == "1":
        return count(value) if abs(value) >= 1000 else sig(value)
    return f"{sig(value)} {unit}"


def is_time_unit(unit: str | None) -> bool:
    return unit in _TIME_UNITS


_DURATION_PARTS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def duration(seconds: float) -> str:
    """A span as words, at most two adjacent parts: ``12 minutes``, ``1 hour 5 minutes``, ``2 days``."""
    if seconds < 1:
        return plural(round(seconds * 1000), "millisecond")
    total = int(round(seconds))
    for i, (name, size) in enumerate(_DURATION_PARTS):
        if total >= size:
            n, rest = divmod(total, size)
            text = plural(n, name)
            if i + 1 < len(_DURATION_PARTS):
                sub_name, sub_size = _DURATION_PARTS[i + 1]
                if rest // sub_size:
                    text += " " + plural(rest // sub_size, sub_name)
            return text
    return plural(0, "second")


def parse_percent(text: str) -> float:
    """``20%``, ``20`` or ``0.2`` (a fraction when below 1) as a fraction."""
    t = text.strip().rstrip("%")
    value = float(t)
    return value / 100 if (text.strip().endswith("%") or value >= 1) else value


def clock(ns: int, *, seconds: bool = False, date: bool = False) -> str:
    """A UTC time of day, optionally with the date: ``10:02``, ``10:02:30``, ``25 Nov 10:02``."""
    secs = ns // NS_PER_S
    days, sod = divmod(secs, 86400)
    hh, rem = divmod(sod, 3600)
    mm, ss = divmod(rem, 60)
    text = f"{hh:02d}:{mm:02d}:{ss:02d}" if seconds else f"{hh:02d}:{mm:02d}"
    if date:
        y, mo, d = civil_from_days(days)
        text = f"{d} {_MONTHS[mo - 1]} {y} {text}"
    return text


def day_of(ns: int) -> int:
    return ns // NS_PER_S // 86400


def join_words(items: list[str], conjunction: str = "and") -> str:
    """``a``, ``a and b``, ``a, b and c`` (no Oxford comma, as the issue's examples read)."""
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + f" {conjunction} " + items[-1]


def share(part: float, whole: float) -> str:
    """A proportion as a percentage people can compare: ``0%``, ``0.4%``, ``12%``, ``100%``."""
    if whole <= 0:
        return "0%"
    p = 100 * part / whole
    if p == 0:
        return "0%"
    if p < 0.1:
        return "<0.1%"
    return f"{sig(p, 2) if p < 10 else str(int(p + 0.5))}%"  # half up: 12.5% reads as 13%


def rate(n: int, seconds: float) -> str:
    """Events per second, minute or hour, whichever gives a number of at least one."""
    if seconds <= 0:
        return "-"
    per_s = n / seconds
    for per, label in ((1, "s"), (60, "min"), (3600, "h")):
        if per_s * per >= 1:
            return f"{count(per_s * per) if per_s * per >= 1000 else sig(per_s * per, 2)}/{label}"
    return f"{sig(per_s * 86400, 2)}/day"

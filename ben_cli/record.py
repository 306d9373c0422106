"""The record envelope: timestamps, lanes and severities every stage agrees on.

Timestamps travel as RFC 3339 UTC strings with up to nine fractional digits. Internally they are
integer nanoseconds since the epoch, because floats cannot hold nanoseconds for current dates.
The calendar arithmetic is done by hand (Howard Hinnant's days-from-civil) rather than through
``datetime``: it is exact for nanoseconds and several times faster on the hot path of ``ingest``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

LANES = ("diag", "event", "control")
SEVERITIES = ("trace", "debug", "info", "warn", "error", "fatal")
RESERVED = ("anomaly", "redacted", "sig", "via", "_ingest")
ENVELOPE_FIELDS = ("ts", "lane", "source", "name", "value", "unit", "severity", "body", "attrs")

NS_PER_S = 1_000_000_000
MIN_NS = -62135596800 * NS_PER_S  # 0001-01-01T00:00:00Z: RFC 3339 has four-digit years
MAX_NS = 253402300800 * NS_PER_S - 1  # 9999-12-31T23:59:59.999999999Z

# Spellings producers use for levels, mapped onto the envelope's six severities.
_SEVERITY_ALIASES = {
    "trace": "trace", "trc": "trace", "verbose": "trace", "finest": "trace", "finer": "trace",
    "debug": "debug", "dbg": "debug", "fine": "debug", "d": "debug",
    "info": "info", "inf": "info", "information": "info", "informational": "info", "notice": "info",
    "i": "info", "config": "info",
    "warn": "warn", "warning": "warn", "wrn": "warn", "w": "warn",
    "error": "error", "err": "error", "eror": "error", "e": "error", "severe": "error",
    "fatal": "fatal", "crit": "fatal", "critical": "fatal", "alert": "fatal", "emerg": "fatal",
    "emergency": "fatal", "panic": "fatal", "f": "fatal",
}
# bunyan/pino numeric levels
_NUMERIC_SEVERITY = {10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal"}


def normalise_severity(level: object) -> str | None:
    """Map a producer's level (``WARNING``, ``err``, pino's ``40``) to an envelope severity, or None."""
    if isinstance(level, str):
        return _SEVERITY_ALIASES.get(level.strip().lower())
    if isinstance(level, int) and not isinstance(level, bool):
        return _NUMERIC_SEVERITY.get(level)
    return None


class TimestampError(ValueError):
    """A value that cannot be read as a point in time."""


def is_lane(value: object) -> bool:
    return value in LANES


def days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date."""
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(z: int) -> tuple[int, int, int]:
    """The inverse of :func:`days_from_civil`."""
    z += 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return y + (m <= 2), m, d


_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9})\d*)?"
    r"\s*(?:([Zz])|([+-])(\d\d):?(\d\d)|(?:UTC|GMT))?"
)
# Already canonical, with every field in range except days 29-31, which need the calendar.
_CANONICAL = re.compile(
    r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8]|(29|3[01]))"
    r"T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{3}|\.\d{6}|\.\d{9})?Z"
)


def parse_rfc3339(text: str, *, default_offset_s: int = 0) -> int:
    """Parse an RFC 3339 / ISO 8601 date-time into nanoseconds since the epoch.

    Accepts ``T`` or a space, ``.`` or ``,`` fractions (digits past nine are truncated), ``Z``,
    ``+hh:mm``, ``+hhmm`` or no offset (then ``default_offset_s`` applies: UTC unless told).
    """
    m = _RFC3339.fullmatch(text.strip())
    if m is None:
        raise TimestampError(f"not an RFC 3339 timestamp: {text[:64]!r}")
    year, month, day = int(m[1]), int(m[2]), int(m[3])
    hour, minute, second = int(m[4]), int(m[5]), int(m[6])
    if year == 0 or not 1 <= month <= 12 or not 1 <= day <= _DAYS_IN_MONTH[month - 1]:
        raise TimestampError(f"no such date: {text[:64]!r}")
    if month == 2 and day == 29 and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        raise TimestampError(f"no such date (not a leap year): {text[:64]!r}")
    if hour > 23 or minute > 59 or second > 60:
        raise TimestampError(f"no such time of day: {text[:64]!r}")
    second = min(second, 59)  # a leap second is read as the last second of its minute
    frac = m[7]
    nanos = int(frac.ljust(9, "0")) if frac else 0
    if m[8]:
        offset = 0
    elif m[9]:
        oh, om = int(m[10]), int(m[11])
        if oh > 23 or om > 59:
            raise TimestampError(f"bad UTC offset: {text[:64]!r}")
        offset = (oh * 3600 + om * 60) * (1 if m[9] == "+" else -1)
    else:
        offset = 0 if text.rstrip().endswith(("UTC", "GMT")) else default_offset_s
    secs = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset
    return secs * NS_PER_S + nanos


# Magnitude bands for numbers that are epoch times: seconds until the year 5138, then ms, us, ns.
_EPOCH_S_MAX = 1e11
_EPOCH_MS_MAX = 1e14
_EPOCH_US_MAX = 1e17


def epoch_to_ns(value: float | int) -> int:
    """Read a number as an epoch time, guessing seconds, ms, us or ns from its magnitude."""
    if isinstance(value, bool) or value != value or value in (float("inf"), float("-inf")):
        raise TimestampError(f"not an epoch time: {value!r}")
    mag = abs(value)
    if mag < _EPOCH_S_MAX:
        scale = NS_PER_S
    elif mag < _EPOCH_MS_MAX:
        scale = 1_000_000
    elif mag < _EPOCH_US_MAX:
        scale = 1_000
    else:
        scale = 1
    if isinstance(value, int):
        return value * scale
    whole = int(value)
    return whole * scale + round((value - whole) * scale)


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")


def to_ns(value: object, *, default_offset_s: int = 0) -> int:
    """Nanoseconds since the epoch from a timestamp string, an epoch number, or a numeric string."""
    if isinstance(value, str):
        if _NUMBER.fullmatch(value):
            return epoch_to_ns(int(value) if value.lstrip("-").isdigit() else float(value))
        return parse_rfc3339(value, default_offset_s=default_offset_s)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return epoch_to_ns(value)
    raise TimestampError(f"not a timestamp: {value!r}")


# The last whole second format_ts wrote and its text: records arrive in time order, so most
# share their second with the one before and only the fraction needs formatting. One tuple,
# replaced whole, so threads never see a second beside another second's text.
_LAST_SECOND: tuple[int, str] = (0, "1970-01-01T00:00:00")


def format_ts(ns: int) -> str:
    """RFC 3339 UTC with the shortest of 0, 3, 6 or 9 fractional digits that is exact; raises
    :class:`TimestampError` for a time outside the years 0001-9999, which RFC 3339 cannot write."""
    global _LAST_SECOND
    secs, nanos = divmod(ns, NS_PER_S)
    last = _LAST_SECOND
    if last[0] == secs:
        text = last[1]
    else:
        if not MIN_NS <= ns <= MAX_NS:
            raise TimestampError(f"time {ns} ns after 1970 is outside the years 0001-9999")
        days, sod = divmod(secs, 86400)
        y, mo, d = civil_from_days(days)
        hh, rem = divmod(sod, 3600)
        mi, ss = divmod(rem, 60)
        text = f"{y:04d}-{mo:02d}-{d:02d}T{hh:02d}:{mi:02d}:{ss:02d}"
        _LAST_SECOND = (secs, text)
    if nanos == 0:
        return text + "Z"
    if nanos % 1_000_000 == 0:
        return f"{text}.{nanos // 1_000_000:03d}Z"
    if nanos % 1_000 == 0:
        return f"{text}.{nanos // 1_000:06d}Z"
    return f"{text}.{nanos:09d}Z"


def normalise_ts(value: object, *, default_offset_s: int = 0) -> str:
    """Any accepted timestamp as the envelope's canonical string (already-canonical strings kept)."""
    if type(value) is str:
        m = _CANONICAL.fullmatch(value)
        if m is not None:
            if m[1] is not None:
                parse_rfc3339(value)  # validates 29 February and the 31st of short months
            return value
    ns = to_ns(value, default_offset_s=default_offset_s)
    if not MIN_NS <= ns <= MAX_NS:
        raise TimestampError(f"time {value!r} is outside the years 0001-9999")
    return format_ts(ns)


def now_ns() -> int:
    return time.time_ns()


def path_getter(path: str) -> Callable[[dict], Any]:
    """A function reading ``path`` from a record; dots walk into objects (``attrs.latency``)."""
    if "." not in path:
        return lambda rec: rec.get(path)
    parts = path.split(".")

    def get(rec: dict) -> Any:
        value: Any = rec.get(path)
        if value is not None:
            return value
        value = rec
        for part in parts:
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value

    return get

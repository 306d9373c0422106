"""What a format is: a sniffer that recognises it and a decoder that turns lines into envelopes.

A decoder is made fresh for every input stream because some formats carry state from line to
line (a CSV header, Prometheus ``# TYPE`` lines). ``decode`` returns one record, a list of
records, or None for a line that only carries state; it raises :class:`DecodeError` with a
human reason for a line it cannot read.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Protocol

from ben_cli import registry
from ben_cli.errors import BenError


class DecoderMark(dict):
    """What a decoder tells the core about a record, put under its ``_ingest``: ``ts: "read"``
    (no time of its own: the core marks and counts it, or rejects it under ``--require-ts``) and
    ``line`` (the number of the record's first line, for a record of several lines that the
    decoder held). The core replaces it with its own mark."""


# The mark of a record whose time is the time of reading.
READ_TS = DecoderMark(ts="read")


class DecodeError(BenError, ValueError):
    """A line this format cannot read; the message is the reject reason shown to the user."""


class Resync(DecodeError):
    """Lines a decoder held back (a CSV quoted cell still open) form no record after all: the
    first of ``held`` (the line that opened the cell) is rejected with this reason, and the
    others are decoded again from a clean state, so one stray quote costs one line. ``held``
    ends with the line just given to ``decode`` when raised there; from ``end`` every held line
    was one ``decode`` returned None for."""

    def __init__(self, reason: str, held: list[bytes]):
        super().__init__(reason)
        self.held = held


def decode_text(data: bytes, encoding: str = "utf-8") -> str:
    """A text format's line as ``str``: NUL bytes (binary data) and invalid UTF-8 are refused."""
    if b"\x00" in data:
        raise DecodeError("line contains NUL bytes")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise DecodeError(f"invalid UTF-8 at byte {exc.start}") from None


@dataclass
class DecodeOptions:
    """Settings shared by all decoders. Formats read what applies to them from here or ``extra``."""

    lane: str = "diag"
    source: str | None = None  # fallback when a record names no source of its own
    tz_offset_s: int = 0  # offset for timestamps that carry none
    tz: tzinfo | None = None  # zone of syslog (RFC 3164) stamps, which carry none; None: this machine's
    extra: dict[str, object] = field(default_factory=dict)
    ts_field: str | None = None  # CSV: the column holding the time
    value_field: str | None = None  # CSV: the column holding the measured value
    name_field: str | None = None  # CSV: the column holding the record's name
    clock: Callable[[], int] = time.time_ns  # "time of reading" for records without one
    require_ts: bool = False  # reject a record without a time of its own instead of giving it the time of reading
    layouts: tuple = ()  # the user's line layouts (--pattern, --layouts), tried before the built-in ones
    ts_formats: tuple[str, ...] = ()  # --ts-format: strftime formats for a layout's ts group
    multiline: str = "off"  # lines: auto, indent or off (see lines.py)


class Decoder(Protocol):
    """One format's decoding of one input's lines (see the module's notes); driven by
    :class:`ben_cli.ingest.core.Ingester`, which numbers, marks and rejects."""

    def decode(self, data: bytes) -> dict | list[dict] | None: ...

    def end(self) -> list[dict]: ...


@dataclass(frozen=True)
class Format:
    name: str
    description: str
    make_decoder: Callable[[DecodeOptions], Decoder]
    sniff: Callable[[Sequence[bytes]], float] | None = None
    # Each line decodes alone (no state carried between lines), so a big file may be split at
    # line boundaries and decoded by several processes.
    stateless: bool = False
    # Lines at the head of a file that later lines depend on (a CSV header): a reader resuming
    # in the middle of a file feeds them to the decoder first.
    head_lines: int = 0
    # For a format that is not stateless: given an open file and its size, the lines a decoder
    # must read before it can start at a line boundary past ``offset`` (the second item), or
    # None when this file cannot be cut into blocks (see parallel.py).
    block_head: Callable[[int, int], tuple[list[bytes], int] | None] | None = None


def register_format(fmt: Format) -> Format:
    return registry.formats.add(fmt.name, fmt)


_OFFSET = re.compile(r"([+-])(\d\d):?(\d\d)")


def parse_tz(text: str) -> tzinfo:
    """A zone from ``UTC``/``Z``, a fixed offset (``+02:00``, ``-0500``) or an IANA name (``Europe/Paris``)."""
    if text.upper() in ("UTC", "Z", "GMT"):
        return UTC
    m = _OFFSET.fullmatch(text)
    if m:
        hours, minutes = int(m[2]), int(m[3])
        if hours > 23 or minutes > 59:
            raise ValueError(f"bad UTC offset {text!r}")
        sign = 1 if m[1] == "+" else -1
        return timezone(sign * timedelta(hours=hours, minutes=minutes))
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {text!r} (use UTC, +hh:mm or a name like Europe/Paris)") from None


def utc_offset_now(zone: tzinfo) -> int:
    """The zone's offset from UTC in seconds at this moment (for formats that take a fixed offset)."""
    offset = datetime.now(zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def zone_from_environment() -> tzinfo | None:
    """The zone ``TZ`` names (``TZ=Europe/Paris``, ``TZ=UTC``, ``TZ=:Europe/Paris``), or None when
    it is unset or names none this machine knows."""
    import os

    name = os.environ.get("TZ", "").lstrip(":")
    if not name:
        return None
    try:
        return parse_tz(name)
    except ValueError:
        return None

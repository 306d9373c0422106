"""What a format is: a sniffer that recognises it and a decoder that turns lines into envelopes.

A decoder is made fresh for every input stream because some formats carry state from line to
line (a CSV header, Prometheus ``# TYPE`` lines). ``decode`` returns one record, a list of
records, or None for a line that only carries state; it raises :class:`DecodeError` with a
human reason for a line it cannot read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ben_cli import registry


class DecodeError(ValueError):
    """A line this format cannot read; the message is the reason shown to the user."""


@dataclass
class IngestOptions:
    """Settings shared by all decoders. Formats read what applies to them from here or ``extra``."""

    lane: str = "diag"
    source: str | None = None  # fallback when a record names no source of its own
    tz_offset_s: int = 0  # offset for timestamps that carry none
    extra: dict[str, object] = field(default_factory=dict)
    clock: Callable[[], int] = time.time_ns  # "time of reading" for records without one


class Decoder(Protocol):
    def decode(self, data: bytes) -> dict | list[dict] | None: ...

    def end(self) -> list[dict]: ...


@dataclass(frozen=True)
class Format:
    name: str
    description: str
    make_decoder: Callable[[IngestOptions], Decoder]
    sniff: Callable[[Sequence[bytes]], float] | None = None


def register_format(fmt: Format) -> Format:
    return registry.formats.add(fmt.name, fmt)

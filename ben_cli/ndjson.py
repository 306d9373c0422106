"""Streaming NDJSON: open inputs (files, ``-``, gzip), iterate numbered lines, write records.

Every filter reads and writes through here so that line numbers, gzip, CRLF and output
buffering behave the same in every command.
"""

from __future__ import annotations

import gzip
import io
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

import orjson

GZIP_MAGIC = b"\x1f\x8b"
DEFAULT_MAX_LINE_BYTES = 1 << 20  # 1 MiB: longer lines are rejected, not parsed
_BLOCK = 1 << 16
WRITE_BUFFER = 1 << 20


class BadRecord(ValueError):
    """A line that could not be read; carries where it was and why."""

    def __init__(self, lineno: int, reason: str, raw: bytes = b"", file: str = "-"):
        where = f"{file}:{lineno}" if file not in ("-", "<stdin>") else f"line {lineno}"
        super().__init__(f"{where}: {reason}")
        self.lineno = lineno
        self.reason = reason
        self.raw = raw
        self.file = file


@dataclass(frozen=True)
class Line:
    """One input line without its terminator (``\\n`` or ``\\r\\n``)."""

    file: str
    lineno: int
    data: bytes


def open_input(path: str) -> BinaryIO:
    """Open a file (or stdin for ``-``) for binary reading, unwrapping gzip by its magic bytes."""
    raw: BinaryIO
    if path == "-":
        raw = sys.stdin.buffer
    else:
        raw = open(path, "rb", buffering=_BLOCK)  # noqa: SIM115 - closed by the caller
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw, _BLOCK)  # type: ignore[arg-type]
    if buffered.peek(2)[:2] == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=buffered, mode="rb")  # type: ignore[return-value]
    return buffered


def display_name(path: str) -> str:
    return "<stdin>" if path == "-" else path


def iter_lines(stream: BinaryIO, file: str = "-", start_lineno: int = 1) -> Iterator[Line]:
    """Numbered lines of a binary stream; a missing final newline still yields the last line."""
    lineno = start_lineno - 1
    for raw in stream:
        lineno += 1
        if raw.endswith(b"\n"):
            raw = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
        yield Line(file, lineno, raw)


def parse_object(data: bytes, lineno: int = 0, file: str = "-") -> dict:
    """Parse one NDJSON line into a dict, or raise :class:`BadRecord` saying why not."""
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BadRecord(lineno, f"invalid JSON: {exc}", data, file) from None
    if not isinstance(obj, dict):
        raise BadRecord(lineno, f"record is a JSON {type(obj).__name__}, not an object", data, file)
    return obj


def iter_records(
    paths: Iterable[str],
    on_error: Callable[[BadRecord], None] | None = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> Iterator[dict]:
    """Records from NDJSON inputs, skipping blank lines; bad lines go to ``on_error`` (or raise)."""
    for path in paths:
        name = display_name(path)
        stream = open_input(path)
        try:
            for line in iter_lines(stream, name):
                data = line.data
                if not data.strip():
                    continue
                try:
                    if len(data) > max_line_bytes:
                        raise BadRecord(line.lineno, f"line is {len(data)} bytes, over the {max_line_bytes}-byte limit", data, name)
                    yield parse_object(data, line.lineno, name)
                except BadRecord as bad:
                    if on_error is None:
                        raise
                    on_error(bad)
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()


def dumps(record: dict) -> bytes:
    """One record as one line (orjson never emits raw newlines inside strings)."""
    return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)


class Writer:
    """Writes records to a binary stream: flushed per line on a terminal, in large blocks otherwise.

    Large blocks keep pipes efficient; per-line flushing keeps ``ben ingest --follow`` live on a
    screen. Lines are copied into one long-lived 1 MiB buffer rather than joined into fresh
    blocks: allocating and freeing a block per flush makes glibc hand memory back to the kernel
    and fault it in again, which cost a fifth of ``ingest``'s time. ``count`` is the number of
    records written.
    """

    def __init__(self, stream: BinaryIO | None = None, *, line_buffered: bool | None = None):
        target = stream if stream is not None else sys.stdout.buffer
        if line_buffered is None:
            try:
                line_buffered = os.isatty(target.fileno())
            except (AttributeError, OSError, io.UnsupportedOperation):
                line_buffered = False
        self.line_buffered = line_buffered
        self.target = target
        self.stream: BinaryIO = target
        # sys.stdout.buffer is a BufferedWriter, or the raw FileIO itself under PYTHONUNBUFFERED=1
        # (where every record would otherwise cost a system call)
        raw = target if isinstance(target, io.FileIO) else getattr(target, "raw", None)
        if not line_buffered and isinstance(raw, io.FileIO):
            target.flush()
            self.stream = io.BufferedWriter(raw, WRITE_BUFFER)  # type: ignore[assignment]
        self.count = 0

    def write(self, record: dict) -> None:
        self.count += 1
        self.stream.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
        if self.line_buffered:
            self.stream.flush()

    def write_line(self, line: bytes) -> None:
        """Write an already-serialised line (must end with a newline)."""
        self.count += 1
        self.stream.write(line)
        if self.line_buffered:
            self.stream.flush()

    def write_all(self, records: Iterable[dict]) -> None:
        for record in records:
            self.write(record)

    def flush(self) -> None:
        self.stream.flush()

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush()

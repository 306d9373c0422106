"""Reading the sink's input with byte positions, so a rerun can continue where the last run's
spooled batches ended instead of storing a file twice.

The shared reader (:func:`ben_cli.ndjson.iter_records`) has no positions; this one walks the same
opened stream (:func:`ben_cli.ndjson.open_input`: files, ``-``, gzip) and parses each line with the
same :func:`ben_cli.ndjson.parse_object`, counting bytes as it goes. Positions of gzip inputs count
decompressed bytes; resuming such a file decompresses and skips what was already read.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from ben_cli.ndjson import DEFAULT_MAX_LINE_BYTES, BadRecord, display_name, open_input, parse_object


@dataclass(frozen=True, eq=False)
class Input:
    """An input's identity: its absolute path (None for stdin), device and inode. One per input,
    with each record's end offset beside it, rather than a position object per record. It is
    hashed by identity (``eq=False``), in C: a batch looks it up for every record, and a field-wise
    hash in Python cost more than the lookup."""

    key: str | None
    dev: int
    ino: int

    def position(self, offset: int) -> dict:
        return {"dev": self.dev, "ino": self.ino, "offset": offset}


def input_key(path: str) -> str | None:
    return None if path == "-" else os.path.abspath(path)


def iter_positioned(
    paths: Iterable[str],
    resume: dict[str, dict] | None = None,
    on_error: Callable[[BadRecord], None] | None = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    parse: bool = True,
) -> Iterator[tuple[dict | None, bytes, int, str, Input, int]]:
    """(record, its line ending in a newline, line number, file name, input, offset after the line)
    for each record of each input; with ``parse=False`` the record is None and the lines are left
    for later (worker processes).

    ``resume`` maps an input key to a saved position; a file with the same device and inode that
    is at least that long is read from there (line numbers then count from the resume point).
    """
    resume = resume or {}
    for path in paths:
        key = input_key(path)
        name = display_name(path)
        dev = ino = 0
        skip = 0
        if key is not None:
            st = os.stat(path)
            dev, ino = st.st_dev, st.st_ino
            saved = resume.get(key)
            if saved and saved.get("dev") == dev and saved.get("ino") == ino:
                skip = int(saved["offset"])
        source = Input(key, dev, ino)
        stream = open_input(path)
        try:
            offset = 0
            while offset < skip:  # works for plain and gzip streams alike
                chunk = stream.read(min(1 << 20, skip - offset))
                if not chunk:
                    break
                offset += len(chunk)
            lineno = 0
            for raw in stream:  # the line as read is what is kept: no copy per line on the way
                offset += len(raw)
                lineno += 1
                if raw.isspace():  # strip() would copy every line to find out
                    continue
                if not raw.endswith(b"\n") or raw.endswith(b"\r\n"):  # the last line, or CRLF
                    raw = raw.rstrip(b"\r\n") + b"\n"
                try:
                    if len(raw) > max_line_bytes + 1:
                        raise BadRecord(lineno, f"line is {len(raw) - 1} bytes, over the {max_line_bytes}-byte limit",
                                        raw[:-1], name)
                    rec = parse_object(raw, lineno, name) if parse else None  # JSON allows the newline
                except BadRecord as bad:
                    if on_error is None:
                        raise
                    bad.raw = bad.raw.rstrip(b"\n")
                    on_error(bad)
                    continue
                yield rec, raw, lineno, name, source, offset
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()

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


@dataclass
class Position:
    """Where a record ended: the input's identity (None for stdin) and the byte after its line."""

    key: str | None
    dev: int
    ino: int
    offset: int

    def as_dict(self) -> dict:
        return {"dev": self.dev, "ino": self.ino, "offset": self.offset}


def input_key(path: str) -> str | None:
    return None if path == "-" else os.path.abspath(path)


def iter_positioned(
    paths: Iterable[str],
    resume: dict[str, dict] | None = None,
    on_error: Callable[[BadRecord], None] | None = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> Iterator[tuple[dict, bytes, Position, int, str]]:
    """(record, its line, position after it, line number, file name) for each record of each input.

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
        stream = open_input(path)
        try:
            offset = 0
            while offset < skip:  # works for plain and gzip streams alike
                chunk = stream.read(min(1 << 20, skip - offset))
                if not chunk:
                    break
                offset += len(chunk)
            lineno = 0
            for raw in stream:
                offset += len(raw)
                lineno += 1
                data = raw.rstrip(b"\r\n") if raw.endswith(b"\n") else raw
                if not data or data.isspace():  # strip() would copy every line to find out
                    continue
                try:
                    if len(data) > max_line_bytes:
                        raise BadRecord(lineno, f"line is {len(data)} bytes, over the {max_line_bytes}-byte limit", data, name)
                    rec = parse_object(data, lineno, name)
                except BadRecord as bad:
                    if on_error is None:
                        raise
                    on_error(bad)
                    continue
                yield rec, data, Position(key, dev, ino, offset), lineno, name
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()

"""Where ``ben watch`` reads from, and the loop that counts what it reads.

Every input is read in chunks with a short poll (:data:`POLL_S`) and a stop flag checked between
them, so ``q`` ends the watch at once even while a producer upstream still writes: the reader
never sits in a blocking ``read`` it cannot leave. A pipe is polled with ``select``; a file with
``--follow`` is read to its end and then checked again every poll (a file cut shorter is read
again from its start, a file replaced under its name is reopened, as ``tail -F`` does).

:class:`Pump` turns chunks into records: whole lines are parsed (a bad line is rejected with its
line number and reason, never dropped in silence), counted in :class:`~ben_cli.watch.stats.Stats`
a batch at a time, and, with ``--tee``, the chunk goes on to the output exactly as it came.
"""

from __future__ import annotations

import os
import selectors
import threading
from collections.abc import Callable, Iterator
from typing import BinaryIO

import orjson

from ben_cli.errors import BadRecord, UsageError
from ben_cli.ndjson import DEFAULT_MAX_LINE_BYTES, open_input, parse_object, too_long
from ben_cli.watch.stats import Stats

POLL_S = 0.1
CHUNK = 1 << 16


def fd_chunks(fd: int, stop: threading.Event) -> Iterator[bytes]:
    """The bytes of a descriptor (a pipe, a terminal, a socket) as they arrive, until its end or ``stop``."""
    sel = selectors.DefaultSelector()
    try:
        sel.register(fd, selectors.EVENT_READ)
    except (ValueError, OSError):  # a regular file cannot be polled: it is always ready
        sel.close()
        sel = None  # type: ignore[assignment]
    try:
        while not stop.is_set():
            if sel is not None and not sel.select(timeout=POLL_S):
                continue
            chunk = os.read(fd, CHUNK)
            if not chunk:
                return
            yield chunk
    finally:
        if sel is not None:
            sel.close()


def file_chunks(path: str, stop: threading.Event, *, follow: bool = False) -> Iterator[bytes]:
    """The bytes of a file (gzip read transparently); with ``follow``, and what it gains later.
    The file is opened now, so a missing one is an error before any reading starts."""
    try:
        stream: BinaryIO = open_input(path)
    except OSError as exc:
        raise UsageError(f"--from {path}: {exc.strerror or exc}") from None
    return _file_chunks(path, stream, stop, follow)


def _file_chunks(path: str, stream: BinaryIO, stop: threading.Event, follow: bool) -> Iterator[bytes]:
    try:
        while True:
            while not stop.is_set():
                chunk = stream.read(CHUNK)
                if not chunk:
                    break
                yield chunk
            if not follow or stop.is_set():
                return
            if stop.wait(POLL_S):
                return
            stream = _reopened(path, stream)
    finally:
        stream.close()


def _reopened(path: str, stream: BinaryIO) -> BinaryIO:
    """The stream to read on: the same one, rewound when the file was cut shorter, or the file
    now at ``path`` when it was replaced (rotated)."""
    try:
        now = os.stat(path)
        mine = os.fstat(stream.fileno())
    except OSError:
        return stream  # gone for a moment (rotation): keep reading the old one
    if (now.st_dev, now.st_ino) != (mine.st_dev, mine.st_ino):
        try:
            fresh = open(path, "rb")  # noqa: SIM115 - closed by file_chunks
        except OSError:
            return stream
        rest = stream.read()  # the old file's last lines first
        stream.close()
        if rest:
            return _Prefixed(rest, fresh)  # type: ignore[return-value]
        return fresh
    try:
        if mine.st_size < stream.tell():
            stream.seek(0)
    except (OSError, ValueError):
        pass
    return stream


class _Prefixed:
    """A stream that first gives some bytes already read, then a file's."""

    def __init__(self, head: bytes, stream: BinaryIO):
        self.head, self.stream = head, stream

    def read(self, size: int = -1) -> bytes:
        if self.head:
            head, self.head = self.head, b""
            return head
        return self.stream.read(size)

    def fileno(self) -> int:
        return self.stream.fileno()

    def tell(self) -> int:
        return self.stream.tell()

    def seek(self, pos: int) -> int:
        return self.stream.seek(pos)

    def close(self) -> None:
        self.stream.close()


class Pump:
    """Reads chunks into :class:`Stats`; ``tee`` (a binary stream) gets every chunk unchanged.

    Used by the dashboard's reader thread and by ``--once`` alike, so both count the same way."""

    def __init__(self, stats: Stats, *, tee: BinaryIO | None = None, name: str = "-",
                 max_line_bytes: int = DEFAULT_MAX_LINE_BYTES):
        self.stats, self.tee, self.name = stats, tee, name
        self.max_line_bytes = max_line_bytes
        self.lineno = 0
        self.tee_closed = False  # the reader downstream went away: watching goes on without it
        self._rest = b""
        self._skipping = False  # inside a line over the limit: dropped to its end
        self._long = 0  # its length so far

    def run(self, chunks: Iterator[bytes], stop: threading.Event | None = None,
            on_batch: Callable[[], None] | None = None) -> None:
        """Count every chunk until the input ends (or ``stop`` is set), then the last line."""
        for chunk in chunks:
            self.chunk(chunk)
            if on_batch is not None:
                on_batch()
            if stop is not None and stop.is_set():
                return
        self.finish()

    def chunk(self, chunk: bytes) -> None:
        if self.tee is not None and not self.tee_closed:
            try:
                self.tee.write(chunk)
                self.tee.flush()
            except (BrokenPipeError, ValueError):
                self.tee_closed = True
        if self._skipping:  # inside a line over the limit: only its length is kept
            end = chunk.find(b"\n")
            if end < 0:
                self._long += len(chunk)
                return
            self._long += end
            self._skipping = False
            self.stats.reject(BadRecord(self.lineno, too_long(self._long, self.max_line_bytes), b"", self.name))
            chunk = chunk[end + 1:]
        data = self._rest + chunk if self._rest else chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            self._rest = data
            if len(data) > self.max_line_bytes:  # never held whole: skipped to its end, then rejected
                self.lineno += 1
                self._rest, self._skipping, self._long = b"", True, len(data)
            return
        self._rest = data[cut + 1:]
        self._lines(data[:cut].split(b"\n"))

    def finish(self) -> None:
        """The input ended: a last line without its newline is still a line."""
        if self._skipping:
            self._skipping = False
            self.stats.reject(BadRecord(self.lineno, too_long(self._long, self.max_line_bytes), b"", self.name))
        if self._rest:
            rest, self._rest = self._rest, b""
            self._lines([rest])

    def _lines(self, lines: list[bytes]) -> None:
        loads, decode_error = orjson.loads, orjson.JSONDecodeError
        records: list[dict] = []
        append = records.append
        for raw in lines:
            self.lineno += 1
            try:
                rec = loads(raw)
            except decode_error:
                rec = None
            if type(rec) is dict and len(raw) <= self.max_line_bytes:
                append(rec)
            elif raw.strip():
                self._refuse(raw)
        self.stats.feed(records)

    def _refuse(self, raw: bytes) -> None:
        """Reject a line that is no record, with the reader's wording of why."""
        line = raw.rstrip(b"\r")
        if len(line) > self.max_line_bytes:
            self.stats.reject(BadRecord(self.lineno, too_long(len(line), self.max_line_bytes), b"", self.name))
            return
        try:
            parse_object(line, self.lineno, self.name)
        except BadRecord as bad:
            self.stats.reject(bad)

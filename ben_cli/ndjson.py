"""Streaming NDJSON: the one reader every stage reads through, and the writer.

:class:`Reader` owns everything about input lines: opening (files, ``-``, gzip by its magic
bytes), line numbers, CRLF, blank lines, the line-length limit, closing, byte positions for
resuming, and the wording of every reject reason. Stages differ only in what they want per line,
so the reader has one flat loop per shape (:meth:`Reader.records`, :meth:`Reader.pairs`,
:meth:`Reader.lines`, :meth:`Reader.positioned`) rather than a callback per line: a flat loop is
what keeps ``detect`` and ``scrub`` at a microsecond or two per record.

Counting is the same everywhere: ``read`` is the number of non-blank lines read (a blank line is
neither read nor rejected), so ``read = written + rejected`` for a stage that passes every record on.
"""

from __future__ import annotations

import gzip
import io
import os
import select
import stat
import sys
import weakref
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import BinaryIO, cast

import orjson

from ben_cli.errors import BadRecord, BenError, StateError

__all__ = ["BadRecord", "TruncatedInput", "DEFAULT_MAX_LINE_BYTES", "Input", "Reader", "Writer", "display_name", "dumps",
           "iter_records", "open_input", "parse_object"]

GZIP_MAGIC = b"\x1f\x8b"
BZIP2_MAGIC = b"BZh"
XZ_MAGIC = b"\xfd7zXZ\x00"
DEFAULT_MAX_LINE_BYTES = 1 << 20  # 1 MiB: longer lines are rejected, not parsed
_BLOCK = 1 << 16
WRITE_BUFFER = 1 << 20
_SKIP_CHUNK = 1 << 20
# The deepest nesting the writer can write back: orjson refuses to dump more than 254 levels of
# objects and arrays (the record itself is level 1). The reader rejects deeper records, so that no
# stage meets one it cannot write (nor a Python walk deep enough to hit the recursion limit).
MAX_DEPTH = 254
# A record nesting deeper than MAX_DEPTH opens MAX_DEPTH + 1 brackets and closes them: a line
# shorter than this cannot be one, so normal records pay one length comparison for the check.
_DEEP_LINE = 2 * (MAX_DEPTH + 1)

OnError = Callable[[BadRecord], None]

class TruncatedInput(BenError):
    """A compressed input that ends before its end marker (a copy cut short, a writer killed), or
    whose compressed data is damaged."""


class _Decompressing:
    """A bzip2 or xz input whose early end or damage is an error naming the file, as for gzip."""

    def __init__(self, stream: io.BufferedIOBase, name: str, kind: str, errors: tuple[type[Exception], ...]):
        self._stream, self.input_name, self._kind = stream, name, kind
        self._errors: tuple[type[Exception], ...] = (EOFError, OSError, *errors)

    def _damaged(self, exc: Exception) -> TruncatedInput:
        what = "truncated" if isinstance(exc, EOFError) else "damaged"
        return TruncatedInput(f"{self.input_name}: the {self._kind} stream is {what} ({exc}); "
                              "what was read before it is written")

    def peek(self, size: int = 0) -> bytes:
        try:
            return self._stream.peek(size)  # type: ignore[attr-defined]
        except self._errors as exc:
            raise self._damaged(exc) from None

    def readline(self, size: int | None = -1) -> bytes:
        try:
            return self._stream.readline(size if size is not None else -1)
        except self._errors as exc:
            raise self._damaged(exc) from None

    def read(self, size: int | None = -1) -> bytes:
        try:
            return self._stream.read(size if size is not None else -1)
        except self._errors as exc:
            raise self._damaged(exc) from None

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.readline, b"")

    def fileno(self) -> int:
        return self._stream.fileno()

    def close(self) -> None:
        self._stream.close()


class _Gzip(gzip.GzipFile):
    """A gzip input whose early end is an error naming the file, not a bare ``EOFError`` (which
    the command line would take for a prompt left without an answer)."""

    def __init__(self, fileobj: io.BufferedReader, name: str):
        super().__init__(fileobj=fileobj, mode="rb")
        self.input_name = name

    def _truncated(self, exc: Exception) -> TruncatedInput:
        what = "truncated" if isinstance(exc, EOFError) else "damaged"
        return TruncatedInput(f"{self.input_name}: the gzip stream is {what} ({exc}); "
                              "what was read before it is written")

    def peek(self, n: int) -> bytes:
        try:
            return super().peek(n)
        except (EOFError, OSError, zlib.error) as exc:
            raise self._truncated(exc) from None

    def read(self, size: int | None = -1) -> bytes:
        try:
            return super().read(size)
        except (EOFError, OSError, zlib.error) as exc:
            raise self._truncated(exc) from None

    def read1(self, size: int = -1) -> bytes:
        try:
            return super().read1(size)
        except (EOFError, OSError, zlib.error) as exc:
            raise self._truncated(exc) from None

    def readline(self, size: int | None = -1) -> bytes:
        try:
            return super().readline(size)
        except (EOFError, OSError, zlib.error) as exc:
            raise self._truncated(exc) from None


# Every Writer that holds its lines in a block (not on a terminal); see flush_waiting_writers.
_BLOCK_WRITERS: weakref.WeakSet[Writer] = weakref.WeakSet()


def flush_waiting_writers() -> None:
    """Hand on every written line now, because the input is about to wait for its producer.

    A stage between two pipes writes in 1 MiB blocks, which is what keeps a fast pipeline fast;
    but behind a slow producer (``ingest --follow`` of a quiet log) a block takes minutes to fill
    and every later stage, ``ben watch`` included, sees nothing meanwhile. Flushing exactly when a
    read would block costs nothing while data flows (the read does not block) and, when it does
    not flow, spends time the stage would have spent waiting.
    """
    for writer in list(_BLOCK_WRITERS):
        writer.flush()


class _PipedStdin(io.RawIOBase):
    """stdin when it is a pipe or a socket: before a read that would block, the block writers
    flush (:func:`flush_waiting_writers`). One ``poll`` per buffer's read: nothing per line."""

    def __init__(self, fd: int):
        self.fd = fd
        self.poller = select.poll()
        self.poller.register(fd, select.POLLIN)

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.fd

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]  # a writable buffer
        if _BLOCK_WRITERS and not self.poller.poll(0):
            flush_waiting_writers()
        return os.readv(self.fd, [buffer])


_piped_stdin: tuple[object, BinaryIO] | None = None


def stdin_stream() -> BinaryIO:
    """stdin for reading: through :class:`_PipedStdin` when it is a pipe or a socket, else
    ``sys.stdin.buffer`` itself; the same object on every call. Nothing may have read from
    ``sys.stdin.buffer`` before (what it buffered would be skipped): every stage reads stdin here."""
    global _piped_stdin
    stdin = sys.stdin.buffer
    if _piped_stdin is not None and _piped_stdin[0] is stdin:
        return _piped_stdin[1]
    raw = getattr(stdin, "raw", None)
    if not isinstance(stdin, io.BufferedReader) or not isinstance(raw, io.FileIO):
        return stdin
    try:
        st = os.fstat(raw.fileno())
    except OSError:
        return stdin
    if not (stat.S_ISFIFO(st.st_mode) or stat.S_ISSOCK(st.st_mode)):
        return stdin
    # the buffer size open() gives stdin's own reader: what ingest's sniffing and pipe switching expect
    size = st.st_blksize if st.st_blksize > 1 else io.DEFAULT_BUFFER_SIZE
    piped = cast(BinaryIO, io.BufferedReader(_PipedStdin(raw.fileno()), size))
    _piped_stdin = (stdin, piped)
    return piped


def is_stdin(stream: object) -> bool:
    """Whether ``stream`` is stdin (which is never closed by a reader)."""
    return stream is sys.stdin.buffer or (_piped_stdin is not None and stream is _piped_stdin[1])


def open_input(path: str) -> BinaryIO:
    """Open a file (or stdin for ``-``) for binary reading, unwrapping gzip by its magic bytes."""
    raw: BinaryIO
    if path == "-":
        raw = stdin_stream()
    else:
        raw = open(path, "rb", buffering=_BLOCK)  # noqa: SIM115 - closed by the caller
    if isinstance(raw, io.BufferedReader):
        buffered = raw
    else:
        # stdin replaced by an in-memory stream (a test runner's BytesIO): buffered here so it can
        # peek. The cast because typeshed's BinaryIO leaves out the readinto every such stream has.
        buffered = io.BufferedReader(cast(io.BufferedIOBase, raw), _BLOCK)
    magic = buffered.peek(6)[:6]
    if magic[:2] == GZIP_MAGIC:
        # typeshed counts a GzipFile as a BufferedIOBase, not a BinaryIO, though it is used as one
        return _Gzip(buffered, display_name(path))  # type: ignore[return-value]
    if magic[:3] == BZIP2_MAGIC and magic[3:4] in b"123456789":
        import bz2

        return _Decompressing(bz2.BZ2File(buffered), display_name(path), "bzip2", ())  # type: ignore[return-value]
    if magic == XZ_MAGIC:
        import lzma

        return _Decompressing(lzma.LZMAFile(buffered), display_name(path), "xz",  # type: ignore[return-value]
                              (lzma.LZMAError,))
    return buffered


def display_name(path: str) -> str:
    return "<stdin>" if path == "-" else path


def too_long(size: int, limit: int) -> str:
    """The reject reason of a line over the limit (one wording, whichever reader found it)."""
    return f"line is {size} bytes, over the {limit}-byte limit"


def depth(value: object) -> int:
    """How many levels of objects and arrays ``value`` nests (a scalar is 0, ``{}`` is 1); a
    loop, not a recursion, so any depth the parser accepts is measured."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Iterable[object] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def too_deep(data: bytes, value: object) -> str | None:
    """The reject reason of a parsed line nesting deeper than :data:`MAX_DEPTH`, else None.

    Free for a line under 510 bytes (it cannot nest that deep); a longer one has its brackets
    counted, and only a line with enough of them is walked."""
    if len(data) < _DEEP_LINE or data.count(b"[") + data.count(b"{") <= MAX_DEPTH:
        return None
    levels = depth(value)
    return f"record nests {levels} levels, over the {MAX_DEPTH}-level limit" if levels > MAX_DEPTH else None


def parse_object(data: bytes, lineno: int = 0, file: str = "-") -> dict:
    """Parse one NDJSON line into a dict, or raise :class:`BadRecord` saying why not."""
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BadRecord(lineno, f"invalid JSON: {exc}", data, file) from None
    if not isinstance(obj, dict):
        raise BadRecord(lineno, f"record is a JSON {type(obj).__name__}, not an object", data, file)
    if len(data) >= _DEEP_LINE and (reason := too_deep(data, obj)):
        raise BadRecord(lineno, reason, data, file)
    return obj


def _bounded(stream: BinaryIO, limit: int) -> Iterator[bytes]:
    """The lines of ``stream`` as read, none longer than ``limit + 2`` bytes: a longer line comes
    cut there (no newline at its end), and :meth:`Reader._reject_long` reads past the rest without
    keeping it. All in C: the same cost per line as iterating the stream."""
    return iter(partial(stream.readline, limit + 2), b"")


def _strip_terminator(raw: bytes) -> bytes:
    if raw[-1:] == b"\n":
        return raw[:-2] if raw[-2:] == b"\r\n" else raw[:-1]
    return raw


@dataclass(frozen=True, eq=False)
class Input:
    """An input's identity for resuming: its absolute path (None for stdin), device and inode.

    Hashed by identity (``eq=False``), in C: a sink batch looks it up for every record."""

    key: str | None
    dev: int
    ino: int

    def position(self, offset: int) -> dict:
        return {"dev": self.dev, "ino": self.ino, "offset": offset}


def stdin_file() -> str | None:
    """The path of the regular file stdin is redirected from (``ben sink < app.log``), unread so
    far, so that it can be continued like a file named as an argument; None for a pipe, a
    terminal, a socket, a file already partly read or deleted, or where ``/proc`` is missing."""
    try:
        fd = sys.stdin.fileno()
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or os.lseek(fd, 0, os.SEEK_CUR) != 0:
            return None
        path = os.readlink(f"/proc/self/fd/{fd}")
        again = os.stat(path)
    except (OSError, ValueError, AttributeError):
        return None
    return path if (again.st_dev, again.st_ino) == (st.st_dev, st.st_ino) else None


def input_key(path: str) -> str | None:
    """The key a saved position is filed under: the absolute path, None for stdin."""
    return None if path == "-" else os.path.abspath(path)


class Reader:
    """The lines and records of NDJSON inputs, read once, in order.

    ``on_error`` receives every bad line as a :class:`BadRecord` (``Rejects.add`` is the usual one);
    without it the first bad line is raised. While a loop runs, ``file`` and ``lineno`` say where
    it is, so a stage that finds a record it cannot handle rejects it with :meth:`reject` and the
    reason lands beside the right line number.
    """

    def __init__(self, paths: Sequence[str], on_error: OnError | None = None, *,
                 max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
                 on_unreadable: Callable[[str, OSError], None] | None = None):
        self.paths = list(paths) or ["-"]
        # told about an input that cannot be opened, which is then skipped (as cat does); None: raise
        self.on_unreadable = on_unreadable
        self.on_error = on_error
        self.max_line_bytes = max_line_bytes
        self.file = "-"
        self.lineno = 0
        self._done_lines = 0  # lines of the inputs already finished
        self._blank = 0
        # (file, line number) of each file's last line left unread by :meth:`positioned`: cut short
        self.unfinished: list[tuple[str, int]] = []

    @property
    def read(self) -> int:
        """Non-blank lines read so far (the ``read`` of every summary)."""
        return self._done_lines + self.lineno - self._blank - len(self.unfinished)

    def reject(self, reason: str, data: bytes = b"", size: int | None = None) -> None:
        """Send the current line to ``on_error`` (or raise it) with ``reason``; ``size`` is the
        line's full length when ``data`` holds only its start."""
        bad = BadRecord(self.lineno, reason, data, self.file, size=size)
        if self.on_error is None:
            raise bad
        self.on_error(bad)

    def _open(self) -> Iterator[tuple[str, BinaryIO]]:
        """Each input opened in turn, closed after (stdin is left open), line counts kept."""
        for path in self.paths:
            try:
                stream = open_input(path)
            except OSError as exc:
                if self.on_unreadable is None:
                    raise
                self.on_unreadable(path, exc)
                continue
            self.file = display_name(path)
            self.lineno = 0
            try:
                yield path, stream
            finally:
                self._done_lines += self.lineno
                self.lineno = 0
                if not is_stdin(stream):
                    stream.close()

    def _cut(self, raw: bytes) -> bool:
        """Whether ``raw``, read by :func:`_bounded`, is only the start of a longer line."""
        return len(raw) == self.max_line_bytes + 2 and raw[-1:] != b"\n"

    def _reject_long(self, raw: bytes, stream: BinaryIO) -> int:
        """Reject the line over the limit that ``raw`` starts: the rest is read in bounded chunks
        and dropped (only the start is kept for the reject); returns the bytes read past ``raw``."""
        extra = 0
        tail = raw[-2:]
        while tail[-1:] != b"\n":
            chunk = stream.readline(_SKIP_CHUNK)
            if not chunk:
                break
            extra += len(chunk)
            tail = (tail + chunk)[-2:]
        size = len(raw) + extra
        if tail[-1:] == b"\n":
            size -= 2 if tail == b"\r\n" else 1
        self.reject(too_long(size, self.max_line_bytes), _strip_terminator(raw), size)
        return extra

    def _refuse(self, raw: bytes, stream: BinaryIO) -> None:
        """A line that was not a record: skip it if blank, else reject it with the reason."""
        if self._cut(raw):
            self._reject_long(raw, stream)
            return
        data = _strip_terminator(raw)
        if not data or data.isspace():
            self._blank += 1
        elif len(data) > self.max_line_bytes:
            self.reject(too_long(len(data), self.max_line_bytes), data)
        else:
            try:
                parse_object(data, self.lineno, self.file)
            except BadRecord as bad:
                self.reject(bad.reason, data)

    def records(self) -> Iterator[dict]:
        """Every record (a JSON object per line); blank lines skipped, bad lines rejected."""
        loads, decode_error, limit, deep = orjson.loads, orjson.JSONDecodeError, self.max_line_bytes, _DEEP_LINE
        for _path, stream in self._open():
            for lineno, raw in enumerate(_bounded(stream, limit), 1):
                self.lineno = lineno
                if len(raw) <= limit:  # raw holds its terminator: a line this short is within the limit
                    try:
                        rec = loads(raw)  # JSON allows the trailing newline
                    except decode_error:
                        pass
                    else:
                        if type(rec) is dict and (len(raw) < deep or not too_deep(raw, rec)):
                            yield rec
                            continue
                self._refuse(raw, stream)

    def pairs(self) -> Iterator[tuple[bytes, dict]]:
        """Every record with its line (without the terminator), for stages that reuse the bytes."""
        loads, decode_error, limit, deep = orjson.loads, orjson.JSONDecodeError, self.max_line_bytes, _DEEP_LINE
        for _path, stream in self._open():
            for lineno, raw in enumerate(_bounded(stream, limit), 1):
                self.lineno = lineno
                if len(raw) <= limit:
                    try:
                        rec = loads(raw)
                    except decode_error:
                        pass
                    else:
                        if type(rec) is dict and (len(raw) < deep or not too_deep(raw, rec)):
                            if raw[-1:] == b"\n":
                                raw = raw[:-2] if raw[-2:] == b"\r\n" else raw[:-1]
                            yield raw, rec
                            continue
                self._refuse(raw, stream)

    def inputs(self) -> Iterator[tuple[str, BinaryIO]]:
        """Each input (its path as given, its open stream) in turn, for a stage that decides per
        input how to read it (ingest sniffs a format per file) and then reads it with
        :meth:`lines_of`; closed after, line counts kept."""
        return self._open()

    def lines(self, *, keep_ends: bool = False) -> Iterator[bytes]:
        """Every non-blank line without its terminator, unparsed (other formats); lines over the
        limit are rejected. With ``keep_ends`` each line comes as read, its terminator included
        (or missing, on a last line cut short): what a check of exact bytes must see."""
        return self._lines_as_read() if keep_ends else self._lines_stripped()

    def _lines_stripped(self) -> Iterator[bytes]:
        for _path, stream in self._open():
            yield from self.lines_of(stream)

    def lines_of(self, raw_lines: Iterable[bytes]) -> Iterator[bytes]:
        """:meth:`lines` of one input already open (or any raw lines, with or without their
        terminators), numbered on from ``lineno``: a stage fed lines rather than paths (ingest's
        decoders) keeps the reader's numbering, blank lines, limit and counts."""
        limit = self.max_line_bytes
        stream = raw_lines if hasattr(raw_lines, "readline") else None
        if stream is not None:  # an open input: read it bounded, as the other shapes do
            raw_lines = _bounded(cast(BinaryIO, stream), limit)
        for lineno, raw in enumerate(raw_lines, self.lineno + 1):
            self.lineno = lineno
            if stream is not None and self._cut(raw):
                self._reject_long(raw, cast(BinaryIO, stream))
                continue
            if raw[-1:] == b"\n":
                raw = raw[:-2] if raw[-2:] == b"\r\n" else raw[:-1]
            if not raw or raw.isspace():
                self._blank += 1
            elif len(raw) > limit:
                self.reject(too_long(len(raw), limit), raw)
            else:
                yield raw

    def _lines_as_read(self) -> Iterator[bytes]:
        """:meth:`lines` with their terminators: no copy of a line on the way."""
        limit = self.max_line_bytes
        for _path, stream in self._open():
            for lineno, raw in enumerate(_bounded(stream, limit), 1):
                self.lineno = lineno
                if self._cut(raw):
                    self._reject_long(raw, stream)
                elif raw.isspace():
                    self._blank += 1
                elif len(raw) > limit and len(data := _strip_terminator(raw)) > limit:
                    self.reject(too_long(len(data), limit), data)
                else:
                    yield raw

    def positioned(self, resume: dict[str, dict] | None = None, *, parse: bool = True
                   ) -> Iterator[tuple[dict | None, bytes, Input, int]]:
        """(record, its line ending in exactly one newline, input, byte offset past the line).

        ``resume`` maps :func:`input_key` to a saved position: an input with the same device and
        inode is read from that offset (line numbers then count from there; a gzip input's
        offsets count decompressed bytes). With ``parse=False`` the record is None and only the
        length limit is checked, for conversion elsewhere (worker processes), except on a last
        line without its newline: cut short, it is rejected here, as when parsing, or, in a file,
        left unread (:attr:`unfinished`): the file's writer is not done with it."""
        resume = resume or {}
        limit = self.max_line_bytes
        for path, stream in self._open():
            key = input_key(path)
            dev = ino = skip = 0
            if key is not None:
                st = os.stat(path)
                dev, ino = st.st_dev, st.st_ino
                saved = resume.get(key)
                if saved and saved.get("dev") == dev and saved.get("ino") == ino:
                    skip = int(saved["offset"])
            source = Input(key, dev, ino)
            offset = 0
            chunk = b"\n"
            while offset < skip:  # works for plain and gzip streams alike
                chunk = stream.read(min(_SKIP_CHUNK, skip - offset))
                if not chunk:
                    break
                offset += len(chunk)
            if offset < skip or chunk[-1:] != b"\n":
                where = "past the end of" if offset < skip else "in the middle of a line of"
                raise StateError(f"the saved position of {path} (byte {skip}) is {where} it, so it is not "
                                 "where an earlier run got to; run with --from-start to read it again")
            for lineno, raw in enumerate(_bounded(stream, limit), 1):  # the line as read: no copy
                self.lineno = lineno
                offset += len(raw)
                if self._cut(raw):
                    offset += self._reject_long(raw, stream)
                    continue
                if raw.isspace():  # strip() would copy every line to find out
                    self._blank += 1
                    continue
                unended = raw[-1:] != b"\n"  # the last line: maybe cut short by a writer killed mid-line
                if unended or raw[-2:] == b"\r\n":
                    raw = _strip_terminator(raw) + b"\n"
                if len(raw) > limit + 1:
                    self.reject(too_long(len(raw) - 1, limit), raw[:-1])
                    continue
                rec = None
                # unparsed, a cut line could still show a whole ``_ingest`` mark, and --ack would
                # acknowledge the position of a record that was never stored: it is checked here
                if parse or unended:
                    try:
                        rec = parse_object(raw, lineno, self.file)
                    except BadRecord as bad:
                        if unended and key is not None:
                            # a file's last line cut short: its writer is not done; a run that
                            # resumed past it would start mid-line, so the next run reads it whole
                            self.unfinished.append((self.file, lineno))
                            continue
                        self.reject(bad.reason, raw[:-1])
                        continue
                yield rec if parse else None, raw, source, offset


def iter_records(paths: Iterable[str], on_error: OnError | None = None,
                 max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> Iterator[dict]:
    """The records of NDJSON inputs: shorthand for ``Reader(...).records()``."""
    return Reader(list(paths), on_error, max_line_bytes=max_line_bytes).records()


def dumps(record: dict) -> bytes:
    """One record as one line (orjson never emits raw newlines inside strings)."""
    return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)


_CUT = orjson.Fragment(b"\n")  # put between records as it is: no compact JSON text holds a newline byte


def dumps_lines(records: list[dict]) -> bytes:
    """The records as NDJSON lines, in one block: one ``orjson.dumps`` of the whole batch with a
    raw newline between the records, then the array's commas around each newline taken out. A
    call per record costs four times as much (each allocates and shrinks a buffer of its own:
    0.2 CPU-s per 100,000 envelopes against 0.05). The cut is certain because compact JSON
    escapes every newline inside a string. When the batch cannot be serialised whole, each
    record is, so that an error is the one a record alone raises."""
    if not records:
        return b""
    items: list[object] = [_CUT] * (2 * len(records))
    items[::2] = records
    try:
        body = orjson.dumps(items)
    except orjson.JSONEncodeError:
        dumps, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE
        return b"".join([dumps(rec, option=newline) for rec in records])
    return body[1:-3].replace(b",\n,", b"\n") + b"\n"  # b'[' r1 b',\n,' r2 ... rN b',\n]'


class Writer:
    """Writes records to a binary stream: flushed per line on a terminal, in large blocks otherwise.

    Large blocks keep pipes efficient; per-line flushing keeps ``ben ingest --follow`` live on a
    screen. Lines are copied into one long-lived 1 MiB buffer rather than joined into fresh
    blocks: allocating and freeing a block per flush makes glibc hand memory back to the kernel
    and fault it in again, which cost a fifth of ``ingest``'s time. A block is also handed on
    when the input is about to wait (:func:`flush_waiting_writers`), so a slow producer's records
    are never held. ``count`` is the number of records written.
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
            self.stream = io.BufferedWriter(raw, WRITE_BUFFER)
        if not line_buffered:
            _BLOCK_WRITERS.add(self)
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

    def write_lines(self, block: bytes, count: int | None = None) -> None:
        """Write ``count`` already-serialised lines at once (counted in ``block`` when not given)."""
        self.count += block.count(b"\n") if count is None else count
        self.stream.write(block)
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

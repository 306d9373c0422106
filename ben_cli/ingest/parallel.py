"""Decode one big file with several processes, writing exactly what one process would write.

Python decodes one line at a time on one core; a 1,000,000-line file keeps that core busy for
seconds while the others idle. For formats whose lines decode independently (``Format.stateless``)
the file is cut into blocks that end at a newline; worker processes (forked, so they start with
every module already imported) each decode a block into NDJSON bytes and write it to the output
themselves, in file order: a worker holding block ``k`` waits until block ``k - 1`` is written,
writes, and passes the turn on. The output bytes never travel through the parent, which would
otherwise spend as much time copying them as a worker spends making them. Sameness with the
serial path is kept by construction:

- line numbers: the parent counts the newlines of each block before handing it out, so a worker
  knows the number of its first line;
- rejects: a worker returns its block's bad lines, and the parent adds them to ``Rejects`` block
  by block, in file order, so the rejects file is in line order;
- ``--strict``: a worker stops at its first bad line and writes what it decoded before it; it
  marks the run stopped as it passes the turn, so later blocks write nothing, and the parent
  raises that bad line as the serial loop would;
- a closed pipe (``| head``): the worker that meets it marks the run stopped the same way and
  the parent raises ``BrokenPipeError``, which the command treats like the serial path's.

Formats whose lines need a head (a CSV header; ``Format.block_head``) are split the same way
when the file allows it: every block past the head first feeds it to its decoder, unseen.

Memory stays bounded: at most ``2 * jobs`` blocks are in flight.
"""

from __future__ import annotations

import io
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing.context import BaseContext
from typing import BinaryIO

from ben_cli.ingest.core import Ingester
from ben_cli.ingest.format import Format
from ben_cli.ingest.options import IngestOptions
from ben_cli.ndjson import BadRecord, Writer, flush_waiting_writers
from ben_cli.rejects import Rejects

BLOCK_BYTES = 4 << 20

_RUNNING, _STOPPED, _PIPE_CLOSED = 0, 1, 2


class _StopAtFirst(Exception):
    """Raised inside a worker by the strict collector: the block ends at its first bad line."""


class _Collect:
    """A worker's ``on_error``: keeps bad lines to send to the parent, which adds them to
    :class:`Rejects` in file order."""

    def __init__(self, strict: bool):
        self.strict = strict
        self.bad: list[tuple[int, str, bytes, str, int]] = []

    def add(self, bad: BadRecord) -> None:
        self.bad.append((bad.lineno, bad.reason, bad.raw, bad.file, bad.size))
        if self.strict:
            raise _StopAtFirst


class _Turns:
    """Whose turn it is to write, shared by the forked workers: the index of the next block to
    write, and whether the run has stopped (a strict failure or a closed pipe)."""

    def __init__(self, ctx: BaseContext) -> None:
        self.cond = ctx.Condition()
        self.next = ctx.RawValue("q", 0)
        self.state = ctx.RawValue("i", _RUNNING)

    def write_in_turn(self, index: int, fd: int, data: memoryview, stop_after: bool) -> bool:
        """Write ``data`` once every earlier block is written; False when the run had stopped.
        The turn is passed on whatever happens, so no later worker waits forever."""
        cond = self.cond
        with cond:
            cond.wait_for(lambda: self.next.value == index)
            running = self.state.value == _RUNNING
        state = _STOPPED if stop_after else _RUNNING
        try:
            if running:
                while data:
                    data = data[os.write(fd, data):]
        except BrokenPipeError:
            state = _PIPE_CLOSED
        finally:
            with cond:
                if running and state != _RUNNING:
                    self.state.value = state
                self.next.value = index + 1
                cond.notify_all()
        return running


# The file being decoded, its settings and the turn keeper. Set before the workers fork, so they
# inherit it rather than unpickling it per block (options may hold closures, which do not pickle).
_JOB: tuple = ()


def _decode_block(index: int, start: int, end: int, lineno: int, data: bytes | None = None,
                  tail: int = 0, ending: bytes = b"\n") -> tuple[bool, int, int, list, int]:
    """Worker: decode bytes ``[start, end)`` of the file, whose first line is ``lineno + 1``, and
    write them as block ``index``. Returns (written, records, lines read, bad lines, records given
    the time of reading). A block of a stream (stdin) comes as ``data`` instead, followed by
    ``tail`` bytes the parent read past (the rest of a line over the limit, which it did not keep,
    ending in ``ending``: a newline, CRLF, or nothing when the input ended inside the line)."""
    fmt, path, options, strict, (head, head_end), fd, turns = _JOB
    out = io.BytesIO()
    writer = Writer(out, line_buffered=False)
    collect = _Collect(strict)
    read = read_time = 0
    try:
        core = Ingester(fmt, options.decode, file=path, lineno=lineno, on_error=collect.add,
                        max_line_bytes=options.max_line_bytes)
        if start >= head_end:
            core.prime(head)
        write = writer.write
        with open(path or os.devnull, "rb") as fh:
            # read through the one reader's bounded line loop: a line over --max-line-bytes is
            # rejected from its start, the rest skipped in chunks, never held whole
            raw: io.RawIOBase = _Range(fh.fileno(), start, end) if data is None else _Held(data, tail, ending)
            try:
                for rec in core.feed(io.BufferedReader(raw, 1 << 16)):
                    write(rec)
            except _StopAtFirst:
                pass
        read, read_time = core.read, core.read_time
        writer.flush()
    except BaseException:
        turns.write_in_turn(index, fd, memoryview(b""), stop_after=True)
        raise
    written = turns.write_in_turn(index, fd, out.getbuffer(), stop_after=bool(strict and collect.bad))
    return written, writer.count, read, collect.bad, read_time if written else 0


def output_fd(writer: Writer) -> int | None:
    """The file descriptor workers can write ``writer``'s output to, or None (an in-memory
    stream, say), in which case the file is decoded in one process."""
    try:
        return writer.stream.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        return None


def decode_file(jobs: int, fmt: Format, path: str, options: IngestOptions, writer: Writer, rejects: Rejects,
                head: tuple[list[bytes], int] = ([], 0)) -> tuple[int, int]:
    """Decode ``path`` in blocks with ``jobs`` worker processes, forked afresh for the file;
    returns the number of lines read (non-blank) and of records given the time of reading.
    ``head``: the lines every block starting at or past the offset beside them decodes first."""
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        jobs_of = ((start, end, lineno, None, 0, b"\n") for start, end, lineno in _blocks(fh.fileno(), size))
        return _run_blocks(jobs, fmt, path, options, writer, rejects, head, jobs_of, size)


def _run_blocks(jobs: int, fmt: Format, path: str | None, options: IngestOptions, writer: Writer, rejects: Rejects,
                head: tuple[list[bytes], int], blocks: Iterator[tuple[int, int, int, bytes | None, int, bytes]],
                size: int | None) -> tuple[int, int]:
    """Hand ``blocks`` to forked workers in order, at most ``2 * jobs`` in flight, and gather
    their counts and rejects in block order."""
    import multiprocessing

    global _JOB
    fd = output_fd(writer)
    if fd is None:
        raise ValueError("parallel decoding needs an output with a file descriptor")
    ctx = multiprocessing.get_context("fork")
    turns = _Turns(ctx)
    _JOB = (fmt, path, options, rejects.strict, head, fd, turns)
    writer.flush()  # workers write to the same descriptor: everything before goes first
    pending: deque[tuple[Future, int]] = deque()
    read = read_time = 0
    progress = options.progress if path is not None and size is not None else None
    executor = ProcessPoolExecutor(jobs, mp_context=ctx)
    try:
        for index, (start, end, lineno, data, tail, ending) in enumerate(blocks):
            pending.append((executor.submit(_decode_block, index, start, end, lineno, data, tail, ending), end))
            if len(pending) >= 2 * jobs:
                n, t = _drain_one(pending, writer, rejects, progress, path or "-", size or 0, turns)
                read, read_time = read + n, read_time + t
        while pending:
            n, t = _drain_one(pending, writer, rejects, progress, path or "-", size or 0, turns)
            read, read_time = read + n, read_time + t
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
        _JOB = ()
    return read, read_time


def _drain_one(pending: deque, writer: Writer, rejects: Rejects, progress: Callable[[str, int, int], None] | None,
               name: str, size: int, turns: _Turns) -> tuple[int, int]:
    future, end = pending.popleft()
    written, count, read, bad, read_time = future.result()
    if turns.state.value == _PIPE_CLOSED:
        raise BrokenPipeError("the reader of the output closed it")
    if written:
        writer.count += count
    for lineno, reason, raw, file, size in bad:
        rejects.add(BadRecord(lineno, reason, raw, file, size=size))  # raises at the first under --strict
    if progress is not None:
        progress(name, end, size)
    return read, read_time


class _Range(io.RawIOBase):
    """Bytes ``[start, end)`` of an open file, read with ``pread`` (the descriptor's offset is
    left alone), for a worker's bounded reading of its block."""

    def __init__(self, fd: int, start: int, end: int):
        self.fd, self.pos, self.end = fd, start, end

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        n = min(len(buffer), self.end - self.pos)
        if n <= 0:
            return 0
        data = os.pread(self.fd, n, self.pos)
        buffer[: len(data)] = data
        self.pos += len(data)
        return len(data)


class _Held(io.RawIOBase):
    """A stream's block as the parent read it, then ``tail`` filler bytes ending as the line did: the
    part of a line over the limit that the parent read past without keeping, so the worker's
    reader rejects the line with its true size."""

    def __init__(self, data: bytes, tail: int, ending: bytes = b"\n"):
        self.data, self.pos, self.tail = data, 0, tail
        self.end = ending if tail >= len(ending) else b"\n"

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        if self.pos < len(self.data):
            n = min(len(buffer), len(self.data) - self.pos)
            buffer[:n] = self.data[self.pos:self.pos + n]
            self.pos += n
            return n
        if self.tail <= 0:
            return 0
        n = min(len(buffer), self.tail)
        last = n == self.tail
        buffer[:n] = (b"x" * (n - len(self.end)) + self.end) if last and n >= len(self.end) else b"x" * n
        self.tail -= n
        return n


def decode_stream(jobs: int, fmt: Format, read: Callable[[], bytes], first: bytes, options: IngestOptions,
                  writer: Writer, rejects: Rejects, lineno: int = 0, pipe: Pipe | None = None) -> tuple[int, int, int]:
    """Decode a stream (stdin: a redirected file, or a pipe while it keeps the reader busy) with
    ``jobs`` worker processes, as :func:`decode_file` decodes a file: the parent gathers blocks of
    about BLOCK_BYTES that end at a newline from ``read()`` (``first`` is already read; ``b""`` at
    the end) and hands them over in order, the first line numbered ``lineno + 1``. A line longer
    than ``--max-line-bytes`` is not kept: its start goes to a worker with the count of the bytes
    after it, which the parent reads past.

    With ``pipe``, a block is also handed over as soon as the pipe runs dry (nothing is held back
    waiting for a slow producer), and blocks stop once the pipe stays dry: the partial line after
    the last block goes back to ``pipe`` for the one-process reader. Returns the lines read
    (non-blank), the records given the time of reading, and the lines consumed (blank ones too)."""
    limit = options.max_line_bytes
    consumed = [0]

    def blocks() -> Iterator[tuple[bytes, int, int, bytes]]:
        """(data, lines before it, bytes read past its end, how those end) of each block."""
        lines = lineno
        pending = bytearray(first)  # read, not yet handed out
        eof = False
        while True:
            cut = pending.rfind(b"\n")
            dry = (pipe is not None and cut >= 0 and not eof and len(pending) < BLOCK_BYTES
                   and not pipe.waiting(PIPE_GATHER_MS))
            if cut >= 0 and (eof or dry or len(pending) >= BLOCK_BYTES):
                block = bytes(pending[:cut + 1])
                del pending[:cut + 1]
                yield block, lines, 0, b"\n"
                lines += block.count(b"\n")
                if dry and pipe is not None and not pipe.waiting(PIPE_IDLE_MS):  # the producer is slower than us
                    pipe.give_back(bytes(pending))
                    break
                continue
            if cut < 0 and len(pending) > limit + 2:  # a line over the limit: keep its start only
                head, tail = bytes(pending[:limit + 2]), len(pending) - limit - 2
                # the last byte read, which precedes the next read (a CR there makes the ending CRLF)
                before, ending = bytes(pending[-1:]), b""  # b"": no newline
                pending = bytearray()
                while True:
                    more = read()
                    if not more:
                        eof = True
                        break
                    nl = more.find(b"\n")
                    if nl >= 0:
                        ending = b"\r\n" if (more[nl - 1:nl] if nl else before) == b"\r" else b"\n"
                        tail, pending = tail + nl + 1, bytearray(more[nl + 1:])
                        break
                    tail += len(more)
                    before = more[-1:]
                yield head, lines, tail, ending
                lines += 1
                continue
            if eof:
                if pending:
                    yield bytes(pending), lines, 0, b"\n"
                    lines += 1
                break
            more = read()
            if more:
                pending += more
            else:
                eof = True
        consumed[0] = lines - lineno

    read_lines, read_time = _run_blocks(jobs, fmt, None, options, writer, rejects, ([], 0),
                                        ((0, 0, n, data, tail, end) for data, n, tail, end in blocks()), None)
    return read_lines, read_time, consumed[0]


# A pipe is read 64 KiB at a time (its default capacity). While every read finds more waiting, the
# producer is faster than one process: after PIPE_BUSY_BYTES so read, blocks go to the workers.
# There a block is handed over whenever the pipe is dry for PIPE_GATHER_MS, and the workers are let
# go once it stays dry for PIPE_IDLE_MS after that (the records read are out by then, or being
# written: the wait holds nothing back).
PIPE_READ = 1 << 16
PIPE_BUSY_BYTES = 1 << 20
PIPE_GATHER_MS = 1
PIPE_IDLE_MS = 50


class Pipe(io.RawIOBase):
    """stdin as a pipe, for the one-process reader (through an ``io.BufferedReader``) and for
    :func:`decode_stream` in turn. As the one process reads, it counts the bytes read in a row with
    more already waiting; past PIPE_BUSY_BYTES it ends a read at a newline and then reports the
    end of input, so the line loop stops on a whole line and :attr:`rest` (what followed it) goes
    to the workers. :meth:`give_back` returns the partial line the workers' part left, and the
    one-process reader goes on from there."""

    def __init__(self, stream: BinaryIO):
        import select

        self.fd = stream.fileno()
        self.out = stream.read(len(stream.peek(1)))  # type: ignore[attr-defined]  # what sniffing buffered
        self.rest = b""  # for the workers, once switched
        self.busy = 0
        self.switched = self.eof = False
        self.poller = select.poll()
        self.poller.register(self.fd, select.POLLIN)

    def readable(self) -> bool:
        return True

    def waiting(self, ms: int = 0) -> bool:
        """Whether bytes (or the end) can be read at once, or within ``ms`` milliseconds."""
        return bool(self.poller.poll(ms))

    def read_more(self) -> bytes:
        """The next bytes of the pipe, as many as are there (up to PIPE_READ); b"" at its end.
        A read that would wait for the producer first hands on what was written (as stdin's
        reader does for every stage: ``ndjson.flush_waiting_writers``)."""
        if not self.waiting():
            flush_waiting_writers()
        data = os.read(self.fd, PIPE_READ)
        self.eof = not data
        return data

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        if self.switched:
            return 0
        if not self.out:
            data = self.read_more()
            if not data:
                return 0
            self.busy = self.busy + len(data) if self.waiting() else 0
            if self.busy >= PIPE_BUSY_BYTES and (cut := data.rfind(b"\n")) >= 0:
                data, self.rest, self.switched = data[:cut + 1], data[cut + 1:], True
            self.out = data
        n = min(len(buffer), len(self.out))
        buffer[:n] = self.out[:n]
        self.out = self.out[n:]
        return n

    def give_back(self, partial: bytes) -> None:
        """The workers' part ended with ``partial`` read after its last newline: read it next."""
        self.out, self.busy, self.switched = partial, 0, False


def _blocks(fd: int, size: int, block: int | None = None) -> Iterator[tuple[int, int, int]]:
    """``(start, end, lines_before)`` of blocks of about ``block`` bytes (BLOCK_BYTES, read when
    called) that end just after a newline. A line longer than a block is scanned for its end a
    block at a time, never held whole."""
    block = block or BLOCK_BYTES
    start = 0
    lines = 0
    while start < size:
        end = min(start + block, size)
        chunk = os.pread(fd, end - start, start)
        if end >= size:
            newlines = chunk.count(b"\n")
        else:
            cut = chunk.rfind(b"\n")
            if cut < 0:  # one line longer than a block: the block runs to its end
                newlines = 0
                while end < size:
                    more = os.pread(fd, block, end)
                    nl = more.find(b"\n")
                    if nl >= 0:
                        end += nl + 1
                        newlines = 1
                        break
                    end += len(more)
            else:
                end = start + cut + 1
                newlines = chunk.count(b"\n", 0, cut + 1)
        del chunk
        yield start, end, lines
        lines += newlines
        start = end

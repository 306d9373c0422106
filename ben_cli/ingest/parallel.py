"""Decode one big file with several processes, writing exactly what one process would write.

Python decodes one line at a time on one core; a 1,000,000-line file keeps that core busy for
seconds while the others idle. For formats whose lines decode independently (``Format.stateless``)
the file is cut into blocks that end at a newline; worker processes (forked, so they start with
every module already imported) each decode a block into NDJSON bytes, and the parent writes the
blocks in file order. Sameness with the serial path is kept by construction:

- line numbers: the parent counts the newlines of each block before handing it out, so a worker
  knows the number of its first line;
- rejects: a worker returns its block's bad lines, and the parent adds them to ``Rejects`` after
  writing the records that precede them, block by block, so the rejects file is in line order;
- ``--strict``: a worker stops at its first bad line and returns what it decoded before it; the
  parent writes that, then the bad line raises as in the serial loop, and later blocks are dropped.

Formats whose lines need a head (a CSV header; ``Format.block_head``) are split the same way
when the file allows it: every block past the head first feeds it to its decoder, unseen.

Memory stays bounded: at most ``2 * jobs`` blocks are in flight.
"""

from __future__ import annotations

import io
import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor

from ben_cli.ingest.format import DecodeError, Format, IngestOptions
from ben_cli.ndjson import BadRecord, Writer
from ben_cli.rejects import Rejects

BLOCK_BYTES = 4 << 20


class _StopAtFirst(Exception):
    """Raised inside a worker by the strict collector: the block ends at its first bad line."""


class _Collect:
    """Stands in for :class:`Rejects` inside a worker: keeps bad lines to send to the parent."""

    def __init__(self, strict: bool):
        self.strict = strict
        self.bad: list[tuple[int, str, bytes, str]] = []
        self.count = 0

    def add(self, bad: BadRecord) -> None:
        self.bad.append((bad.lineno, bad.reason, bad.raw, bad.file))
        self.count += 1
        if self.strict:
            raise _StopAtFirst


# The file being decoded and its settings. Set before the workers fork, so they inherit it rather
# than unpickling it per block (options may hold closures, which do not pickle).
_JOB: tuple = ()


def _decode_block(start: int, end: int, lineno: int) -> tuple[bytes, int, int, list]:
    """Worker: decode bytes ``[start, end)`` of the file whose first line is ``lineno + 1``."""
    from ben_cli.ingest import decode_lines

    fmt, path, mark, options, max_line_bytes, strict, (head, head_end) = _JOB

    with open(path, "rb") as fh:
        data = os.pread(fh.fileno(), end - start, start)
    out = io.BytesIO()
    writer = Writer(out, line_buffered=False)
    collect = _Collect(strict)
    read = 0
    decoder = fmt.make_decoder(options)
    if start >= head_end:
        for line in head:
            try:
                decoder.decode(line)
            except DecodeError:
                pass  # the block that holds this line reports it; this decoder remembers it
    try:
        read = decode_lines(decoder, io.BytesIO(data), mark, writer, collect,  # type: ignore[arg-type]
                            max_line_bytes, lineno=lineno).read
    except _StopAtFirst:
        pass
    writer.flush()
    return out.getvalue(), writer.count, read, collect.bad


class Pool:
    """Decodes files with ``jobs`` worker processes, forked afresh for each file."""

    def __init__(self, jobs: int):
        self.jobs = jobs

    def close(self) -> None:
        pass

    def decode_file(self, fmt: Format, path: str, mark: dict, options: IngestOptions, writer: Writer,
                    rejects: Rejects, max_line_bytes: int,
                    progress: Callable[[str, int, int], None] | None = None,
                    head: tuple[list[bytes], int] = ([], 0)) -> int:
        """Decode ``path`` in blocks; returns the number of lines read (non-blank). ``head``: the
        lines every block starting at or past the offset beside them decodes first."""
        import multiprocessing

        global _JOB
        _JOB = (fmt, path, mark, options, max_line_bytes, rejects.strict, head)
        writer.flush()  # forked workers must not inherit unwritten output
        pending: deque[tuple[Future, int]] = deque()
        read = 0
        size = os.path.getsize(path)
        name = mark.get("file", path)
        executor = ProcessPoolExecutor(self.jobs, mp_context=multiprocessing.get_context("fork"))
        try:
            with open(path, "rb") as fh:
                for start, end, lineno in _blocks(fh.fileno(), size):
                    pending.append((executor.submit(_decode_block, start, end, lineno), end))
                    if len(pending) >= 2 * self.jobs:
                        read += self._drain_one(pending, writer, rejects, progress, name, size)
                while pending:
                    read += self._drain_one(pending, writer, rejects, progress, name, size)
        finally:
            executor.shutdown(wait=True, cancel_futures=True)
            _JOB = ()
        return read

    @staticmethod
    def _drain_one(pending: deque, writer: Writer, rejects: Rejects,
                   progress: Callable[[str, int, int], None] | None, name: str, size: int) -> int:
        future, end = pending.popleft()
        block, count, read, bad = future.result()
        writer.stream.write(block)
        writer.count += count
        for lineno, reason, raw, file in bad:
            rejects.add(BadRecord(lineno, reason, raw, file))  # raises at the first under --strict
        if progress is not None:
            progress(name, end, size)
        return read


def _blocks(fd: int, size: int):
    """``(start, end, lines_before)`` of blocks of about BLOCK_BYTES that end just after a newline."""
    start = 0
    lines = 0
    while start < size:
        end = min(start + BLOCK_BYTES, size)
        chunk = os.pread(fd, end - start, start)
        if end < size:
            cut = chunk.rfind(b"\n")
            if cut < 0:  # one line longer than a block: extend to its end
                while end < size:
                    more = os.pread(fd, BLOCK_BYTES, end)
                    nl = more.find(b"\n")
                    if nl >= 0:
                        chunk += more[: nl + 1]
                        end += nl + 1
                        break
                    chunk += more
                    end += len(more)
            else:
                chunk = chunk[: cut + 1]
                end = start + cut + 1
        yield start, end, lines
        lines += chunk.count(b"\n")
        start = end

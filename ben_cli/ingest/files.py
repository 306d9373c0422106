"""Reading inputs once, from the first line to the last: named files, stdin, gzip.

Inputs are opened and counted by the one reader (:class:`ben_cli.ndjson.Reader`); each is decoded
by an :class:`~ben_cli.ingest.core.Ingester` in the format named or sniffed for it. A big regular
file in a line-by-line format is decoded by several processes instead (``parallel.py``), writing
byte for byte what one process writes.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import BinaryIO

from ben_cli import registry
from ben_cli.ingest.core import Ingester
from ben_cli.ingest.format import Format
from ben_cli.ingest.options import IngestOptions
from ben_cli.ingest.sniff import SNIFF_BYTES, Binary, choose_format
from ben_cli.ingest.summary import IngestSummary
from ben_cli.ndjson import Reader, TruncatedInput, Writer, display_name
from ben_cli.rejects import Rejects

# Regular files at least this big are decoded by several processes when the format allows it.
PARALLEL_MIN_BYTES = 16 << 20
PROGRESS_BATCH = 1 << 20


def cpu_count() -> int:
    """CPUs this process may run on (its affinity mask, not the machine's total), at most 8."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    return max(1, min(n, 8))


def read_files(paths: Sequence[str], writer: Writer, rejects: Rejects, options: IngestOptions,
               summary: IngestSummary) -> None:
    """Decode every input into ``writer``; counts go to ``summary`` per format. As ``cat`` does, an
    input that cannot be read (missing, unreadable, not text, a compressed stream that breaks off)
    is reported in ``summary.failed`` and the others are read; what a broken stream held before
    the break is kept."""
    fixed = None if options.format == "auto" else registry.formats.get(options.format)
    jobs = options.jobs or cpu_count()
    reader = Reader(paths, rejects.add, max_line_bytes=options.max_line_bytes,
                    on_unreadable=lambda path, exc: summary.fail(f"{display_name(path)}: {exc.strerror or exc}; skipped"))
    for path, stream in reader.inputs():
        name = reader.file
        emitted, rejected = writer.count, rejects.count
        try:
            fmt = choose_format(fixed, stream.peek(SNIFF_BYTES), name, options.on_format,  # type: ignore[attr-defined]
                                refuse_binary=True)
        except Binary as exc:
            summary.fail(f"{name}: {exc}; skipped")
            continue
        except TruncatedInput as exc:
            summary.fail(str(exc))
            continue
        try:
            read = _read_one(fmt, path, name, stream, reader, writer, rejects, options, jobs, summary)
        except TruncatedInput as exc:
            read = reader.lineno
            summary.fail(f"{exc} (it broke after line {reader.lineno})")
        summary.add(fmt.name, read, writer.count - emitted, rejects.count - rejected)


def _read_one(fmt: Format, path: str, name: str, stream: BinaryIO, reader: Reader, writer: Writer,
              rejects: Rejects, options: IngestOptions, jobs: int, summary: IngestSummary) -> int:
    """Decode one open input in ``fmt``; returns the lines read (records given the time of reading
    are counted into ``summary`` as they are made, so a stream that breaks off counts them too)."""
    head = _block_head(fmt, path, stream, writer, options.decode.multiline) if jobs > 1 else None
    if head is not None:
        from ben_cli.ingest import parallel

        read, read_time = parallel.decode_file(jobs, fmt, path, options, writer, rejects, head)
        summary.read_time += read_time
        return read
    write = writer.write
    core = Ingester(fmt, options.decode, file=None if path == "-" else name, reader=reader)
    lines: Iterable[bytes] = stream
    if path == "-" and jobs > 1 and _splittable(fmt, options) and _has_fd(writer):
        from ben_cli.ingest import parallel

        if _big_regular(stream):  # stdin redirected from a big file: blocks from the start
            first = stream.read(parallel.BLOCK_BYTES)
            if len(first) == parallel.BLOCK_BYTES:
                read, read_time, _ = parallel.decode_stream(jobs, fmt, lambda: stream.read(parallel.BLOCK_BYTES),
                                                            first, options, writer, rejects)
                summary.read_time += read_time
                return read
            lines = io.BytesIO(first)
        elif _pipe(stream):
            return _read_pipe(jobs, fmt, stream, core, writer, rejects, options, summary)
    if options.progress is not None and path != "-":
        lines = _reporting(stream, name, options.progress)
    try:
        for rec in core.feed(lines):
            write(rec)
        for rec in core.flush():
            write(rec)
    finally:
        summary.read_time += core.read_time
    return core.read


def _read_pipe(jobs: int, fmt: Format, stream: BinaryIO, core: Ingester, writer: Writer, rejects: Rejects,
               options: IngestOptions, summary: IngestSummary) -> int:
    """Decode stdin, a pipe, in this process while the producer is slower than it (each record
    out as its line arrives), and by the workers while the pipe keeps this process busy; records
    in input order either way. Returns the lines read."""
    from ben_cli.ingest import parallel

    pipe = parallel.Pipe(stream)
    buffered = io.BufferedReader(pipe, parallel.PIPE_READ)
    reader, write = core.reader, writer.write
    read = 0  # lines read by the workers (core.read counts every line they took, blank or not)
    try:
        while True:
            for rec in core.feed(buffered):
                write(rec)
            if not pipe.switched:
                break
            first, pipe.rest = pipe.rest, b""
            n, read_time, taken = parallel.decode_stream(jobs, fmt, pipe.read_more, first, options, writer,
                                                         rejects, lineno=reader.lineno, pipe=pipe)
            reader.lineno += taken
            read += n - taken
            summary.read_time += read_time
            if pipe.switched:  # the workers read to the end
                break
        for rec in core.flush():
            write(rec)
    finally:
        summary.read_time += core.read_time
    return core.read + read


def _pipe(stream: BinaryIO) -> bool:
    """Whether ``stream`` is a pipe read as it is (not through a decompressor)."""
    try:
        return type(stream) is io.BufferedReader and stat.S_ISFIFO(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError):
        return False


def _splittable(fmt: Format, options: IngestOptions) -> bool:
    """Whether a stream in ``fmt`` may be cut into blocks at any newline (each line decodes alone)."""
    return fmt.stateless and not (fmt.name == "lines" and options.decode.multiline != "off")


def _big_regular(stream: BinaryIO) -> bool:
    """Whether ``stream`` is a regular file of at least PARALLEL_MIN_BYTES (not a pipe or a tty)."""
    try:
        st = os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return False
    return stat.S_ISREG(st.st_mode) and st.st_size >= PARALLEL_MIN_BYTES


def _has_fd(writer: Writer) -> bool:
    from ben_cli.ingest.parallel import output_fd

    return output_fd(writer) is not None


def _block_head(fmt: Format, path: str, stream: BinaryIO, writer: Writer, multiline: str) -> tuple[list[bytes], int] | None:
    """For a named, uncompressed regular file big enough to be worth splitting, in a format whose
    lines decode alone or with a known head (a CSV header), written to an output that worker
    processes can write to: the lines each block's decoder reads first and the offset past which
    blocks need them. None: read the file in one process."""
    if path == "-" or not hasattr(stream, "raw") or not (fmt.stateless or fmt.block_head is not None):
        return None
    if fmt.name == "lines" and multiline != "off":  # records of several lines may span a block's edge
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_size < PARALLEL_MIN_BYTES:
        return None
    from ben_cli.ingest.parallel import output_fd

    if output_fd(writer) is None:
        return None
    if fmt.block_head is None:
        return [], 0
    with open(path, "rb") as fh:
        return fmt.block_head(fh.fileno(), st.st_size)


def _reporting(stream: BinaryIO, name: str, progress: Callable[[str, int, int], None]) -> Iterator[bytes]:
    """The lines of ``stream``, telling ``progress`` how far into the file (on disk, so a gzip
    file's compressed bytes) every batch of them reaches."""
    fd = stream.fileno()
    total = os.fstat(fd).st_size
    while batch := stream.readlines(PROGRESS_BATCH):
        yield from batch
        progress(name, os.lseek(fd, 0, os.SEEK_CUR), total)

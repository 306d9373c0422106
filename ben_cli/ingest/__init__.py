"""``ben ingest``: read what producers write and emit clean envelopes.

The built-in formats register themselves on import; :func:`ingest` drives any of them over
files or stdin, choosing per input by sniffing when the format is ``auto``. Follow mode
(``follow.py``) and the listener (``listen.py``) reuse the same per-stream decoding loop,
:func:`decode_lines`, so every input path marks, counts and rejects lines the same way.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

from ben_cli import registry
from ben_cli.ingest import csv_format as _csv  # noqa: F401  (registers the formats)
from ben_cli.ingest import lines as _lines  # noqa: F401
from ben_cli.ingest import logfmt as _logfmt_format  # noqa: F401
from ben_cli.ingest import ndjson_format as _ndjson  # noqa: F401
from ben_cli.ingest import otlp as _otlp  # noqa: F401
from ben_cli.ingest import prometheus as _prometheus  # noqa: F401
from ben_cli.ingest import syslog as _syslog  # noqa: F401
from ben_cli.ingest.format import DecodeError, Decoder, Format, IngestOptions, parse_tz, utc_offset_now
from ben_cli.ndjson import DEFAULT_MAX_LINE_BYTES, BadRecord, Writer, display_name, open_input
from ben_cli.rejects import Rejects, Summary

__all__ = ["IngestOptions", "DecodeError", "Format", "FormatStats", "IngestRun", "ingest", "sniff_format",
           "format_names", "decode_lines", "parse_tz", "utc_offset_now", "cpu_count"]

SNIFF_BYTES = 1 << 16
# Regular files at least this big are decoded by several processes when the format allows it.
PARALLEL_MIN_BYTES = 16 << 20


def cpu_count() -> int:
    """CPUs this process may run on (its affinity mask, not the machine's total), at most 8."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    return max(1, min(n, 8))


def format_names() -> list[str]:
    return registry.formats.names()


def sniff_format(sample: bytes) -> Format:
    """The registered format that claims this sample most strongly (lines when none does)."""
    lines = [line.rstrip(b"\r") for line in sample.split(b"\n")]
    if len(lines) > 1 and not sample.endswith(b"\n"):
        lines = lines[:-1]  # the last line may be cut off by the sample's end
    lines = [line for line in lines if line.strip()][:20]
    best: Format = registry.formats.get("lines")
    best_score = -1.0
    for _, fmt in registry.formats.items():
        if fmt.sniff is None:
            continue
        score = fmt.sniff(lines)
        if score > best_score:
            best, best_score = fmt, score
    return best


@dataclass
class FormatStats:
    """Per-format counts for the closing summary: lines read, records emitted, lines rejected."""

    read: int = 0
    emitted: int = 0
    rejected: int = 0


@dataclass
class Counts:
    """What one call of :func:`decode_lines` got through."""

    read: int = 0
    lineno: int = 0
    held: bytes = b""  # a last line without its newline, kept back when asked to


@dataclass
class IngestRun:
    """Totals of a run across inputs: the summary line plus the per-format breakdown."""

    summary: Summary = field(default_factory=lambda: Summary("ingest"))
    formats: dict[str, FormatStats] = field(default_factory=dict)

    def add(self, fmt: str, read: int, emitted: int, rejected: int) -> None:
        stats = self.formats.setdefault(fmt, FormatStats())
        stats.read += read
        stats.emitted += emitted
        stats.rejected += rejected
        self.summary.read += read


def mark_base(fmt: Format, name: str) -> dict:
    return {"format": fmt.name} if name == "<stdin>" else {"format": fmt.name, "file": name}


def decode_lines(
    decoder: Decoder,
    stream: BinaryIO,
    mark: dict,
    writer: Writer,
    rejects: Rejects,
    max_line_bytes: int,
    *,
    lineno: int = 0,
    hold_partial: bool = False,
) -> Counts:
    """The hot loop: decode every line of ``stream`` into ``writer``; kept flat (no per-line objects).

    ``lineno`` is the number of the line before the first one read. With ``hold_partial`` a last
    line that has no newline yet (a writer is still writing it) is not decoded but handed back in
    ``Counts.held``, so follow mode can read it whole later.
    """
    decode = decoder.decode
    write = writer.write
    name = mark.get("file", "<stdin>")
    read = 0
    held = b""
    for data in stream:
        if data[-1:] == b"\n":
            data = data[:-2] if data[-2:] == b"\r\n" else data[:-1]
        elif hold_partial:
            held = data
            break
        lineno += 1
        if not data or data.isspace():
            continue
        read += 1
        try:
            if len(data) > max_line_bytes:
                raise DecodeError(f"line is {len(data)} bytes, over the {max_line_bytes}-byte limit")
            out = decode(data)
        except DecodeError as exc:
            rejects.add(BadRecord(lineno, str(exc), data, name))
            continue
        if out is None:
            continue
        if type(out) is dict:
            out["_ingest"] = {**mark, "line": lineno}
            write(out)
        else:
            for rec in out:
                rec["_ingest"] = {**mark, "line": lineno}
                write(rec)
    return Counts(read, lineno, held)


def finish_decoder(decoder: Decoder, mark: dict, writer: Writer, rejects: Rejects, lineno: int) -> None:
    """Flush what a stateful decoder still holds at the end of its input."""
    try:
        tail = decoder.end()
    except DecodeError as exc:
        rejects.add(BadRecord(lineno, str(exc), b"", mark.get("file", "<stdin>")))
        return
    for rec in tail:
        rec.setdefault("_ingest", dict(mark))
        writer.write(rec)


def choose_format(fixed: Format | None, sample: bytes, name: str,
                  on_format: Callable[[str, str], None] | None) -> Format:
    if fixed is not None:
        return fixed
    fmt = sniff_format(sample[:SNIFF_BYTES])
    if on_format is not None:
        on_format(name, fmt.name)
    return fmt


def ingest(
    paths: Sequence[str],
    writer: Writer,
    rejects: Rejects,
    *,
    format: str = "auto",
    options: IngestOptions | None = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    on_format: Callable[[str, str], None] | None = None,
    jobs: int = 1,
    progress: Callable[[str, int, int], None] | None = None,
    run: IngestRun | None = None,
) -> Summary:
    """Decode every input into envelopes written to ``writer``; bad lines go to ``rejects``.

    Each record is marked ``_ingest: {format, line}`` (and ``file`` for named files) so a record can
    always be traced to the line it came from. ``on_format(input, format)`` is told what auto chose.
    With ``jobs`` above 1, big regular files in a line-independent format are decoded by that many
    processes (see ``parallel.py``); the output is byte for byte what one process writes.
    ``progress(input, bytes_done, bytes_total)`` is called as big files are read. Pass ``run`` to
    get the per-format counts as well.
    """
    options = options or IngestOptions()
    run = run if run is not None else IngestRun()
    fixed = None if format == "auto" else registry.formats.get(format)
    pool = None
    try:
        for path in paths or ["-"]:
            name = display_name(path)
            stream = open_input(path)
            try:
                fmt = choose_format(fixed, stream.peek(SNIFF_BYTES), name, on_format)  # type: ignore[attr-defined]
                emitted0, rejected0 = writer.count, rejects.count
                head = _block_head(fmt, path, stream, writer) if jobs > 1 else None
                if head is not None:
                    from ben_cli.ingest import parallel

                    if pool is None:
                        pool = parallel.Pool(jobs)
                    read = pool.decode_file(fmt, path, mark_base(fmt, name), options, writer, rejects,
                                            max_line_bytes, progress, head)
                else:
                    if progress is not None and path != "-":
                        stream = _with_progress(stream, path, name, progress)
                    decoder = fmt.make_decoder(options)
                    mark = mark_base(fmt, name)
                    counts = decode_lines(decoder, stream, mark, writer, rejects, max_line_bytes)
                    finish_decoder(decoder, mark, writer, rejects, counts.lineno)
                    read = counts.read
                run.add(fmt.name, read, writer.count - emitted0, rejects.count - rejected0)
            finally:
                if path != "-":
                    stream.close()
    finally:
        if pool is not None:
            pool.close()
    writer.flush()
    run.summary.written = writer.count
    run.summary.rejected = rejects.count
    return run.summary


def _block_head(fmt: Format, path: str, stream: BinaryIO, writer: Writer) -> tuple[list[bytes], int] | None:
    """For a named, uncompressed regular file big enough to be worth splitting, in a format whose
    lines decode alone or with a known head (a CSV header), written to an output that worker
    processes can write to: the lines each block's decoder reads first and the offset past which
    blocks need them. None: read the file in one process."""
    if path == "-" or not hasattr(stream, "raw") or not (fmt.stateless or fmt.block_head is not None):
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    import stat

    if not stat.S_ISREG(st.st_mode) or st.st_size < PARALLEL_MIN_BYTES:
        return None
    from ben_cli.ingest.parallel import output_fd

    if output_fd(writer) is None:
        return None
    if fmt.stateless:
        return [], 0
    with open(path, "rb") as fh:
        return fmt.block_head(fh.fileno(), st.st_size)  # type: ignore[misc]


def _with_progress(stream: BinaryIO, path: str, name: str, progress: Callable[[str, int, int], None]) -> BinaryIO:
    """Wrap a file so that every block read from disk reports how far along it is."""
    import io

    try:
        total = os.path.getsize(path)
    except OSError:
        return stream
    raw = open(path, "rb", buffering=0)  # noqa: SIM115 - closed with the returned stream
    stream.close()

    class Counting(io.RawIOBase):
        done = 0

        def readable(self) -> bool:
            return True

        def readinto(self, b):  # type: ignore[override]
            n = raw.readinto(b)
            if n:
                self.done += n
                progress(name, self.done, total)
            return n

        def close(self) -> None:
            raw.close()
            super().close()

    buffered = io.BufferedReader(Counting(), 1 << 16)
    if buffered.peek(2)[:2] == b"\x1f\x8b":
        import gzip

        return gzip.GzipFile(fileobj=buffered, mode="rb")  # type: ignore[return-value]
    return buffered  # type: ignore[return-value]

"""``ben ingest``: read what producers write and emit clean envelopes.

The built-in formats register themselves on import; :func:`ingest` drives any of them over
files or stdin, choosing per input by sniffing when the format is ``auto``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import BinaryIO

from ben_cli import registry
from ben_cli.ingest import lines as _lines  # noqa: F401  (registers the format)
from ben_cli.ingest import logfmt as _logfmt  # noqa: F401
from ben_cli.ingest import ndjson_format as _ndjson  # noqa: F401
from ben_cli.ingest.format import DecodeError, Format, IngestOptions
from ben_cli.ndjson import DEFAULT_MAX_LINE_BYTES, BadRecord, Writer, display_name, open_input
from ben_cli.rejects import Rejects, Summary

__all__ = ["IngestOptions", "DecodeError", "Format", "ingest", "sniff_format", "format_names"]

SNIFF_BYTES = 1 << 16


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


def ingest(
    paths: Sequence[str],
    writer: Writer,
    rejects: Rejects,
    *,
    format: str = "auto",
    options: IngestOptions | None = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    on_format: Callable[[str, str], None] | None = None,
) -> Summary:
    """Decode every input into envelopes written to ``writer``; bad lines go to ``rejects``.

    Each record is marked ``_ingest: {format, line}`` (and ``file`` for named files) so a record can
    always be traced to the line it came from. ``on_format(input, format)`` is told what auto chose.
    """
    options = options or IngestOptions()
    summary = Summary("ingest")
    fixed = None if format == "auto" else registry.formats.get(format)
    for path in paths or ["-"]:
        name = display_name(path)
        stream = open_input(path)
        try:
            fmt = fixed
            if fmt is None:
                fmt = sniff_format(stream.peek(SNIFF_BYTES)[:SNIFF_BYTES])  # type: ignore[attr-defined]
                if on_format is not None:
                    on_format(name, fmt.name)
            _decode_stream(fmt, stream, name, options, writer, rejects, summary, max_line_bytes)
        finally:
            if path != "-":
                stream.close()
    writer.flush()
    summary.written = writer.count
    summary.rejected = rejects.count
    return summary


def _decode_stream(
    fmt: Format,
    stream: BinaryIO,
    name: str,
    options: IngestOptions,
    writer: Writer,
    rejects: Rejects,
    summary: Summary,
    max_line_bytes: int,
) -> None:
    """The hot loop: kept flat (no per-line objects) because it runs once per input line."""
    decoder = fmt.make_decoder(options)
    decode = decoder.decode
    write = writer.write
    mark_base = {"format": fmt.name} if name == "<stdin>" else {"format": fmt.name, "file": name}
    read = 0
    lineno = 0
    for data in stream:
        lineno += 1
        if data[-1:] == b"\n":
            data = data[:-2] if data[-2:] == b"\r\n" else data[:-1]
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
            out["_ingest"] = {**mark_base, "line": lineno}
            write(out)
        else:
            for rec in out:
                rec["_ingest"] = {**mark_base, "line": lineno}
                write(rec)
    try:
        tail = decoder.end()
    except DecodeError as exc:
        rejects.add(BadRecord(lineno, str(exc), b"", name))
        tail = []
    for rec in tail:
        rec.setdefault("_ingest", dict(mark_base))
        write(rec)
    summary.read += read

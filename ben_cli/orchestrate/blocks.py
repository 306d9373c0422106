"""``ben run --workers N`` reading its input in the workers: the main process cuts the files into
blocks of whole lines and hands out their offsets; a worker decodes a block itself.

Decoding is a third of the work of the bench pipeline, and under ``--workers`` it was the main
process's, the serial part, together with hashing each record's series key. Here the main
process reads only enough of each block to find its last newline and count its lines (so a
worker knows the number of its first line, and rejects keep their numbers); a worker reads the
block with ``pread``, decodes it with the ingest core, hashes each record to the worker that
holds its series, and runs the stateless stages before the first keyed one (scrub) on each
share. The shares cross to their workers through the main process as the ``orjson`` arrays the
worker made, in block order, without being parsed on the way.

Only what decodes line by line qualifies: named, uncompressed, non-empty regular files, read
once (no ``--follow``, ``--since-last``, ``--listen``, ``--ack``, ``--output``, ``--strict``), in
a format whose lines decode alone. Everything else is read by the main process as before.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ben_cli import registry
from ben_cli.errors import BadRecord
from ben_cli.ingest.core import Ingester
from ben_cli.ingest.format import Format
from ben_cli.ingest.options import IngestOptions
from ben_cli.ingest.parallel import _blocks, _Range
from ben_cli.ingest.sniff import SNIFF_BYTES, Binary, choose_format
from ben_cli.ndjson import display_name, open_input
from ben_cli.orchestrate.steps import Planned

# About a thousand lines of the bench's access log: a block is the unit of a worker's decoding,
# small enough that the first answers come back while the main process is still cutting.
BLOCK_BYTES = 256 << 10


@dataclass(frozen=True)
class Input:
    """A file the workers decode: its path, the name its records' ``_ingest.file`` carries, its
    format (chosen as ``ben ingest`` chooses it) and its size."""

    path: str
    name: str
    format: str
    size: int


def block_inputs(source: Planned | None) -> list[Input] | None:
    """The inputs of ``source`` if the workers can decode them in blocks, else None."""
    if source is None or not source.inputs:
        return None
    o: IngestOptions = source.options
    if (o.follow or o.since_last or o.listen or o.ack or o.output is not None or o.source is not None
            or o.wrap_writer is not None or o.check is not None or o.progress is not None or source.strict):
        return None
    fixed = None if o.format == "auto" else registry.formats.get(o.format)
    out = []
    told: list[tuple[str, str]] = []  # what auto-detection would tell, told once the inputs qualify
    for path in source.inputs:
        if path == "-":
            return None
        try:
            st = os.stat(path)
            if not stat.S_ISREG(st.st_mode) or st.st_size == 0:
                return None
            with open_input(path) as stream:
                if type(stream) is not io.BufferedReader:  # compressed: read in one stream
                    return None
                name = display_name(path)
                fmt = choose_format(fixed, stream.peek(SNIFF_BYTES), name, lambda *said: told.append(said),
                                    refuse_binary=True)
        except (OSError, Binary):
            return None  # the main process's reader reports it, as ben ingest does
        if not _splittable(fmt, o):
            return None
        out.append(Input(path, name, fmt.name, st.st_size))
    if o.on_format is not None:
        for said in told:
            o.on_format(*said)
    return out


def _splittable(fmt: Format, options: IngestOptions) -> bool:
    return fmt.stateless and not (fmt.name == "lines" and options.decode.multiline != "off")


def cut(inputs: list[Input]) -> Iterator[tuple[int, int, int, int]]:
    """(input's index, start, end, lines before the block) of every block, in input order."""
    for k, each in enumerate(inputs):
        with open(each.path, "rb") as fh:
            for start, end, lines in _blocks(fh.fileno(), each.size, BLOCK_BYTES):
                yield k, start, end, lines


Bad = tuple[int, str, bytes, str, int]  # a rejected line as the main process re-adds it


def decode(each: Input, options: IngestOptions, start: int, end: int, lineno: int) -> tuple[list[dict], int, int, list[Bad]]:
    """A worker: the envelopes of bytes ``[start, end)`` of ``each``, whose first line is number
    ``lineno + 1``; the lines read, the records given the time of reading, and the bad lines."""
    bad: list[Bad] = []

    def collect(exc: BadRecord) -> None:
        bad.append((exc.lineno, exc.reason, exc.raw, exc.file, exc.size))

    core = Ingester(registry.formats.get(each.format), options.decode, file=each.name, lineno=lineno,
                    on_error=collect, max_line_bytes=options.max_line_bytes)
    with open(each.path, "rb") as fh:
        records = list(core.feed(io.BufferedReader(_Range(fh.fileno(), start, end), 1 << 16)))
    records += core.flush()
    return records, core.read, core.read_time, bad


def re_add(bad: list[Bad], add: Callable[[BadRecord], None]) -> None:
    """A block's bad lines into the ingest stage's rejects, in line order."""
    for lineno, reason, raw, file, size in bad:
        add(BadRecord(lineno, reason, raw, file, size=size))

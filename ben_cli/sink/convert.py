"""Turning a batch's lines into rows: in the calling thread, or in worker processes.

Parsing a record and converting it costs microseconds per row (the common record's line is
written by compiled code, see ``rows.JsonLines.add_record``), and a thread cannot run it beside
the reader (the interpreter lock). For the HTTP target, whose rows are bytes (JSONEachRow lines),
worker processes can do it: a batch is cut into chunks of ``CHUNK_ROWS`` lines, handed to the
workers as the batch fills, so they convert while the reader reads on and the sender spools and
posts the batch before, and the last batch is converted by the time the input ends. Only bytes
cross between processes: a chunk's lines go out as one string, and the JSON lines come back
through a file beside the spool (page cache, never synced), read once into the batch's buffer;
pickling them through the pool's pipe cost more than converting.

A line that is not a record the table can hold is found by a worker but acted on only after the
batch was spooled (when the sender collects the conversion): it is reported by its row number
in the batch, and the delivery code rejects it the same way as a row
the server refused (into the rejects file, then into the batch's ``.rejected`` list), so a replay
neither stores it nor rejects it twice.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ben_cli.ndjson import BadRecord, parse_object
from ben_cli.sink.batch import Batch, Converted
from ben_cli.sink.rows import JsonLines, RowBuilder, RowList

if TYPE_CHECKING:
    from multiprocessing.pool import AsyncResult, Pool

CHUNK_ROWS = 10_000


def convert(builder: RowBuilder, rows: RowList | JsonLines, batch_id: str, lines: Sequence[bytes],
            first: int = 0, file: str = "spool") -> Converted:
    """Parse and convert ``lines`` (rows ``first``, ``first + 1``, … of the batch) into ``rows``."""
    out = Converted(rows)
    low, high = out.ts_low, out.ts_high
    for n, line in enumerate(lines, first):
        try:
            ts = rows.add_record(builder, parse_object(line, n + 1, file), batch_id, n + 1, file)
        except BadRecord as exc:
            out.bad.append((n, exc.reason))
            rows.skip()
            continue
        if ts < low:
            low = ts
        if ts > high:
            high = ts
    out.ts_low, out.ts_high = low, high
    return out


_builders: dict[str, RowBuilder] = {}


def _convert_chunk(flavour: str, batch_id: str, first: int, text: bytes, path: str) -> Converted:
    """A worker's task: one chunk of a batch (its lines, each ending in a newline) into
    JSONEachRow lines, written to ``path``."""
    builder = _builders.get(flavour) or _builders.setdefault(flavour, RowBuilder(flavour))
    rows = JsonLines(flavour, first)
    out = convert(builder, rows, batch_id, text.split(b"\n")[:-1], first)
    with open(path, "wb") as fh:
        fh.write(rows.body)
    rows.body = bytearray()
    out.path = path
    return out


def _worker_init(close: Sequence[int]) -> None:
    """Workers leave Ctrl-C to the sink (which stops them) and say nothing on stderr: a task's
    error travels back to the sink with its result, and when the sink was killed, the broken pipe
    a worker meets while returning a result is expected, not news for the user. They close their
    copies of the descriptors in ``close`` (the spool's lock), which the sink alone must hold."""
    for fd in close:
        os.close(fd)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the life of the worker


class Converters:
    """A pool of worker processes converting the HTTP target's batches.

    The pool is forked before the sink starts its own threads (a fork copies only the calling
    thread, so no lock held by another thread can be copied locked)."""

    def __init__(self, flavour: str, folder: Path, workers: int | None = None, close: Sequence[int] = ()):
        self.flavour = flavour
        self.folder = folder  # for the workers' output (hidden ``.tmp`` names: a crash leaves no litter)
        workers = workers or min(4, os.cpu_count() or 1)
        self.pool: Pool = multiprocessing.get_context("fork").Pool(workers, _worker_init, (tuple(close),))

    def convert_full_chunks(self, batch: Batch) -> None:
        """Start converting the batch's next whole chunk of lines while the batch is still filling
        (called every ``CHUNK_ROWS`` lines), so that the workers keep pace with the reader instead
        of starting on a batch only when it closes."""
        self._hand_out(batch, len(batch.lines) - len(batch.lines) % CHUNK_ROWS)

    def convert_rest(self, batch: Batch) -> None:
        """Start converting the rest of a closed batch (called as it closes)."""
        self._hand_out(batch, len(batch.lines))

    def _hand_out(self, batch: Batch, end: int) -> None:
        pending: list[AsyncResult] = batch.converting if batch.converting is not None else []
        batch.converting = pending
        for i in range(len(pending) * CHUNK_ROWS, end, CHUNK_ROWS):  # every chunk but a batch's last is whole
            text = b"".join(batch.lines[i:min(i + CHUNK_ROWS, end)])
            path = str(self.folder / f".{batch.batch_id}-{i}.rows.tmp")
            pending.append(self.pool.apply_async(_convert_chunk, (self.flavour, batch.batch_id, i, text, path)))

    def collect(self, batch: Batch) -> None:
        """Wait for a batch's conversion and put its chunks together in the batch."""
        pending: list[AsyncResult] = batch.converting
        batch.converting = None
        parts: list[Converted] = [chunk.get() for chunk in pending]
        sizes = [_json_lines(part).ends[-1] if len(part.rows) else 0 for part in parts]
        batch.rows = rows = JsonLines(self.flavour)
        rows.body = bytearray(sum(sizes))  # read straight into place: one copy
        with memoryview(rows.body) as view:
            at = 0
            for part, size in zip(parts, sizes, strict=True):
                assert part.path is not None
                with open(part.path, "rb") as fh:
                    if fh.readinto(view[at:at + size]) != size:
                        raise OSError(f"{part.path}: short read")
                os.unlink(part.path)
                rows.ends.extend([end + at for end in _json_lines(part).ends])
                at += size
                batch.note_converted(part)

    def close(self) -> None:
        self.pool.terminate()
        self.pool.join()


def _json_lines(part: Converted) -> JsonLines:
    """A worker's chunk's rows, which are JSONEachRow lines (workers convert only for HTTP)."""
    assert isinstance(part.rows, JsonLines)
    return part.rows

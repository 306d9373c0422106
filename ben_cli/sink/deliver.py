"""Where the batcher's closed batches go: an NDJSON file or stdout, or a ClickHouse table through
the write-ahead spool (exactly once). Each delivery owns its target's state: the file and its
lock, or the spool, its lock, and the positions earlier runs reached in each input."""

from __future__ import annotations

import gzip
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ben_cli.acks import line_position
from ben_cli.ndjson import BadRecord, Writer
from ben_cli.rejects import Rejects
from ben_cli.sink.batch import Batch
from ben_cli.sink.convert import Converters, convert
from ben_cli.sink.files import RotatingFile
from ben_cli.sink.rows import MODERN, JsonLines, RowBuilder, RowList
from ben_cli.sink.spool import Spool
from ben_cli.sink.target import ClickHouseTarget, FileTarget, StdoutTarget, spool_root

if TYPE_CHECKING:
    from ben_cli.sink.clickhouse import ClickHouseWriter
    from ben_cli.sink.held import Held


@dataclass
class FileOptions:
    rotate_bytes: int | None = None
    rotate_seconds: float | None = None
    gzip: bool = False


class DurableRejects(Rejects):
    """Rejects whose file can be forced to disk before the spool notes that a row was rejected."""

    def sync(self) -> None:
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())


class FileDelivery:
    """Appends each batch's lines to an NDJSON file (or stdout), flushed per batch. The file keeps
    records as they are; only the check that each has a time a table could hold applies."""

    converters: Converters | None = None  # a file needs its lines only: nothing to convert

    def __init__(self, target: FileTarget | StdoutTarget, options: FileOptions | None = None,
                 notify: Callable[[str], None] = lambda _m: None, held: Held | None = None):
        self.target = target
        self.options = options or FileOptions()
        self.notify = notify
        self.held = held
        self.builder: RowBuilder | None = RowBuilder(MODERN)
        self.written = 0
        self._file: RotatingFile | None = None
        self._out: Writer | None = None

    def load(self) -> dict[str, dict]:
        """Open (and lock) the file; a file target does not resume, it appends."""
        if isinstance(self.target, FileTarget):
            o = self.options
            self._file = RotatingFile(self.target.path, o.rotate_bytes, o.rotate_seconds, o.gzip)
            if self._file.cut:
                what = "an unfinished gzip member" if o.gzip else "a partial last line"
                self.notify(f"{self.target.path} ended in {what} (a crash or a full disk): cut {self._file.cut} "
                            "bytes, so it ends on a whole line")
            if self.held is not None:
                self._learn_tail(self._file)
        else:
            self._out = Writer(sys.stdout.buffer)
        return {}

    def _learn_tail(self, file: RotatingFile) -> None:
        """--ack: a run killed after a batch reached the disk but before it was acknowledged left
        records the acknowledgements do not know; read their positions from the file's end."""
        assert self.held is not None
        now = file.identity()
        known = self.held.extra.get("file")
        start = 0
        if isinstance(known, dict) and (known.get("dev"), known.get("ino")) == (now["dev"], now["ino"]):
            start = known["bytes"]  # checked by acks.load
        if start >= now["bytes"]:
            return
        found: dict[str, list[int]] = {}
        with open(file.path, "rb") as raw:
            raw.seek(start)  # with gzip, the end of a batch's member: the next one starts there
            fh = gzip.GzipFile(fileobj=raw) if self.options.gzip else raw
            for line in fh:
                pos = line_position(line)
                if pos is not None:
                    found[pos[0]] = [pos[1], pos[2]]
        self.held.acknowledge(found, file=now)

    def new_rows(self) -> None:
        return None

    def deliver(self, batch: Batch) -> None:
        out = self._file if self._file is not None else self._out
        assert out is not None, "load() opens the file"
        if isinstance(out, RotatingFile):
            out.write_lines(batch.lines)
        else:
            for line in batch.lines:
                out.write_line(line)
        out.flush()
        self.written += len(batch.lines)
        if self.held is None:
            return
        if isinstance(out, RotatingFile):  # the file's length too, even without positions: where a tail starts
            out.flush(durable=True)
            self.held.acknowledge(batch.acks, file=out.identity())
        else:
            self.held.acknowledge(batch.acks)

    def save(self) -> None:
        if self._file is not None:
            self._file.flush(durable=True)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._out is not None:
            self._out.flush()


class ClickHouseDelivery:
    """Stores every record exactly once in the table (or in rejects): :meth:`load` replays what
    earlier runs left in the spool; each batch is spooled (fsynced) before it is sent and removed
    once the server confirmed it."""

    def __init__(self, target: ClickHouseTarget, rejects: DurableRejects, *, retry_for: float = 300.0,
                 from_start: bool = False, workers: int | None = None, use_workers: bool = True,
                 notify: Callable[[str], None] = lambda _m: None, spool_dir: Path | None = None,
                 held: Held | None = None):
        self.target = target
        self.rejects = rejects
        self.retry_for = retry_for
        self.from_start = from_start
        self.workers = workers
        # HTTP rows are bytes, so worker processes can make them (forked in load, before any thread)
        self.use_workers = use_workers and target.http and workers != 1
        self.notify = notify
        self.spool = Spool(spool_dir or spool_root() / "clickhouse" / target.key)
        if held is not None:
            self.spool.on_done = held.acknowledge
        self.builder: RowBuilder | None = None
        self.converters: Converters | None = None
        self.replayed = 0
        self._writer: ClickHouseWriter | None = None

    @property
    def written(self) -> int:
        return self._writer.stored - self.replayed if self._writer is not None else 0

    def _reject(self, bad: BadRecord) -> None:
        self.rejects.add(bad)
        self.rejects.sync()

    def load(self) -> dict[str, dict]:
        from ben_cli.retry import RetryPolicy
        from ben_cli.sink.clickhouse import ClickHouseWriter

        self.spool.lock()
        writer = self._writer = ClickHouseWriter(self.target, self.spool, self._reject,
                                                 RetryPolicy(give_up_after=self.retry_for), self.notify)
        writer.open()
        if self.use_workers:
            lock = self.spool.lock_fd
            self.converters = Converters(writer.flavour, self.spool.folder, self.workers,
                                         close=() if lock is None else (lock,))
        else:
            self.builder = writer.builder
        for old in self.spool.pending():
            batch = Batch(old.batch_id, lines=list(old.lines()))
            converted = convert(writer.builder, writer.new_rows(), old.batch_id, batch.lines, 0, old.path.name)
            batch.rows = converted.rows
            batch.note_converted(converted)
            self.notify(f"replaying spooled batch {old.batch_id} ({len(batch.lines)} rows)")
            before = writer.stored
            writer.deliver(old, batch, replay=True)
            self.replayed += writer.stored - before
        return {} if self.from_start else self.spool.offsets()

    def new_rows(self) -> RowList | JsonLines | None:
        return None if self.converters is not None or self._writer is None else self._writer.new_rows()

    def deliver(self, batch: Batch) -> None:
        assert self._writer is not None, "load() connects"
        spooled = self.spool.write(batch.batch_id, batch.lines, batch.inputs, batch.acks)
        if self.converters is not None:
            self.converters.collect(batch)
        self._writer.deliver(spooled, batch, replay=False)

    def save(self) -> None:
        """Nothing to do: the spool and the positions are written as batches go and are confirmed."""

    def close(self) -> None:
        try:
            if self.converters is not None:
                self.converters.close()
            if self._writer is not None:
                self._writer.close()
        finally:
            self.spool.unlock()

"""The write-ahead spool: a batch is on disk (fsynced) before it is sent, and gone only after the
server confirmed it.

One folder per destination under ``$BEN_HOME/spool/clickhouse/``; a lock file keeps two ``ben sink``
processes out of each other's folder. Each batch is one file ``<seq>-<batch id>.ndjson`` whose first
line is a header (batch id, row count, and how far into each input file the batch reaches) and
whose other lines are the records. Rows the server refused and that were written to the rejects
file are listed in ``<seq>-<batch id>.rejected`` so a replay does not reject them twice.

``offsets.json`` remembers, per input file, how far earlier runs got, so a rerun on the same file
(a cron job, or a restart after SIGKILL) continues where the last spooled batch ended instead of
sending the file again.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from ben_cli.acks import valid as acks_valid
from ben_cli.atomic import fsync_dir, write_atomic
from ben_cli.errors import Busy, StateError

SPOOL_FORMAT = 1
BATCH_NAME = re.compile(r"\d{12}-[0-9A-Za-z]+\.ndjson")  # what :meth:`Spool.write` names a batch

_MOVE_OUT = "move it out of the spool folder to go on (its rows are then not sent)"


@dataclass
class SpooledBatch:
    path: Path
    seq: int
    batch_id: str
    rows: int = 0
    inputs: dict[str, dict] = field(default_factory=dict)
    acks: dict[str, list[int]] = field(default_factory=dict)  # --ack positions the batch reaches

    @property
    def rejected_path(self) -> Path:
        return self.path.with_suffix(".rejected")

    def lines(self) -> Iterator[bytes]:
        """The record lines (without the header), as written."""
        with open(self.path, "rb") as fh:
            fh.readline()
            yield from fh


class Spool:
    def __init__(self, folder: Path):
        self.folder = folder
        self._lock_fd: int | None = None
        self._next_seq = 0
        self.on_done: Callable[[dict[str, list[int]]], None] | None = None  # --ack: told a stored batch's positions

    def lock(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.folder / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise Busy(f"another ben sink is using the spool {self.folder}") from None
        self._lock_fd = fd
        existing = self.pending()
        self._next_seq = existing[-1].seq + 1 if existing else 0

    @property
    def lock_fd(self) -> int | None:
        """The descriptor that holds the lock. A forked helper process must close its copy: the
        lock lasts while any copy is open, so a helper outliving a killed sink would keep the
        spool busy for the next run."""
        return self._lock_fd

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def pending(self) -> list[SpooledBatch]:
        """Batches left by earlier runs (or this one), oldest first. Half-written temp files are
        removed: they were never sent, and their records are re-read from the input."""
        out: list[SpooledBatch] = []
        if not self.folder.exists():
            return out
        for path in self.folder.iterdir():
            if path.name.startswith(".") and path.name.endswith(".tmp"):
                path.unlink(missing_ok=True)
                continue
            if not BATCH_NAME.fullmatch(path.name) or not path.is_file():
                continue  # not a batch ben wrote (a stray file): left alone, never sent
            out.append(read_batch(path))
        return sorted(out, key=lambda b: b.seq)

    def write(self, batch_id: str, lines: list[bytes], inputs: dict[str, dict],
              acks: dict[str, list[int]] | None = None) -> SpooledBatch:
        seq = self._next_seq
        self._next_seq += 1
        path = self.folder / f"{seq:012d}-{batch_id}.ndjson"
        header = {"ben_spool": SPOOL_FORMAT, "batch_id": batch_id, "rows": len(lines), "inputs": inputs}
        if acks:
            header["acks"] = acks
        write_atomic(path, orjson.dumps(header, option=orjson.OPT_APPEND_NEWLINE) + b"".join(lines))
        return SpooledBatch(path, seq, batch_id, len(lines), inputs, acks or {})

    def mark_rejected(self, batch: SpooledBatch, row: int) -> None:
        with open(batch.rejected_path, "ab") as fh:
            fh.write(b"%d\n" % row)
            fh.flush()
            os.fsync(fh.fileno())

    def rejected_rows(self, batch: SpooledBatch) -> set[int]:
        try:
            return {int(x) for x in batch.rejected_path.read_bytes().split()}
        except FileNotFoundError:
            return set()
        except ValueError:
            raise StateError(f"the spool's list of rejected rows {batch.rejected_path} is not a list of row "
                             f"numbers; {_MOVE_OUT}") from None

    def done(self, batch: SpooledBatch) -> None:
        """The server has every row of the batch (or rejects has it): acknowledge it, forget it,
        durably (a crash before the batch file is gone replays it, skipping the rows stored)."""
        self.save_offsets(batch.inputs)
        if self.on_done is not None and batch.acks:
            self.on_done(batch.acks)
        batch.path.unlink(missing_ok=True)
        batch.rejected_path.unlink(missing_ok=True)
        fsync_dir(self.folder)

    # input offsets -------------------------------------------------------------------------------
    @property
    def offsets_path(self) -> Path:
        return self.folder / "offsets.json"

    def offsets(self) -> dict[str, dict]:
        """How far into each input file the stored and spooled batches reach."""
        saved = self._saved_offsets()
        for batch in self.pending():
            merge_offsets(saved, batch.inputs)
        return saved

    def save_offsets(self, inputs: dict[str, dict]) -> None:
        if not inputs:
            return
        saved = self._saved_offsets()
        merge_offsets(saved, inputs)
        write_atomic(self.offsets_path, orjson.dumps(saved, option=orjson.OPT_SORT_KEYS))

    def _saved_offsets(self) -> dict[str, dict]:
        path = self.offsets_path
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return {}
        try:
            saved = orjson.loads(data)
        except orjson.JSONDecodeError:
            saved = None
        if not isinstance(saved, dict) or not all(isinstance(k, str) and valid_position(v) for k, v in saved.items()):
            raise StateError(f"{path} is not a map of input positions; remove it to read every input "
                             "from its start (or run with --from-start)")
        return saved


def valid_position(pos: object) -> bool:
    """An input position as :meth:`Reader.positioned` reports it: device, inode, byte offset."""
    return isinstance(pos, dict) and all(type(pos.get(k)) is int and pos[k] >= 0 for k in ("dev", "ino", "offset"))


def read_batch(path: Path) -> SpooledBatch:
    """A spooled batch's header, or a refusal naming the file when it is not one ben wrote."""
    with open(path, "rb") as fh:
        line = fh.readline()
    try:
        header = orjson.loads(line)
    except orjson.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or not isinstance(header.get("batch_id"), str) \
            or type(header.get("rows")) is not int \
            or not isinstance(inputs := header.get("inputs", {}), dict) \
            or not all(isinstance(k, str) and valid_position(v) for k, v in inputs.items()) \
            or not isinstance(held := header.get("acks", {}), dict) or not all(map(acks_valid, held.values())):
        what = "is empty" if not line else "has no valid batch header on its first line"
        raise StateError(f"the spooled batch {path} {what}; {_MOVE_OUT}")
    return SpooledBatch(path, int(path.name.split("-", 1)[0]), header["batch_id"], header["rows"], inputs, held)


def merge_offsets(into: dict[str, dict], more: dict[str, dict]) -> None:
    """Keep the furthest position per input; a different file at the same path replaces it."""
    for key, pos in more.items():
        old = into.get(key)
        if old is None or old.get("ino") != pos.get("ino") or old.get("dev") != pos.get("dev") \
                or pos["offset"] > old["offset"]:
            into[key] = pos

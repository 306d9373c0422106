"""The sender's records not yet acknowledged: in memory, or also on disk (``--spool DIR``).

Records are numbered from 1 within a stream. The window holds every record after the highest
acknowledged one, so a reconnect can resend from the listener's ACK + 1.

A spool makes the window survive a killed sender. ``DIR/state.json`` names the stream id and
the file of records with the number of its first line (``records-N``); records are appended to
that file and fsynced *before* they are sent, so a number the listener has seen is always in
the spool: a rerun numbers its new records after it, never over it. When every record is
acknowledged (and at the end of a run) the spool moves to a new, empty file: the state is
rewritten atomically to point at it, then the old file is removed, so a kill at any moment
leaves one consistent pair. A line cut short by a kill mid-append is cut off on the next run: it
was never fsynced, so never sent.

With ``--ack STATE`` (:mod:`.spooled`) the spool also tells ``ben ingest`` how far into each input
it holds records, and drops the records ingest reads again that it already holds.
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from pathlib import Path

import orjson

from ben_cli.atomic import cut_to_whole_lines, exclusive_lock, fsync_dir, write_atomic
from ben_cli.bee.spooled import SpoolAcks
from ben_cli.crypto import primitives as p
from ben_cli.errors import StateError

STREAM_ID = 16
MAX_BLOCK = 65535 - 16 - 1 - 8  # the lines of one DATA frame (frames.MAX_DATA)
COMPACT_AT = 16 << 20  # bytes of acknowledged records after which the spool moves to a new file


Block = tuple[bytes, int]  # whole lines, each ending in a newline, and how many


def blocks_of(data: bytes, limit: int) -> tuple[list[Block], int]:
    """``data`` (whole lines) cut at line ends into blocks of at most ``limit`` bytes, empty lines
    left out; and how many lines were left out for being longer than ``limit`` alone. Working on
    blocks, not lines, keeps the per-record cost of the sender in C (``rfind``, ``count``)."""
    out: list[Block] = []
    too_long = 0
    pos, size = 0, len(data)
    while pos < size:
        end = data.rfind(b"\n", pos, pos + limit) + 1 if size - pos > limit else size
        if end <= pos:  # one line longer than a frame can carry: left out
            too_long += 1
            pos = data.index(b"\n", pos) + 1
            continue
        block = data[pos:end]
        if block.startswith(b"\n") or b"\n\n" in block:
            block = b"".join(line + b"\n" for line in block.split(b"\n")[:-1] if line)
        if block:
            out.append((block, block.count(b"\n")))
        pos = end
    return out, too_long


class Window:
    """Unacknowledged records in memory, as blocks of whole lines; records numbered from 1."""

    def __init__(self, stream: bytes | None = None, first: int = 1):
        self.stream = stream or p.random_bytes(STREAM_ID)
        self.acked = first - 1
        self.last = first - 1  # the number of the last record taken in (0 for none)
        self.blocks: deque[tuple[int, int, bytes]] = deque()  # (first number, count, lines)
        self.bytes = 0

    @property
    def pending(self) -> int:
        """How many records are not acknowledged."""
        return self.last - self.acked

    def append(self, blocks: list[Block]) -> None:
        for data, count in blocks:
            self.blocks.append((self.last + 1, count, data))
            self.last += count
            self.bytes += len(data)

    def ack(self, number: int) -> None:
        """Forget the records up to ``number`` (the listener holds them); a block partly
        acknowledged is kept whole until the rest of it is."""
        number = min(number, self.last)
        blocks = self.blocks
        while blocks and blocks[0][0] + blocks[0][1] - 1 <= number:
            self.bytes -= len(blocks.popleft()[2])
        self.acked = max(self.acked, number)

    def since(self, number: int, limit: int) -> list[tuple[int, int, bytes]]:
        """Up to ``limit`` blocks (first number, count, lines) from record ``number`` on."""
        out = []
        for first, count, data in self.blocks:
            if first + count - 1 < number:
                continue
            if first < number:  # resending from the middle of a block
                cut = 0
                for _ in range(number - first):
                    cut = data.index(b"\n", cut) + 1
                first, count, data = number, count - (number - first), data[cut:]
            out.append((first, count, data))
            if len(out) >= limit:
                break
        return out

    def fresh(self, data: bytes) -> bytes:
        """``data`` less the records this window already holds (only a spool with ``--ack`` knows)."""
        return data

    def close(self) -> None:
        pass


class Spool(Window):
    """A window whose records are also on disk, fsynced before they are sent."""

    def __init__(self, folder: Path, acks: SpoolAcks | None = None):
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.folder = folder
        self._lock = exclusive_lock(folder / "spool", "another ben bee send with this spool")
        self._lock.__enter__()
        state = folder / "state.json"
        if state.exists():
            try:
                values = orjson.loads(state.read_bytes())
                stream, base = bytes.fromhex(values["stream"]), int(values["base"])
                if len(stream) != STREAM_ID or base < 1:
                    raise ValueError("bad stream id or base")
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise StateError(f"{state}: not a ben bee spool state ({exc})") from None
        else:
            stream, base = p.random_bytes(STREAM_ID), 1
        super().__init__(stream, base)
        self.base = base
        self._write_state()
        path = self._path(base)
        self.acks = acks
        if acks is not None:
            acks.open()
        if path.exists():
            cut_to_whole_lines(path)
            held = path.read_bytes()
            super().append(blocks_of(held, MAX_BLOCK)[0])
            if acks is not None:
                acks.learn(held)
        if acks is not None:
            acks.save()
        self._fh = open(path, "ab")  # closed in close()
        for old in folder.glob("records-*"):
            if old != path:
                old.unlink()  # a file left by a kill during compaction

    @property
    def resumed(self) -> int:
        return self.pending

    def _path(self, base: int) -> Path:
        return self.folder / f"records-{base}"

    def _write_state(self) -> None:
        write_atomic(self.folder / "state.json",
                     orjson.dumps({"version": 1, "stream": self.stream.hex(), "base": self.base},
                                  option=orjson.OPT_APPEND_NEWLINE), mode=0o600)

    def append(self, blocks: list[Block]) -> None:
        try:
            self._fh.write(b"".join(data for data, _ in blocks))
            self._fh.flush()
            os.fsync(self._fh.fileno())
        except OSError as exc:  # a full disk: stop; what was spooled is sent on the next run
            raise StateError(f"cannot append to the spool {self._path(self.base)}: {exc.strerror or exc}") from None
        super().append(blocks)
        if self.acks is not None:
            self.acks.spooled()

    def fresh(self, data: bytes) -> bytes:
        return data if self.acks is None else self.acks.fresh(data)

    def ack(self, number: int) -> None:
        super().ack(number)
        if not self.pending and self._fh.tell() >= COMPACT_AT:
            self.compact()

    def compact(self) -> None:
        """Move to a new, empty file numbered after every acknowledged record."""
        if self.pending or self.base == self.acked + 1:
            return
        old = self._path(self.base)
        self._fh.close()
        self.base = self.acked + 1
        self._fh = open(self._path(self.base), "ab")
        self._write_state()
        if self.acks is not None:  # the old file's positions are kept in STATE.ack before it goes
            self.acks.save()
        old.unlink()
        fsync_dir(self.folder)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.compact()
        self._fh.close()
        if self.acks is not None:
            self.acks.close()
        self._lock.__exit__(None, None, None)

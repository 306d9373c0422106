"""The file target: NDJSON appended to a file, rotated by size or age, optionally gzip.

The active file keeps its name; a rotated file gets the UTC time of rotation before its
suffixes (``records.ndjson`` -> ``records.20261125T100000Z.ndjson``), so a glob on the folder
reads every record and ``ls`` sorts them by time. With gzip each run appends a new gzip member,
which every gzip reader (and ``ben``'s inputs) reads as one stream. A lock file next to the
target keeps two writers from interleaving half lines.
"""

from __future__ import annotations

import fcntl
import gzip
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from ben_cli.atomic import fsync_dir
from ben_cli.errors import Busy


def rotated_name(path: Path, stamp: str) -> Path:
    name = path.name
    base, dot, suffixes = name.partition(".")
    candidate = path.with_name(f"{base}.{stamp}{dot}{suffixes}" if dot else f"{base}.{stamp}")
    n = 1
    while candidate.exists():
        candidate = path.with_name(f"{base}.{stamp}-{n}{dot}{suffixes}" if dot else f"{base}.{stamp}-{n}")
        n += 1
    return candidate


class RotatingFile:
    def __init__(self, path: Path, rotate_bytes: int | None = None, rotate_seconds: float | None = None,
                 compress: bool = False, clock: Callable[[], float] = time.time):
        self.path = path
        self.rotate_bytes = rotate_bytes
        self.rotate_seconds = rotate_seconds
        self.compress = compress
        self.clock = clock
        self.rotated: list[Path] = []
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(path.parent / f".{path.name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise Busy(f"another ben sink is writing {path}") from None
        self._open()

    def _open(self) -> None:
        self._raw = open(self.path, "ab")  # noqa: SIM115 - closed in _close
        self._fh: BinaryIO = gzip.GzipFile(fileobj=self._raw, mode="ab") if self.compress else self._raw  # type: ignore[assignment]
        self._size = self._raw.tell()  # compressed size on disk: what a size limit is about
        self._opened = self.clock()

    def _close(self) -> None:
        self._fh.flush()
        if self._fh is not self._raw:
            self._fh.close()
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._raw.close()

    def write(self, data: bytes) -> None:
        """Append whole lines; rotate first when the current file is full or old enough."""
        if self._due():
            self.rotate()
        self._fh.write(data)
        self._size = self._raw.tell() if self.compress else self._size + len(data)

    def _due(self) -> bool:
        if self._size == 0:
            return False
        if self.rotate_bytes is not None and self._size >= self.rotate_bytes:
            return True
        return self.rotate_seconds is not None and self.clock() - self._opened >= self.rotate_seconds

    def rotate(self) -> None:
        self._close()
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(self.clock()))
        target = rotated_name(self.path, stamp)
        os.replace(self.path, target)
        fsync_dir(self.path.parent)
        self.rotated.append(target)
        self._open()

    def flush(self, durable: bool = False) -> None:
        self._fh.flush()
        if self._fh is not self._raw:
            self._raw.flush()
        if durable:
            os.fsync(self._raw.fileno())

    def close(self) -> None:
        self._close()
        os.close(self._lock_fd)

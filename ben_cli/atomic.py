"""Files that survive crashes: atomic replacement and exclusive run locks.

Every piece of state ben keeps between runs (detector state, ingest offsets, the sink's spool,
key files) is written the same way: a temporary file in the same folder, fsynced, renamed over
the old one, then the folder fsynced so the rename itself is durable. After a crash a reader sees
the old file or the whole new one, never a part. Two runs that would share state are kept apart
by an ``flock`` on a ``.lock`` file beside it, which the kernel releases when a process dies.
Standard library only (and ben's own errors): this is imported on the start-up path of several commands.
"""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from ben_cli.errors import Busy

_TAIL_CHUNK = 1 << 16

__all__ = ["Busy", "cut_to_whole_lines", "exclusive_lock", "fsync_dir", "whole_lines_end", "write_atomic"]


def whole_lines_end(fh: BinaryIO, size: int) -> int:
    """The length of an open file (``size`` bytes long) up to and including its last newline; 0
    when it has none. Read backwards in chunks: only the tail is read."""
    end = size
    while end > 0:
        start = max(0, end - _TAIL_CHUNK)
        fh.seek(start)
        at = fh.read(end - start).rfind(b"\n")
        if at >= 0:
            return start + at + 1
        end = start
    return 0


def cut_to_whole_lines(path: str | os.PathLike[str]) -> int:
    """Cut a file ben appends lines to back to its last whole line; returns how many bytes were
    cut. A run killed in the middle of a write (SIGKILL, a full disk) leaves half a line, which
    the next run's first line would otherwise be glued to."""
    try:
        fh = open(path, "r+b")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return 0
    with fh:
        size = os.fstat(fh.fileno()).st_size
        end = whole_lines_end(fh, size)
        if end < size:
            fh.truncate(end)
        return size - end


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new file in ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, content: bytes | Callable[[BinaryIO], object], *, mode: int = 0o644) -> None:
    """Replace ``path`` with ``content`` (bytes, or a function that writes to the open file).

    The temporary file is born with ``mode`` (0600 for secrets: never readable by others, not even
    for a moment) and is removed if anything fails before the rename.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            if isinstance(content, bytes):
                fh.write(content)
            else:
                content(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename is None:  # a full disk says which file it refused
            exc.filename = str(path)
        raise
    fsync_dir(path.parent)


@contextmanager
def exclusive_lock(path: Path, what: str = "another ben run", *, wait: bool = False) -> Iterator[None]:
    """Hold an exclusive lock on ``path.lock`` for the block; raise :class:`Busy` at once if held,
    or with ``wait``, wait for it (for short writes that two runs should take turns at)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise Busy(f"{path} is in use by {what}") from None
            raise
        yield
    finally:
        os.close(fd)

"""Reading files that grow and rotate: ``--since-last`` for cron, ``--follow`` for daemons.

The offsets file (``--state``) keeps, per followed path, the identity of the file last read
(device, inode, and a fingerprint: the first bytes, up to 1 KiB) and how far it was read (byte
offset and line number). A run then finds one of these cases:

- same file (same inode, its first bytes unchanged, no shorter than the offset): read on from
  the offset;
- renamed away (logrotate's default): the path is a new file; the old one is found beside it by
  its inode (``app.log.1``, ``app.log-20261125``) and read from the offset to its end, then the
  new file from its start;
- copied and truncated (logrotate's ``copytruncate``): same inode but shorter than the offset or
  with other first bytes; the copy is found beside it by its fingerprint and read from the
  offset, then the file from its start;
- copied and truncated while nothing of it had been read (it was empty): there are no first
  bytes to know the copy by, so while a file's offset is 0 its entry also keeps the inode, size
  and modification time of each file beside it (``app.log.*``, ``app.log-*``); a file beside it
  that is new or changed since, not compressed and not empty, is the copy, read whole before the
  file itself (not with ``--ack``, whose rotated files follow their own entries);
- never seen: read from the start.

A last line without its newline is not read: the writer has not finished it, and the next run
reads it whole. Offsets are committed after every batch (at most ``BATCH_BYTES`` of input)
with the output flushed first, by writing a temporary file, fsyncing it and renaming it over the
state, under an exclusive lock so two runs never interleave. When the output is a file ben writes
itself (``--output``), the state also records the output's identity (path, device, inode), its
length at each commit and whether the run was still writing. A run that ended normally leaves
nothing to undo, so the next one only appends, to the same file or another, whatever others
appended in between. After a run that was killed, the next one cuts the output back to the
committed length (records written after the last commit are dropped and read again, so every
line arrives exactly once), but only when the output is the same file and every line past that
length is a record of this state's inputs: anything it cannot prove it wrote is refused with a
StateError instead of cut. On stdout, a run killed by
SIGKILL between a write and its commit can repeat that batch; SIGTERM and SIGINT end the run at a
batch boundary and commit it.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import BinaryIO

import orjson

from ben_cli import acks, registry
from ben_cli.acks import input_id
from ben_cli.atomic import exclusive_lock, write_atomic
from ben_cli.errors import StateError
from ben_cli.ingest.core import Ingester
from ben_cli.ingest.format import Format
from ben_cli.ingest.options import IngestOptions
from ben_cli.ingest.sniff import SNIFF_BYTES, choose_format
from ben_cli.ingest.summary import IngestSummary
from ben_cli.ndjson import Writer
from ben_cli.rejects import Rejects
from ben_cli.units import ben_home

FINGERPRINT_BYTES = 1024
BATCH_BYTES = 1 << 20
POLL_SECONDS = 0.2
STATE_NAME = "ingest-offsets.json"



@dataclass
class FileState:
    """Where reading of one followed path stands."""

    dev: int = 0
    inode: int = 0
    offset: int = 0
    lineno: int = 0
    fingerprint: str = ""  # hex of the file's first bytes (up to FINGERPRINT_BYTES)
    format: str = ""
    id: str = ""  # the input id records of this file are stamped with (acks.input_id), once known
    floor: int = -1  # where reading may rewind to at most, tied to a sink: -1 means offset
    floor_line: int = 0
    # while offset is 0: [inode, size, mtime_ns] of each file beside it, to tell a copy made later
    beside: list[list[int]] = field(default_factory=list)

    def to_json(self) -> dict:
        data = self.__dict__.copy()
        if not data["beside"]:
            del data["beside"]  # kept only while it means something: state files stay as they were
        return data


@dataclass
class OutputState:
    """The file ``--output`` wrote to: which file, its length at the last commit, and whether a run
    was writing to it then (``open``: a run killed after that commit may have written more)."""

    path: str = ""
    dev: int = 0
    inode: int = 0
    bytes: int = 0
    open: bool = False

    def same_file(self, path: str, st: os.stat_result) -> bool:
        return (self.path, self.dev, self.inode) == (os.path.abspath(path), st.st_dev, st.st_ino)


@dataclass
class State:
    path: Path
    files: dict[str, FileState] = field(default_factory=dict)
    output: OutputState | None = None  # --output at the last commit
    # tied to a sink: per path, files rotated away whose records the sink may not all hold yet
    behind: dict[str, list[FileState]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> State:
        """The offsets file at ``path`` (empty when there is none); :class:`StateError` naming the
        file when it is not one this module wrote: every field is checked before it is trusted."""
        try:
            data = orjson.loads(path.read_bytes())
        except FileNotFoundError:
            return cls(path)
        except orjson.JSONDecodeError as exc:
            raise StateError(f"{path}: offsets file is not valid JSON ({exc}); move it away to start afresh") from None
        try:
            if type(data) is not dict:
                raise ValueError(f"JSON {orjson.dumps(data).decode()[:20]}, not an object")
            files = data.get("files", {})
            if type(files) is not dict:
                raise ValueError("'files' is not an object")
            behind = data.get("behind", {})
            if type(behind) is not dict or not all(type(v) is list for v in behind.values()):
                raise ValueError("'behind' is not an object of lists")
            state = cls(path, {key: _file_state(key, v) for key, v in files.items()}, _output_state(data),
                        {key: [_file_state(key, f) for f in v] for key, v in behind.items()})
        except ValueError as exc:
            raise StateError(f"{path}: not an offsets file ({exc}); move it away to start afresh") from None
        return state

    def save(self) -> None:
        """Atomically: temporary file, fsync, rename, fsync of the folder."""
        data = {"version": 1, "files": {k: v.to_json() for k, v in self.files.items()}}
        if self.output is not None:
            data["output"] = self.output.__dict__.copy()
        if any(self.behind.values()):
            data["behind"] = {k: [f.to_json() for f in v] for k, v in self.behind.items() if v}
        write_atomic(self.path, orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE))


def _count(value: object, name: str, none: bool = False) -> int | None:
    if value is None and none:
        return None
    if type(value) is not int or value < 0:
        raise ValueError(f"{name} is {orjson.dumps(value).decode()[:40]}, not a count")
    return value


def _output_state(data: dict) -> OutputState | None:
    """The ``output`` entry; an older file's bare ``output_bytes`` names no file and so proves nothing."""
    if "output_bytes" in data:
        _count(data["output_bytes"], "output_bytes")
        return OutputState(bytes=data["output_bytes"], open=True)
    value = data.get("output")
    if value is None:
        return None
    if type(value) is not dict or set(value) != set(OutputState.__dataclass_fields__):
        raise ValueError("'output' is not an object with path, dev, inode, bytes and open")
    out = OutputState(**value)
    for name in ("dev", "inode", "bytes"):
        _count(getattr(out, name), f"output {name}")
    if type(out.path) is not str or type(out.open) is not bool:
        raise ValueError("output path or open of the wrong type")
    return out


def _file_state(key: str, value: object) -> FileState:
    """One path's entry, each field of its type, or ValueError saying which is wrong."""
    if type(value) is not dict:
        raise ValueError(f"the entry for {key} is not an object")
    unknown = set(value) - set(FileState.__dataclass_fields__)
    if unknown:
        raise ValueError(f"the entry for {key} has unknown fields ({', '.join(sorted(map(str, unknown)))})")
    known = FileState(**value)
    for name in ("dev", "inode", "offset", "lineno", "floor_line"):
        _count(getattr(known, name), f"{name} of {key}")
    if type(known.floor) is not int or known.floor < -1:
        raise ValueError(f"floor of {key} is not an offset")
    for name in ("fingerprint", "format", "id"):
        if type(getattr(known, name)) is not str:
            raise ValueError(f"{name} of {key} is not a string")
    try:
        bytes.fromhex(known.fingerprint)
    except ValueError:
        raise ValueError(f"fingerprint of {key} is not hex") from None
    if type(known.beside) is not list or not all(type(b) is list and len(b) == 3 for b in known.beside):
        raise ValueError(f"beside of {key} is not a list of [inode, size, mtime]")
    for seen in known.beside:
        for n in seen:
            _count(n, f"a file beside {key}")
    return known


COMPRESSED = (".gz", ".bz2", ".xz", ".zst", ".lz4", ".Z")


def _beside(path: str) -> list[tuple[str, os.stat_result]]:
    """The regular files next to ``path`` that logrotate names after it (``app.log.1``, ``app.log-20261125``)."""
    folder, base = os.path.dirname(path), os.path.basename(path)
    found = []
    try:
        names = sorted(os.listdir(folder or "."))
    except OSError:
        return []
    for name in names:
        if name != base and name.startswith((base + ".", base + "-")):
            full = os.path.join(folder, name)
            try:
                st = os.stat(full)
            except OSError:
                continue
            if os.path.isfile(full):
                found.append((full, st))
    return found


def _signature(st: os.stat_result) -> list[int]:
    return [st.st_ino, st.st_size, st.st_mtime_ns]


def _copied_unread(path: str, known: FileState) -> tuple[str, os.stat_result] | None:
    """The copy logrotate's copytruncate made of ``path`` since a run found it empty: a file beside
    it that is new or changed since then, not compressed, not empty (None when there is none)."""
    if known.offset or known.fingerprint:
        return None
    for full, st in _beside(path):
        if (_signature(st) not in known.beside and st.st_ino != known.inode and st.st_size
                and not full.endswith(COMPRESSED)):
            return full, st
    return None


def fingerprint(fd: int, upto: int | None = None) -> str:
    n = FINGERPRINT_BYTES if upto is None else min(FINGERPRINT_BYTES, upto)
    return os.pread(fd, n, 0).hex()


def _same_file(st: os.stat_result, fd: int, known: FileState) -> bool:
    """Is the open file the one ``known`` describes, grown or not, and not truncated?"""
    if (st.st_dev, st.st_ino) != (known.dev, known.inode) or st.st_size < known.offset:
        return False
    return fingerprint(fd, len(known.fingerprint) // 2) == known.fingerprint


def _find_rotated(path: str, known: FileState, strict: bool = False) -> str | None:
    """The file the old contents of ``path`` went to: same inode (renamed) or same first bytes (copied).
    ``strict``: the inode alone is not enough (a file truncated in place, then renamed, keeps it)."""
    folder = os.path.dirname(path)
    base = os.path.basename(path)
    stem = base.split(".")[0]
    by_print = None
    try:
        names = sorted(os.listdir(folder or "."))
    except OSError:
        return None
    for name in names:
        if name == base or not name.startswith(stem):
            continue
        full = os.path.join(folder, name)
        try:
            st = os.stat(full)
        except OSError:
            continue
        if st.st_size < known.offset or not os.path.isfile(full):
            continue
        if (st.st_dev, st.st_ino) == (known.dev, known.inode) and not (strict and known.fingerprint):
            return full
        if by_print is None and known.fingerprint:
            with open(full, "rb") as fh:
                if fingerprint(fh.fileno(), len(known.fingerprint) // 2) == known.fingerprint:
                    by_print = full
    return by_print


def _rewind(known: FileState, held: dict[str, list[int]]) -> None:
    """Put ``known`` back to the furthest of what the sink holds of it and its floor (where the tie
    began: what was read before it, untied, was delivered then)."""
    if known.floor < 0:
        known.floor, known.floor_line = known.offset, known.lineno
    pos = (known.floor, known.floor_line)
    acked = held.get(known.id) if known.id else None
    if acked is not None and acked[0] > pos[0]:
        pos = (acked[0], acked[1])
    if pos[0] < known.offset:
        known.offset, known.lineno = pos


def _stamped(core: Ingester, batch: list[bytes], offset: int) -> Iterator[dict]:
    """The core's records of ``batch`` (whole lines starting at byte ``offset``), each ``_ingest``
    given ``at``: the offset just past the line it ends on."""
    ends = list(accumulate(map(len, batch), initial=offset))
    base = core.lineno
    for rec in core.feed(batch):
        where = rec["_ingest"]
        n = where.get("line", 0) - base
        where["at"] = ends[n] if n > 0 else offset
        yield rec


class _Stop:
    """Set by SIGTERM/SIGINT: the run ends at the next batch boundary."""

    def __init__(self) -> None:
        self.requested = False

    def __call__(self, signum: int, frame: object) -> None:
        self.requested = True


class Follower:
    """Reads the new part of a set of paths, committing offsets batch by batch."""

    def __init__(self, state: State, writer: Writer, rejects: Rejects, summary: IngestSummary,
                 options: IngestOptions, output: BinaryIO | None):
        self.state, self.writer, self.rejects, self.summary = state, writer, rejects, summary
        self.fixed = None if options.format == "auto" else registry.formats.get(options.format)
        self.options, self.output = options, output
        self.stop = _Stop()
        self.acks: dict[str, list[int]] | None = None  # tied to a sink: what it holds (see tie)

    def tie(self, held: dict[str, list[int]] | None) -> None:
        """Resume every file from what the sink tied to this state holds (``held``: its
        acknowledgements), not from how far earlier runs read; None: untied, offsets as read."""
        self.acks = held
        state = self.state
        if held is None:
            state.behind.clear()
            for known in state.files.values():
                known.floor, known.floor_line = -1, 0
            return
        for known in state.files.values():
            _rewind(known, held)
        for files in state.behind.values():
            for known in files:
                _rewind(known, held)

    def commit(self, *, done: bool = False) -> None:
        """Flush and fsync the output, then save the offsets; ``done``: the run ends normally here."""
        self.writer.flush()
        if self.output is not None:
            self.output.flush()
            os.fsync(self.output.fileno())
            st = os.fstat(self.output.fileno())
            self.state.output = OutputState(os.path.abspath(self.output.name), st.st_dev, st.st_ino,
                                            st.st_size, not done)
        self.state.save()

    def _format(self, known: FileState, fd: int, name: str) -> Format:
        if self.fixed is not None:
            return self.fixed
        if known.format and known.format in registry.formats:
            return registry.formats.get(known.format)
        return choose_format(None, os.pread(fd, SNIFF_BYTES, 0), name, self.options.on_format)

    def read_file(self, key: str, read_path: str, fh: BinaryIO, known: FileState, current: bool = True) -> bool:
        """Read ``fh`` from ``known.offset`` to its last complete line; True if anything was read.
        A last line without its newline is left for the next pass: its writer is not done.
        ``current``: ``known`` is the path's entry (not a file rotated away, read to catch up).
        Each record's ``_ingest`` is stamped with ``in`` (the file's id) and ``at`` (the byte
        offset just past its line)."""
        fd = fh.fileno()
        fmt = self._format(known, fd, read_path)
        core = Ingester(fmt, self.options.decode, file=read_path, lineno=known.lineno, on_error=self.rejects.add,
                        max_line_bytes=self.options.max_line_bytes)
        if known.offset and fmt.head_lines:  # a CSV header the decoder needs again
            fh.seek(0)
            heads = [fh.readline().rstrip(b"\r\n") for _ in range(fmt.head_lines)]
            core.prime(head for head in heads if head)
        fh.seek(known.offset)
        progressed = False
        emitted, rejected = self.writer.count, self.rejects.count
        write = self.writer.write
        while not self.stop.requested:
            batch = fh.readlines(BATCH_BYTES)
            if not batch:
                break
            if known.fingerprint and fingerprint(fd, len(known.fingerprint) // 2) != known.fingerprint:
                break  # copied and truncated while being read: these lines are another file's; the copy has the rest
            partial = batch.pop() if batch[-1][-1:] != b"\n" else b""
            if batch:  # the format is kept once a whole line was sniffed: an empty file (a log just
                known.format = fmt.name  # rotated) must not pin "lines" on what is written to it later
            if not known.id and batch:
                known.id = input_id(fd, os.fstat(fd)) or ""
                if known.id and self.acks is not None:
                    self.commit()  # the id, kept before any record stamped with it leaves (a copy gets it)
            if known.id:
                core.mark["in"] = known.id
                for rec in _stamped(core, batch, known.offset):
                    write(rec)
            else:
                for rec in core.feed(batch):
                    write(rec)
            consumed = sum(map(len, batch))
            if not known.fingerprint or len(known.fingerprint) < 2 * FINGERPRINT_BYTES:
                known.fingerprint = fingerprint(fd, known.offset + consumed)
            known.offset += consumed
            known.lineno = core.lineno
            if current:
                self.state.files[key] = known
            progressed = progressed or consumed > 0
            self.commit()
            if partial:
                break
        for rec in core.flush():
            if known.id:
                rec["_ingest"]["at"] = known.offset
            write(rec)
        self.summary.add(fmt.name, core.read, self.writer.count - emitted, self.rejects.count - rejected)
        return progressed

    def catch_up(self, path: str, key: str) -> bool:
        """Tied to a sink: read again what it does not hold yet of the files rotated away from ``path``."""
        progressed = False
        for known in list(self.state.behind.get(key, [])):
            old = _find_rotated(path, known, strict=True)
            if old is None or os.stat(old).st_size <= known.offset:
                # gone (deleted, compressed: nothing to read), or all of it held by the sink
                self.state.behind[key].remove(known)
                continue
            with open(old, "rb") as ofh:
                progressed = self.read_file(key, old, ofh, known, current=False) or progressed
            if self.stop.requested:
                break
        return progressed

    def poll(self, path: str) -> bool:
        """One pass over ``path``: the rest of a rotated predecessor, then the file itself.

        Tied to a sink, a rotation is committed before anything is read (the predecessor joins
        ``behind``, the new file gets its entry), so that a run killed at any point, and a second
        rotation before the next run, still leave every file the sink lacks findable."""
        key = os.path.abspath(path)
        tied = self.acks is not None
        progressed = False
        known = self.state.files.get(key)
        try:
            fh = open(path, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            return self.catch_up(path, key) if tied else False
        with fh:
            st = os.fstat(fh.fileno())
            if not tied and known is not None and (copy := _copied_unread(path, known)) is not None:
                with open(copy[0], "rb") as cfh:
                    progressed = self.read_file(key, copy[0], cfh, FileState(copy[1].st_dev, copy[1].st_ino),
                                                current=False)
                known.beside.append(_signature(copy[1]))
                self.commit()
                if self.stop.requested:
                    return progressed
            if known is not None and not _same_file(st, fh.fileno(), known):
                if tied:  # kept until the sink holds all of it
                    self.state.behind.setdefault(key, []).append(known)
                else:
                    old = _find_rotated(path, known)
                    if old is not None:
                        with open(old, "rb") as ofh:
                            progressed = self.read_file(key, old, ofh, known)
                    if self.stop.requested:
                        return progressed
                known = None
            if known is None:
                known = FileState(st.st_dev, st.st_ino, floor=0 if tied else -1)
                self.state.files[key] = known
                if tied:  # known before any of its records leave
                    known.fingerprint = fingerprint(fh.fileno(), st.st_size)
                    self.commit()
            if tied:
                progressed = self.catch_up(path, key)
                if self.stop.requested:
                    return progressed
            progressed = self.read_file(key, path, fh, known) or progressed
            known.beside = [] if known.offset or tied else [_signature(b) for _, b in _beside(path)]
            return progressed


def _undo_killed_run(state: State, path: str, out: BinaryIO, inputs: Sequence[str]) -> None:
    """Cut ``out`` back to the length committed by a run that was killed while writing to it, when
    that run provably wrote everything past it (see the module's notes); StateError otherwise."""
    known = state.output
    if known is None or not known.open:
        return  # the last run ended normally: nothing was left half done
    st = os.fstat(out.fileno())
    if known.path and not known.same_file(path, st):
        try:
            old = os.stat(known.path)
        except OSError:
            return  # the file the killed run wrote to is gone; nothing of it is in this one
        if (old.st_dev, old.st_ino) == (known.dev, known.inode) and old.st_size > known.bytes:
            raise StateError(f"{state.path}: the last run was killed while writing to {known.path}, not to {path}; "
                             f"run it again with --output {known.path} to finish it, or move the offsets file away")
        return
    if st.st_size <= known.bytes:
        return  # nothing past the committed length
    if not _written_by(path, known.bytes, st.st_size, state, inputs):
        where = path if known.path else "an output it does not name (an offsets file of an older ben)"
        raise StateError(f"{state.path}: the last run was killed; {path} holds lines past the {known.bytes} bytes "
                         f"committed to {where} that are not this state's records, so nothing is cut; "
                         "remove the lines of the killed run by hand, or move the offsets file away")
    out.truncate(known.bytes)  # drop records of a killed run that were never committed


def _written_by(path: str, start: int, end: int, state: State, inputs: Sequence[str]) -> bool:
    """Is every line of the file at ``path`` between ``start`` and ``end`` a record read from one of this state's
    files or a rotated copy beside one? (A last line cut short by the kill counts as one.)"""
    ours = [os.path.abspath(p) for p in [*state.files, *inputs]]
    stems = {(os.path.dirname(p), os.path.basename(p).split(".")[0]) for p in ours}  # as _find_rotated looks
    with open(path, "rb") as fh:
        fh.seek(start)
        while fh.tell() < end and (line := fh.readline(end - fh.tell())):
            if not line.endswith(b"\n"):
                return fh.tell() >= end  # the last line, cut short by the kill
            try:
                mark = orjson.loads(line)["_ingest"]
                name = mark["file"]
            except (orjson.JSONDecodeError, KeyError, TypeError):
                return False
            if type(name) is not str:
                return False
            name = os.path.abspath(name)
            if name not in ours and not any(os.path.dirname(name) == folder and os.path.basename(name).startswith(stem)
                                            for folder, stem in stems):
                return False
    return True


def read_new(paths: Sequence[str], writer: Writer, rejects: Rejects, options: IngestOptions,
             summary: IngestSummary, poll_seconds: float = POLL_SECONDS) -> Writer:
    """Read what is new in ``paths`` since the last run with ``options.state``; with
    ``options.follow``, keep reading as they grow until SIGTERM or SIGINT. With ``options.output``
    records go to that file with exactly-once commits (see the module's notes) instead of
    ``writer``; returns the writer they went to. Raises :class:`~ben_cli.errors.Busy` when another run holds the state."""
    state_path = options.state or ben_home() / STATE_NAME
    with exclusive_lock(state_path, "another ben ingest run"):
        st = State.load(state_path)
        out_fh = None
        if options.output is not None:
            out_fh = open(options.output, "ab")  # noqa: SIM115 - closed below
            try:
                _undo_killed_run(st, str(options.output), out_fh, paths)
            except BaseException:
                out_fh.close()
                raise
            writer = Writer(out_fh, line_buffered=False)
        if options.wrap_writer is not None:
            writer = options.wrap_writer(writer)
        follower = Follower(st, writer, rejects, summary, options, out_fh)
        follower.tie(acks.load(acks.ack_path(state_path))[0] if options.ack else None)
        if out_fh is not None:
            follower.commit()  # open, at the output's length before this run writes: see the module's notes
        old_term = signal.signal(signal.SIGTERM, follower.stop)
        old_int = signal.signal(signal.SIGINT, follower.stop)
        try:
            while True:
                for path in paths:
                    follower.poll(path)
                    if follower.stop.requested:
                        break
                if not options.follow or follower.stop.requested:
                    follower.commit(done=True)
                    break
                follower.commit()
                time.sleep(poll_seconds)
        finally:
            signal.signal(signal.SIGTERM, old_term)
            signal.signal(signal.SIGINT, old_int)
            writer.flush()
            if out_fh is not None:
                out_fh.close()
    return writer

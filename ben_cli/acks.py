"""Acknowledgements: how far into each ingested input the end of a pipeline durably holds records.

``ben ingest --since-last --state S`` stamps every record's ``_ingest`` mark with the input it was
read from (``in``: an id of the file that stays the same across rotation) and the byte offset
just past its line (``at``). ``ben sink --ack S`` keeps, in ``S.ack``, the highest position per
input among the records it holds durably (stored, or spooled and fsynced), and drops records at
or below it; the next ``ben ingest`` with the same state finds ``S.ack`` beside it and resumes
from there, not from how far it read. This module is the file both ends share: its name, its
format (``{"version": 1, "inputs": {id: [offset, line]}, ...}``) and reading a record's position.
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson

from ben_cli.atomic import write_atomic
from ben_cli.errors import StateError

ACK_SUFFIX = ".ack"


def ack_path(state: Path) -> Path:
    """Where the sink tied to ingest state ``state`` keeps its acknowledgements."""
    return Path(f"{state}{ACK_SUFFIX}")


def load(path: Path) -> tuple[dict[str, list[int]], dict]:
    """(input id -> [offset, line], the other top-level entries) of the file at ``path``; empty
    when there is none; StateError naming it when it is not an acknowledgements file."""
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return {}, {}
    except orjson.JSONDecodeError as exc:
        raise StateError(f"{path}: acknowledgements file is not valid JSON ({exc}); move it away "
                         "(the next run then reads every input from where ingest's state says)") from None
    inputs = data.get("inputs") if type(data) is dict else None
    if type(inputs) is not dict or not all(valid(v) for v in inputs.values()):
        raise StateError(f"{path}: not an acknowledgements file (no map of input positions); move it away")
    known = data.get("file")  # a file target's identity and length (see ben_cli/sink/deliver.py)
    if "file" in data and (type(known) is not dict
                           or not all(type(known.get(k)) is int and known[k] >= 0 for k in ("dev", "ino", "bytes"))):
        raise StateError(f"{path}: its output file entry is not a device, inode and length; move it away")
    return inputs, {k: v for k, v in data.items() if k not in ("version", "inputs")}


def valid(pos: object) -> bool:
    return type(pos) is list and len(pos) == 2 and all(type(x) is int and x >= 0 for x in pos)


def merge(into: dict[str, list[int]], more: dict[str, list[int]]) -> bool:
    """Keep the furthest position per input; True when anything moved."""
    moved = False
    for key, pos in more.items():
        old = into.get(key)
        if old is None or pos[0] > old[0]:
            into[key] = list(pos)
            moved = True
    return moved


def save(path: Path, inputs: dict[str, list[int]], extra: dict | None = None) -> None:
    """Atomically: temporary file, fsync, rename, fsync of the folder."""
    data = {"version": 1, "inputs": inputs, **(extra or {})}
    write_atomic(path, orjson.dumps(data, option=orjson.OPT_APPEND_NEWLINE))


def position(rec: dict) -> tuple[str, int, int] | None:
    """(input id, offset past its line, line number) of a stamped record, else None."""
    mark = rec.get("_ingest")
    if type(mark) is not dict:
        return None
    key, at = mark.get("in"), mark.get("at")
    if type(key) is not str or type(at) is not int:
        return None
    line = mark.get("line")
    return key, at, line if type(line) is int else 0


_MARK = b'"_ingest":{'


def line_position(line: bytes) -> tuple[str, int, int] | None:
    """:func:`position` of a record's NDJSON line, without parsing the whole line: the ``_ingest``
    object is found by its key (a quote inside a JSON string is escaped, so ``"_ingest":{`` is a
    key wherever it appears) and parsed alone."""
    i = line.find(_MARK)
    if i < 0:
        return None
    start = i + len(_MARK) - 1
    end = line.find(b"}", start)
    while end > 0:
        try:
            mark = orjson.loads(line[start:end + 1])
        except orjson.JSONDecodeError:  # a "}" inside a string of the mark: the next one
            end = line.find(b"}", end + 1)
            continue
        return position({"_ingest": mark})
    return None


def whole_record(line: bytes) -> bool:
    """Whether a last line that came without its newline is a whole JSON value. Its writer may
    have been killed mid-line, and a line cut short can still show a whole ``_ingest`` mark (it
    comes before ``redacted`` and ``anomaly``): acknowledging that position would tell ingest a
    record was held that never will be, so only a whole record's position counts."""
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return True


def input_id(fd: int, st: os.stat_result) -> str | None:
    """A compact id for the file open at ``fd``: device, inode and a checksum of its first line
    (at most 1 KiB), the identity ``--since-last`` already trusts; None while the first line is
    not complete (nothing of the file is read then)."""
    import zlib

    head = os.pread(fd, 1024, 0)
    nl = head.find(b"\n")
    if nl >= 0:
        head = head[:nl + 1]
    elif len(head) < 1024:
        return None
    return f"{st.st_dev:x}.{st.st_ino:x}.{zlib.crc32(head):08x}"

"""Where bad input goes: the ``--rejects`` file, the counts, and the stderr summary line.

Nothing a user feeds ben may vanish. A rejected line is written with its file, line number,
reason and raw text; text that is not valid UTF-8 is kept exactly as base64 beside a readable
rendering, so a rejects file can always be replayed.

The raw text is the input as it came, before any scrubbing, so the file is private: a rejects file
ben creates is born mode 0600 (an existing one is appended to as it is, keeping the mode its owner
gave it). Where even a private copy is too much (``ben scrub --no-rejects-raw``), ``raw=False``
keeps only where, why and how long (``raw_bytes``), never the text.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TextIO

import orjson

from ben_cli.atomic import cut_to_whole_lines
from ben_cli.errors import BadRecord

REJECTS_MODE = 0o600
RAW_KEPT = 64 << 10  # a reject keeps at most the first 64 KiB of its line, and says how long it was


def reject_record(bad: BadRecord, stage: str, keep_raw: bool = True) -> dict:
    """The NDJSON object written for one rejected line: its raw text whole up to
    :data:`RAW_KEPT` bytes; of a longer line the first :data:`RAW_KEPT` bytes, with
    ``raw_bytes`` (the whole line's length) and ``raw_truncated``. Without ``keep_raw`` only
    the length is kept, never the text."""
    raw = bad.raw
    rec: dict = {"stage": stage, "file": bad.file, "line": bad.lineno, "reason": bad.reason}
    detail = getattr(bad, "detail", None)  # what a stage says beyond the reason (a contract's violations)
    if detail:
        rec.update(detail)
    if not keep_raw:
        rec["raw_bytes"] = max(bad.size, len(raw))
        return rec
    if bad.size > RAW_KEPT or len(raw) > RAW_KEPT:
        raw = raw[:RAW_KEPT]
        rec["raw_bytes"] = max(bad.size, len(bad.raw))
        rec["raw_truncated"] = True
    try:
        rec["raw"] = raw.decode("utf-8")
        if "\x00" in rec["raw"]:
            rec["raw_b64"] = base64.b64encode(raw).decode("ascii")
    except UnicodeDecodeError:
        rec["raw"] = raw.decode("utf-8", "backslashreplace")
        rec["raw_b64"] = base64.b64encode(raw).decode("ascii")
    return rec


@dataclass
class Rejects:
    """Collects bad lines: writes them to ``path`` when given, always counts them.

    With ``strict`` the first bad line is raised instead, which the CLI turns into exit status 1.
    ``notify`` receives a one-line message per rejected line (the CLI prints the first few).
    ``keep_raw=False`` writes each line's length instead of its text. A file created here is 0600.
    """

    path: Path | None = None
    stage: str = "ben"
    strict: bool = False
    keep_raw: bool = True
    count: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    first: list[str] = field(default_factory=list)
    _fh: BinaryIO | None = None

    def add(self, bad: BadRecord) -> None:
        if self.strict:
            raise bad
        self.count += 1
        kind = bad.reason.split(":", 1)[0]
        self.reasons[kind] = self.reasons.get(kind, 0) + 1
        if len(self.first) < 5:
            self.first.append(str(bad))
        if self.path is not None:
            if self._fh is None:
                # a run killed mid-write left half a reject: the next one must not be glued to it
                cut_to_whole_lines(self.path)
                # created private: the raw text is unscrubbed input (umask may only narrow the mode)
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, REJECTS_MODE)
                self._fh = os.fdopen(fd, "ab")  # closed in close()
            self._fh.write(orjson.dumps(reject_record(bad, self.stage, self.keep_raw), option=orjson.OPT_APPEND_NEWLINE))

    def close(self) -> None:
        if self._fh is not None:
            self._fh.flush()
            self._fh.close()
            self._fh = None

    def __enter__(self) -> Rejects:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class Summary:
    """The counts a filter reports on stderr when it ends."""

    stage: str
    read: int = 0
    written: int = 0
    rejected: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        parts = [f"read {self.read}", f"wrote {self.written}", f"rejected {self.rejected}"]
        parts += [f"{k} {v}" for k, v in self.extra.items()]
        return f"ben {self.stage}: " + ", ".join(parts)

    def report(self, stream: TextIO, rejects: Rejects | None = None) -> None:
        stream.write(self.line() + "\n")
        if rejects is not None and rejects.count:
            for msg in rejects.first:
                stream.write(f"  rejected {msg}\n")
            if rejects.count > len(rejects.first):
                stream.write(f"  ... and {rejects.count - len(rejects.first)} more")
                stream.write(" (see --rejects)\n" if rejects.path else " (use --rejects FILE to keep them)\n")
        stream.flush()

"""Plain text lines: each line (or each multi-line record) becomes a log record.

A line is matched against the layouts of ``layouts.py`` (the user's first, then the built-in
ones; the layout the previous line matched is tried first, since a file keeps one layout): the
stamp becomes ``ts``, the level ``severity``, and host, program, pid, thread and logger land in
their envelope places, the message in ``body``. A line that starts with an RFC 3339-like stamp
and no more specific layout keeps the whole line as its body, as before. A line no layout reads
keeps the time of reading, marked ``_ingest.ts: "read"``.

Multi-line records (``--multiline``): ``indent`` joins a line that starts with white space (a
Java stack frame, a Python traceback's lines) or ``Caused by:`` / ``... N more`` to the record
before it; ``auto`` (the default) also joins any line without a stamp of its own once the input
has shown stamped lines (a Python traceback's last line, an exception's first line, apt's
``Commandline:`` after ``Start-Date:``); ``off`` (the default, which keeps one record per line,
streams each record as its line is read and lets big files be decoded in parallel) makes every
line a record. A record stops
growing at :data:`MAX_RECORD_LINES` lines or :data:`MAX_RECORD_BYTES` bytes: the next line then
starts a record of its own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, tzinfo
from typing import Any

from ben_cli.ingest.envelope import DEFAULT_NAME, Normaliser
from ben_cli.ingest.format import (
    READ_TS,
    DecodeError,
    DecodeOptions,
    DecoderMark,
    Format,
    decode_text,
    register_format,
)
from ben_cli.ingest.layouts import (
    BUILTIN,
    ENVELOPE_GROUPS,
    STAMP_GROUPS,
    Layout,
    StampError,
    parse_with_formats,
    stamp_ns,
)
from ben_cli.record import TimestampError, format_ts, normalise_severity, normalise_ts

MAX_RECORD_LINES = 500
MAX_RECORD_BYTES = 256 << 10
_CONTINUED = re.compile(r"[ \t]|Caused by:|\.\.\. \d+ (?:more|common frames omitted)")
# level words of layouts that the envelope's table does not know (PostgreSQL's)
_MORE_LEVELS = {"LOG": "info", "STATEMENT": "info", "DETAIL": "info", "HINT": "info", "CONTEXT": "info"}
# Every built-in layout but Hadoop's has a colon within a line's first 120 characters (its time,
# or a level word's), and Hadoop's starts with six digits: two checks in C tell most plain
# lines from candidates, so they pay no call per layout.
_INT_ATTRS = frozenset(("pid", "tid", "status", "bytes", "port", "connection", "source_line"))
_INT64_MAX = (1 << 63) - 1


def _number(value: str) -> int | str:
    """A run of digits as a number when JSON writers and ClickHouse hold it (a signed 64-bit
    integer); a longer one stays text, rather than a record no later stage can write."""
    if value.isdigit():
        n = int(value)
        if n <= _INT64_MAX:
            return n
    return value


def _severity_of_status(status: int) -> str:
    return "error" if status >= 500 else "warn" if status >= 400 else "info"


class LinesDecoder:
    def __init__(self, options: DecodeOptions):
        self.options = options
        self._normaliser = Normaliser(options)
        self._zone: tzinfo = options.tz or UTC
        self._layouts: tuple[Layout, ...] = (*options.layouts, *BUILTIN)
        self._user = options.layouts
        self._last: Layout | None = None
        self.reader: Any = None  # set by the core: the number of a held record's first line
        self._multiline = options.multiline
        self._held: dict | None = None
        self._held_lines = 0
        self._held_bytes = 0
        self._stamped = False  # a line of this input had a stamp: lines without one continue records

    def _match(self, text: str) -> tuple[Layout, re.Match] | None:
        last = self._last
        if last is not None:
            m = last.pattern.match(text)
            if m is not None:
                return last, m
        layouts = self._layouts if ":" in text[:120] or text[:6].isdigit() else self._user
        for layout in layouts:
            if layout is last:
                continue
            m = layout.pattern.match(text)
            if m is not None:
                self._last = layout
                return layout, m
        return None

    def _record(self, text: str) -> tuple[dict, bool]:
        """The record of one line, and whether the line had a stamp."""
        rec: dict = {"ts": "", "lane": self.options.lane}
        if self.options.source is not None:
            rec["source"] = self.options.source
        rec["name"] = DEFAULT_NAME
        found = self._match(text)
        ns: int | None = None
        if found is not None:
            layout, m = found
            g = m.groupdict()
            try:
                ns = self._time(layout, g)
            except (StampError, TimestampError):
                ns = None
            if layout.name == "iso":
                if g.get("level"):
                    severity = normalise_severity(g["level"])
                    if severity:
                        rec["severity"] = severity
                rec["body"] = text
            else:
                self._fill(rec, layout, g, text)
        else:
            rec["body"] = text
        if ns is None:
            rec["ts"] = self._normaliser.now()
            rec["_ingest"] = READ_TS
            return rec, False
        try:
            rec["ts"] = format_ts(ns)
        except TimestampError as exc:
            raise DecodeError(str(exc)) from None
        return rec, True

    def _time(self, layout: Layout, g: dict) -> int | None:
        ts = g.get("ts")
        if ts is not None:
            formats = layout.ts_formats or self.options.ts_formats
            if formats:
                return parse_with_formats(ts, formats, self._zone)
            return _ns(normalise_ts(ts, default_offset_s=self.options.tz_offset_s))
        return stamp_ns(g, self._zone, self.options.clock)

    def _fill(self, rec: dict, layout: Layout, g: dict, text: str) -> None:
        attrs: dict = {"layout": layout.name}
        for key, value in g.items():
            if value is None or key in STAMP_GROUPS or key in ENVELOPE_GROUPS or value == "-":
                continue
            attrs[key] = _number(value) if key in _INT_ATTRS else value
        if layout.kind == "access":
            status = int(g["status"])
            rec["name"] = "http.access"
            rec["severity"] = _severity_of_status(status)
            attrs["status"] = status
            if g.get("request_time"):
                rec["value"] = float(g["request_time"])
                rec["unit"] = "s"
            rec["body"] = g.get("request") or text
            if attrs.get("bytes") is None and g.get("bytes") == "-":
                attrs["bytes"] = 0
        else:
            level = g.get("level")
            if level:
                severity = normalise_severity(level) or _MORE_LEVELS.get(level)
                if severity:
                    rec["severity"] = severity
                else:
                    attrs["level"] = level
            for key in ("pid", "tid"):
                if g.get(key):
                    attrs[key] = _number(g[key])
            for key in ("thread", "logger"):
                if g.get(key):
                    attrs[key] = g[key].strip()
            rec["body"] = g.get("msg") if g.get("msg") is not None else text
        source = g.get("host") or g.get("source")
        if source:
            rec["source"] = source
        name = g.get("program") or g.get("name")
        if name:
            rec["name"] = name.strip()
        rec["attrs"] = attrs

    def decode(self, data: bytes) -> dict | None:
        text = decode_text(data)
        if self._multiline == "off":
            return self._record(text)[0]
        held = self._held
        if held is not None and self._continues(text):
            if self._held_lines < MAX_RECORD_LINES and self._held_bytes + len(data) <= MAX_RECORD_BYTES:
                held["body"] += "\n" + text
                self._held_lines += 1
                self._held_bytes += len(data) + 1
                return None
        rec, stamped = self._record(text)
        self._stamped = self._stamped or stamped
        out = self._release()
        self._held = rec
        self._held_lines, self._held_bytes = 1, len(data)
        mark = rec.get("_ingest")
        rec["_ingest"] = DecoderMark(mark or {}, line=self.reader.lineno if self.reader is not None else 0)
        return out

    def _continues(self, text: str) -> bool:
        if _CONTINUED.match(text):
            return True
        if self._multiline != "auto" or not self._stamped:
            return False
        found = self._match(text)
        return found is None or not _has_stamp(found[1])

    def _release(self) -> dict | None:
        held = self._held
        self._held = None
        return held

    def end(self) -> list[dict]:
        held = self._release()
        return [] if held is None else [held]


def _has_stamp(m: re.Match) -> bool:
    g = m.groupdict()
    return g.get("H") is not None or g.get("ts") is not None


def _ns(ts: str) -> int:
    from ben_cli.record import to_ns

    return to_ns(ts)


_SNIFF_SKIP = frozenset(("iso", "python-default"))


def sniff(sample: Sequence[bytes]) -> float:
    """Anything is lines: the weakest claim, so every other format wins when it fits; likely (above
    logfmt, below syslog) when most lines that start a record fit one of the specific layouts."""
    starts = [s for s in sample if s.strip() and not s[:1].isspace()]
    if not starts:
        return 0.1
    hits = 0
    for line in starts:
        text = line.decode("utf-8", errors="replace")
        if any(layout.pattern.match(text) for layout in BUILTIN if layout.name not in _SNIFF_SKIP):
            hits += 1
    return 0.84 if 2 * hits >= len(starts) else 0.1


LINES = register_format(Format("lines", "plain text, one log record per line (or per multi-line record)",
                               LinesDecoder, sniff, stateless=True))

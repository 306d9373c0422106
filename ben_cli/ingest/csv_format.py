"""CSV and TSV with a header line: one record per row, columns by their header names.

Cells written as canonical numbers (``12``, ``-3.5``, ``1e3``) or ``true``/``false`` become JSON
numbers and booleans, as in logfmt; empty cells are left out. ``--ts-field``, ``--value-field``
and ``--name-field`` name the columns that hold the time, the measured value and the record's
name; without them the usual aliases apply (a ``timestamp`` column is the time, ``host`` the
source ...), and the other columns go into ``attrs``. A quoted cell may span lines: the record is
marked with the line it ends on. A quote that is never closed (the input ends, the cell runs past
``MAX_PENDING_LINES`` lines or the csv module's cell limit, or a later line breaks the row) costs
only the line that opened it: that line is rejected and the lines after it are read again as rows.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from typing import NoReturn

from ben_cli.ingest.envelope import Normaliser
from ben_cli.ingest.format import DecodeError, DecodeOptions, Format, Resync, decode_text, register_format
from ben_cli.ingest.logfmt import typed

MAX_PENDING_LINES = 1000  # a quoted cell may span lines, but not the whole file
_FIELD_LIMIT = csv.field_size_limit()  # the csv module rejects longer cells


class CsvDecoder:
    delimiter = ","

    def __init__(self, options: DecodeOptions):
        self.options = options
        self._normalise = Normaliser(options).normalise
        self.header: list[str] | None = None
        self._pending: list[str] = []  # the lines of a quoted cell still open, as text
        self._held: list[bytes] = []  # the same lines as read, for rejects and a new start
        self._rename: dict[str, str] = {}
        self._columns: tuple[str, ...] = ()  # the header's names after --ts-field and friends
        self._ts_column = False  # a column was chosen as the time: an empty cell there is an error
        self._bad_header: str | None = None  # rows cannot be read without a usable header

    def _cells(self, text: str, data: bytes) -> list[str] | None:
        """The cells of a row, or None while a quoted cell is still open at the end of the line.

        A line without quotes or carriage returns, and no longer than a cell may be, is split on
        the delimiter: that is all the csv module would do with it (a property test checks).
        """
        if not self._pending and text and '"' not in text and "\r" not in text and len(text) <= _FIELD_LIMIT:
            return text.split(self.delimiter)
        self._pending.append(text)
        self._held.append(data)
        text = "\n".join(self._pending)
        try:
            row = next(csv.reader((text,), delimiter=self.delimiter, strict=True))
        except csv.Error as exc:
            if "unexpected end of data" in str(exc) or "newline inside string" in str(exc):
                if len(self._pending) > MAX_PENDING_LINES:
                    self._give_up(f"quoted cell still open after {MAX_PENDING_LINES} lines")
                return None
            self._give_up(f"bad {self.delimiter == ',' and 'CSV' or 'TSV'} row: {exc}")
        except StopIteration:
            row = []
        self._pending = []
        self._held = []
        return row

    def _give_up(self, reason: str) -> NoReturn:
        """The held lines form no row: reject the one that opened it, read the others again."""
        held = self._held
        self._pending = []
        self._held = []
        if len(held) == 1:
            raise DecodeError(reason)
        raise Resync(f"{reason} (opened on this line)", held)

    def decode(self, data: bytes) -> dict | None:
        text = decode_text(data, "utf-8-sig" if self.header is None else "utf-8")
        if self._bad_header is not None:
            raise DecodeError(f"row not read: {self._bad_header}")
        cells = self._cells(text, data)
        if cells is None:
            return None
        if self.header is None:
            try:
                self._set_header(cells)
            except DecodeError as exc:
                self._bad_header = f"the header line was unusable ({exc})"
                raise
            return None
        if len(cells) != len(self.header):
            raise DecodeError(f"row has {len(cells)} cells, the header names {len(self.header)}")
        obj = {key: typed(cell) for key, cell in zip(self._columns, cells, strict=True) if cell != ""}
        if self._ts_column and "ts" not in obj:
            raise DecodeError(f"empty time in column {self.options.ts_field!r}")
        return self._normalise(obj)

    def _set_header(self, cells: list[str]) -> None:
        names = [c.strip() for c in cells]
        if not names or any(not n for n in names):
            raise DecodeError("header line has an empty column name")
        if len(set(names)) != len(names):
            raise DecodeError("header line names a column twice")
        for field, target in ((self.options.ts_field, "ts"), (self.options.value_field, "value"),
                              (self.options.name_field, "name")):
            if field is None:
                continue
            if field not in names:
                raise DecodeError(f"no column named {field!r} in the header ({', '.join(names)})")
            self._rename[field] = target
        # a column already called ts/value/name that is not the chosen one keeps its own name in attrs
        for n in names:
            if n in ("ts", "value", "name") and n not in self._rename and n in self._rename.values():
                self._rename[n] = f"csv.{n}"
        self.header = names
        self._columns = tuple(self._rename.get(n, n) for n in names)
        self._ts_column = "ts" in self._rename.values()

    def end(self) -> list[dict]:
        if self._pending:
            held = self._held
            self._pending = []
            self._held = []
            raise Resync("input ends inside a quoted cell opened on this line", held)
        return []


class TsvDecoder(CsvDecoder):
    delimiter = "\t"


def block_head(fd: int, size: int) -> tuple[list[bytes], int] | None:
    """The header line and where it ends, when the file has no quote character at all: then no
    cell spans lines, and a row decodes from its own line and the header alone, so blocks may
    start at any line past the header. None when there is a quote anywhere."""
    with open(fd, "rb", closefd=False) as fh:
        fh.seek(0)
        while chunk := fh.read(1 << 20):
            if b'"' in chunk:
                return None
        fh.seek(0)
        end = 0
        for line in fh:  # the header is the first line that is not blank, as decode_lines sees it
            end += len(line)
            if line.strip():
                return [line[:-2] if line.endswith(b"\r\n") else line.removesuffix(b"\n")], end
    return [], size


_IDENT = re.compile(rb'"?[A-Za-z_@][\w .@/-]*"?')


def _sniff(sample: Sequence[bytes], sep: bytes) -> float:
    lines = [s for s in sample[:20] if s.strip()]
    if len(lines) < 2:
        return 0.0
    header = lines[0].split(sep)
    if len(header) < 2 or not all(_IDENT.fullmatch(h.strip()) for h in header):
        return 0.0
    try:
        rows = list(csv.reader((line.decode("utf-8", "replace") for line in lines), delimiter=sep.decode()))
    except csv.Error:
        return 0.0
    if len(rows) > 2:
        rows = rows[:-1]  # the sample may end inside a quoted cell
    return 0.6 if len({len(row) for row in rows}) == 1 else 0.0


CSV = register_format(Format("csv", "comma-separated values with a header line", CsvDecoder,
                             lambda s: _sniff(s, b","), head_lines=1, block_head=block_head))
TSV = register_format(Format("tsv", "tab-separated values with a header line", TsvDecoder,
                             lambda s: _sniff(s, b"\t"), head_lines=1, block_head=block_head))

"""Envelope <-> table row: how every field of a record is stored, and read back the same.

The envelope's fields have columns (``ts``, ``lane``, ``source``, ``name``, ``value``, ``unit``,
``severity``, ``body``, ``attrs``, ``redacted``) and the detector's mark has ``anomaly`` (the whole
object as JSON) plus three derived columns that queries and the anomalies view filter on. Anything
the columns cannot hold *exactly* goes, under its own name, into ``extra`` (a JSON object):
unknown fields, ``sig``/``via``/``_ingest``, a ``value`` that is not a number a Float64 holds
exactly, a ``ts`` that is not in canonical form, ``attrs`` that is not an object. Reading a row
back overlays ``extra`` on the columns, so the record comes back field for field.

attrs values are stored as strings (what queries compare against, as in the OpenTelemetry
exporter's tables); values that were not strings are stored as their JSON text and their keys are
listed in ``attrs_typed`` so that ``42`` comes back as the number 42, not the string "42".

One limit, stated rather than hidden: ``lane``, ``source`` and ``name`` are key columns and never
NULL; a record without one is stored (and read back) with the empty string.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

import orjson

from ben_cli.ndjson import BadRecord
from ben_cli.record import ENVELOPE_FIELDS, NS_PER_S, TimestampError, format_ts, normalise_ts, parse_rfc3339, to_ns

MODERN = "modern"
LEGACY = "legacy"

# The flavour-independent row built for each record: a dict with these keys, in this order.
FIELDS = (
    "ts_ns", "lane", "source", "name", "value", "unit", "severity", "body",
    "attr_keys", "attr_values", "attrs_typed", "anomaly", "is_anomaly", "anomaly_score",
    "anomaly_detector", "redacted", "extra",
)
Row = dict

# Times each flavour's ts column can hold (DateTime is UInt32 seconds; DateTime64(9) is Int64 ns).
TS_RANGE = {
    LEGACY: (0, (2**32 - 1) * NS_PER_S + NS_PER_S - 1),
    MODERN: (-(2**63), 2**63 - 1),
}
_FRACTION_SCALE = {1: 0, 5: 1_000_000, 8: 1_000, 11: 1}  # len("Z"), len(".fffZ") ... -> ns per unit of the digits
_MAX_EXACT_INT = 2**53
_ABSENT = object()


def _exact_float(v: object) -> float | None:
    """The Float64 for a JSON number when it round-trips exactly, else None."""
    t = type(v)
    if t is float:
        return v  # type: ignore[return-value]
    if t is int and -_MAX_EXACT_INT <= v <= _MAX_EXACT_INT:  # type: ignore[operator]
        return float(v)  # type: ignore[arg-type]
    return None


class RowBuilder:
    """Turns records into rows for one table flavour; a record it cannot place raises BadRecord."""

    def __init__(self, flavour: str = LEGACY):
        if flavour not in TS_RANGE:
            raise ValueError(f"unknown schema flavour {flavour!r}")
        self.flavour = flavour
        self.ts_min, self.ts_max = TS_RANGE[flavour]
        self._seconds: dict[str, int] = {}  # "YYYY-MM-DDTHH:MM:SS" -> epoch seconds (hot path)

    def _canonical_ns(self, ts: str) -> int | None:
        """Nanoseconds of a canonical envelope time, or None for any other spelling.

        Streams arrive in time order, so the whole-second prefix repeats from record to record;
        caching it skips the calendar arithmetic, which was the largest cost of a row."""
        tail = ts[19:]
        scale = _FRACTION_SCALE.get(len(tail))
        if scale is None or tail[-1] != "Z":
            return None
        frac = 0
        if scale:
            digits = tail[1:-1]
            if tail[0] != "." or not digits.isdigit() or not digits.isascii():
                return None
            frac = int(digits) * scale
        head = ts[:19]
        secs = self._seconds.get(head)
        if secs is None:
            if normalise_ts(ts) is not ts:
                return None
            secs = parse_rfc3339(head + "Z") // NS_PER_S
            if len(self._seconds) > 4096:
                self._seconds.clear()
            self._seconds[head] = secs
        return secs * NS_PER_S + frac

    def ts_ns(self, rec: dict, lineno: int = 0, file: str = "-") -> int:
        """The record's time in nanoseconds, or BadRecord when the table's ts column cannot hold
        it: the only check a row can fail, so a file target (which stores the line, not the row)
        makes this alone, at a fraction of a row's cost."""
        return self._time(rec, lineno, file)[0]

    def _time(self, rec: dict, lineno: int, file: str) -> tuple[int, bool]:
        """(nanoseconds, whether ``ts`` was spelled canonically), or BadRecord."""
        ts = rec.get("ts")
        try:
            ts_ns = self._canonical_ns(ts) if type(ts) is str else None
            canonical = ts_ns is not None
            if ts_ns is None:
                if ts is None:
                    raise TimestampError("the record has no ts")
                ts_ns = to_ns(ts)
        except TimestampError as exc:
            raise BadRecord(lineno, f"ts: {exc}", orjson.dumps(rec), file) from None
        if not self.ts_min <= ts_ns <= self.ts_max:
            raise BadRecord(lineno, f"ts: {ts!r} is outside what the {self.flavour} table's ts column holds",
                            orjson.dumps(rec), file)
        return ts_ns, canonical

    def row(self, rec: dict, lineno: int = 0, file: str = "-") -> Row:
        extra: dict[str, Any] = {}
        get = rec.get
        ts_ns, canonical = self._time(rec, lineno, file)
        if not canonical:
            extra["ts"] = get("ts")

        # written out field by field rather than in loops: this runs for every record
        lane = get("lane", "")
        if type(lane) is not str:
            extra["lane"], lane = lane, ""
        source = get("source", "")
        if type(source) is not str:
            extra["source"], source = source, ""
        name = get("name", "")
        if type(name) is not str:
            extra["name"], name = name, ""

        value = get("value", _ABSENT)
        if value is _ABSENT:
            value = None
        elif type(value) is not float:
            raw, value = value, _exact_float(value)  # ints come back as floats: equal as numbers
            if value is None:
                extra["value"] = raw

        unit = get("unit")
        if type(unit) is not str and (unit is not None or "unit" in rec):
            extra["unit"], unit = unit, None
        severity = get("severity")
        if type(severity) is not str and (severity is not None or "severity" in rec):
            extra["severity"], severity = severity, None
        body = get("body")
        if type(body) is not str and (body is not None or "body" in rec):
            extra["body"], body = body, None

        keys: list[str] = []
        values: list[str] = []
        typed: list[str] = []
        attrs = get("attrs")
        if type(attrs) is dict and attrs:
            keys = list(attrs)
            for k, v in attrs.items():
                t = type(v)
                if t is str:
                    values.append(v)
                else:  # an int's str() is its JSON text; anything else is spelled by orjson
                    values.append(str(v) if t is int else orjson.dumps(v).decode())
                    typed.append(k)
        elif "attrs" in rec:
            extra["attrs"] = attrs

        anomaly = get("anomaly")
        anomaly_json, is_anomaly, score, detector = "", 0, None, ""
        if "anomaly" in rec:
            anomaly_json = orjson.dumps(anomaly).decode()
            if type(anomaly) is dict:
                is_anomaly = 1 if anomaly.get("is_anomaly") is True else 0
                score = _exact_float(anomaly.get("score"))
                d = anomaly.get("detector")
                detector = d if type(d) is str else ""

        redacted = get("redacted")
        if type(redacted) is list and redacted and all(type(x) is str for x in redacted):
            red = redacted
        else:
            red = []
            if "redacted" in rec:
                extra["redacted"] = redacted

        for key in rec.keys() - _KNOWN:
            extra[key] = rec[key]

        # a dict display with constant keys is one bytecode; the HTTP path serializes it as it is
        return {"ts_ns": ts_ns, "lane": lane, "source": source, "name": name, "value": value, "unit": unit,
                "severity": severity, "body": body, "attr_keys": keys, "attr_values": values, "attrs_typed": typed,
                "anomaly": anomaly_json, "is_anomaly": is_anomaly, "anomaly_score": score, "anomaly_detector": detector,
                "redacted": red, "extra": orjson.dumps(extra).decode() if extra else ""}


# Fields with columns of their own: the envelope's, and the two stage marks queries filter on.
_KNOWN = frozenset((*ENVELOPE_FIELDS, "anomaly", "redacted"))

# The common record's line, compiled: ``_rowjson.c`` writes what ``json_line(RowBuilder.row(rec))``
# writes for a record that needs no judgement and declines (None) every other record, which the
# code above then converts; that code stays the definition (see deepdives/clickhouse-pipeline.md).
try:
    from ben_cli.sink._rowjson import append as _append_line
except ImportError:  # an install without a C compiler: the Python code does all of it
    _append_line = None
COMPILED = _append_line is not None


def insert_columns(flavour: str) -> tuple[str, ...]:
    """The table columns an insert names, in the order :func:`to_columns` produces them."""
    head = ("ts", "ts_ns") if flavour == LEGACY else ("ts",)
    attrs = ("attrs.key", "attrs.value") if flavour == LEGACY else ("attrs",)
    return (*head, "lane", "source", "name", "value", "unit", "severity", "body", *attrs, "attrs_typed",
            "anomaly", "is_anomaly", "anomaly_score", "anomaly_detector", "redacted", "extra",
            "batch_id", "batch_row")


def to_columns(flavour: str, rows: Sequence[Row], batch_id: str, row_numbers: Sequence[int]) -> list[list]:
    """Rows transposed into the column lists of a native columnar insert."""
    cols = [list(map(itemgetter(f), rows)) for f in FIELDS]
    ts = cols[0]
    if flavour == LEGACY:
        head = [[t // NS_PER_S for t in ts], [t % NS_PER_S for t in ts]]
        attrs = [cols[8], cols[9]]
    else:
        head = [ts]
        attrs = [[dict(zip(k, v, strict=True)) for k, v in zip(cols[8], cols[9], strict=True)]]
    return [*head, *cols[1:8], *attrs, *cols[10:], [batch_id] * len(rows), list(row_numbers)]


def json_line(flavour: str, row: Row, batch_id: str, batch_row: int) -> bytes:
    """A row as one line of ``INSERT ... FORMAT JSONEachRow`` (the HTTP path), named and laid out
    as :func:`to_columns` lays out the native insert. The row dict is reused for it (it is built
    for this one line and dropped)."""
    secs, ns = divmod(row.pop("ts_ns"), NS_PER_S)
    keys, values = row.pop("attr_keys"), row.pop("attr_values")
    if flavour == LEGACY:
        row["ts"], row["ts_ns"], row["attrs.key"], row["attrs.value"] = secs, ns, keys, values
    else:  # DateTime64(9) reads seconds since 1970 with nine decimals, or (before 1970) its text form
        row["ts"] = f"{secs}.{ns:09d}" if secs >= 0 else format_ts(secs * NS_PER_S + ns)[:-1].replace("T", " ")
        row["attrs"] = dict(zip(keys, values, strict=True))
    row["batch_id"] = batch_id
    row["batch_row"] = batch_row
    return orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE)


class RowList(list):
    """A batch's rows kept as they are, for a native insert (which transposes them into columns)."""

    def add(self, row: Row, batch_id: str) -> None:
        self.append(row)

    def add_record(self, builder: RowBuilder, rec: dict, batch_id: str, lineno: int = 0, file: str = "-") -> int:
        """Convert a record and add its row; return its ts_ns (a record the table cannot hold raises
        BadRecord and adds nothing)."""
        row = builder.row(rec, lineno, file)
        self.append(row)
        return row["ts_ns"]

    def skip(self) -> None:
        """Keep the place of a line that is not a record the table can hold."""
        self.append(None)


class JsonLines:
    """A batch's rows as one buffer of JSONEachRow lines, ready to post, and where each line ends.

    One buffer rather than a bytes object per row: orjson allocates a large buffer for each
    result and shrinks it, and keeping 100,000 such results alive left the heap so fragmented
    that a batch cost about 8 KB of memory per row; appending each line to a buffer and dropping
    it at once costs the line's length (measured in ``retros/0006-sink.md``)."""

    def __init__(self, flavour: str, first: int = 0):
        self.flavour = flavour
        self.first = first  # the batch's number for the first row (a worker converts a chunk)
        self.legacy = flavour == LEGACY
        self.body = bytearray()
        self.ends = array("Q")

    def __len__(self) -> int:
        return len(self.ends)

    def add(self, row: Row, batch_id: str) -> None:
        self.body += json_line(self.flavour, row, batch_id, self.first + len(self.ends))
        self.ends.append(len(self.body))

    def add_record(self, builder: RowBuilder, rec: dict, batch_id: str, lineno: int = 0, file: str = "-") -> int:
        """Convert a record and add its line; return its ts_ns (a record the table cannot hold raises
        BadRecord and adds nothing). The compiled path writes the common record's line straight from
        the record; it declines anything else, which goes through the builder."""
        if _append_line is not None:
            ts = _append_line(self.body, rec, self.legacy, batch_id, self.first + len(self.ends),
                              builder._seconds, builder._canonical_ns)
            if ts is not None:
                self.ends.append(len(self.body))
                return ts
        row = builder.row(rec, lineno, file)
        ts = row["ts_ns"]
        self.add(row, batch_id)  # which takes the row apart
        return ts

    def skip(self) -> None:
        """Keep the place of a line that is not a record the table can hold (an empty line)."""
        self.ends.append(len(self.body))

    def payload(self, part: Sequence[int]) -> bytes | bytearray:
        """The lines of the rows numbered in ``part``, in that order."""
        if len(part) == len(self.ends):
            return self.body
        view, ends = memoryview(self.body), self.ends
        return b"".join([view[ends[i - 1] if i else 0:ends[i]] for i in part])


def select_list(flavour: str) -> str:
    """Columns to read rows back exactly (ns times as integers, attrs as key and value arrays)."""
    if flavour == LEGACY:
        ts = "toUInt64(toUInt32(ts)) * 1000000000 + ts_ns AS ts_ns"
        attrs = "attrs.key AS attr_keys, attrs.value AS attr_values"
    else:
        ts = "toUnixTimestamp64Nano(ts) AS ts_ns"
        attrs = "mapKeys(attrs) AS attr_keys, mapValues(attrs) AS attr_values"
    return (f"{ts}, lane, source, name, value, unit, severity, body, {attrs}, attrs_typed, anomaly, "
            "redacted, extra")


def record_from_row(row: Sequence[Any]) -> dict:
    """The record a row read with :func:`select_list` stores (the inverse of :meth:`RowBuilder.row`)."""
    ts_ns, lane, source, name, value, unit, severity, body, keys, values, typed, anomaly, redacted, extra = row
    rec: dict[str, Any] = {"ts": format_ts(int(ts_ns)), "lane": lane, "source": source, "name": name}
    if value is not None:
        rec["value"] = value
    for key, v in (("unit", unit), ("severity", severity), ("body", body)):
        if v is not None:
            rec[key] = v
    if keys:
        typed_set = set(typed)
        rec["attrs"] = {k: (orjson.loads(v) if k in typed_set else v) for k, v in zip(keys, values, strict=True)}
    if anomaly:
        rec["anomaly"] = orjson.loads(anomaly)
    if redacted:
        rec["redacted"] = list(redacted)
    if extra:
        rec.update(orjson.loads(extra))
    return rec


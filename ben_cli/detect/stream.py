"""The ``ben detect`` loop: route each record to its series' detector and mark it.

A series is the records that share the ``--by`` fields. Each record carrying a number in the
watched field is scored by its series' detector and passes through with an ``anomaly`` mark;
every other record passes through untouched. The loop is the hot path, so it stays flat: one
dictionary lookup per record for the series, no per-record objects beyond the mark itself, and
timestamps are parsed only when the detector or ``--expire`` needs them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ben_cli import registry
from ben_cli.detect import state as statefile
from ben_cli.detect.base import Config, Detector
from ben_cli.detect.pvalue import squash
from ben_cli.ndjson import DEFAULT_MAX_LINE_BYTES, BadRecord, Writer, display_name, open_input, parse_object
from ben_cli.record import TimestampError, parse_rfc3339
from ben_cli.rejects import Rejects, Summary

NS_PER_S = 1_000_000_000
CHECK_EVERY = 4096  # records between looks at the clock for --checkpoint


@dataclass
class DetectOptions:
    detector: str = "auto"
    params: dict[str, Any] = field(default_factory=dict)
    fields: tuple[str, ...] = ("value",)
    by: tuple[str, ...] = ("source", "name")
    threshold: float = 0.5
    only_anomalies: bool = False
    state: Path | None = None
    checkpoint: float = 60.0  # seconds between state saves in long runs (0: only at the end)
    expire: float | None = None  # seconds; series unseen this long (in data time) are dropped


def getter(path: str) -> Callable[[dict], Any]:
    """A function reading ``path`` from a record; dots walk into objects (``attrs.latency``)."""
    if "." not in path:
        return lambda rec: rec.get(path)
    parts = path.split(".")

    def get(rec: dict) -> Any:
        value: Any = rec.get(path)
        if value is not None:
            return value
        value = rec
        for part in parts:
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value

    return get


def _number(value: Any) -> float | None:
    kind = type(value)
    if kind is float:
        return value
    if kind is int:
        try:
            return float(value)
        except OverflowError:
            return None
    return None


def _label(key: tuple) -> str:
    return "/".join("" if part is None else str(part) for part in key)


class Series:
    """The detectors of every series in a run, and their state file."""

    def __init__(self, options: DetectOptions):
        self.options = options
        self.cls: type[Detector] = registry.detectors.get(options.detector)
        self.cfg = Config(self.cls, options.params)
        if len(options.fields) > 1 and not self.cls.vector:
            raise ValueError(f"{options.detector} watches one field; give --field once (spca watches several)")
        if self.cls.vector and len(options.fields) < 2:
            raise ValueError(f"{options.detector} watches two or more fields: --field a,b,...")
        if self.cls.vector and getattr(self.cfg, "k", 0) >= len(options.fields):
            raise ValueError(f"{options.detector} keeps k={self.cfg.k} components of {len(options.fields)} fields; use fewer")
        self.table: dict[tuple, Detector] = {}
        self.newest: int | None = None
        self.expired = 0
        self.identity = {
            "detector": options.detector,
            "params": self.cfg.values,
            "by": list(options.by),
            "fields": list(options.fields),
        }

    def load(self) -> None:
        path = self.options.state
        if path is None:
            return
        data = statefile.load(path, self.identity)
        if data is None:
            return
        self.newest = data.get("newest")
        restore, cfg = self.cls.restore, self.cfg
        for key, seen, saved in data["series"]:
            det = restore(cfg, saved)
            det.seen = seen
            self.table[tuple(key)] = det

    def expire(self) -> None:
        limit = self.options.expire
        if limit is None or self.newest is None:
            return
        oldest = self.newest - int(limit * NS_PER_S)
        stale = [key for key, det in self.table.items() if det.seen is not None and det.seen < oldest]
        for key in stale:
            del self.table[key]
        self.expired += len(stale)

    def save(self) -> None:
        path = self.options.state
        if path is None:
            return
        self.expire()
        rows = ([list(key), det.seen, det.state()] for key, det in self.table.items())
        statefile.save(path, self.identity, self.newest, rows)


def detect(paths: Sequence[str], writer: Writer, rejects: Rejects, options: DetectOptions | Series) -> Summary:
    """Score every record of ``paths`` and write it to ``writer``; returns the run's counts.

    ``options`` may be a ready :class:`Series` (built first to report bad parameters as such).
    """
    series = options if isinstance(options, Series) else Series(options)
    options = series.options
    summary = Summary("detect")
    if options.state is None:
        _run(series, paths, writer, rejects, summary)
    else:
        with statefile.locked(options.state):
            series.load()
            _run(series, paths, writer, rejects, summary)
            series.save()
    writer.flush()
    summary.written = writer.count
    summary.rejected = rejects.count
    summary.extra["series"] = len(series.table)
    if options.expire is not None:
        summary.extra["expired"] = series.expired
    return summary


def records(paths: Sequence[str], rejects: Rejects, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> Iterator[dict]:
    """The records of NDJSON inputs, bad lines to ``rejects``: ``ndjson.iter_records`` flattened
    into one loop (no per-line objects), because detect spends a microsecond per record in all."""
    loads, decode_error = orjson.loads, orjson.JSONDecodeError
    for path in paths:
        name = display_name(path)
        stream = open_input(path)
        try:
            for lineno, raw in enumerate(stream, 1):
                try:
                    if len(raw) > max_line_bytes:
                        raise BadRecord(lineno, f"line is {len(raw)} bytes, over the {max_line_bytes}-byte limit", raw, name)
                    rec = loads(raw)
                    if type(rec) is dict:
                        yield rec
                        continue
                except decode_error:
                    pass
                except BadRecord as bad:
                    rejects.add(bad)
                    continue
                data = raw.rstrip(b"\r\n")
                if not data.strip():
                    continue  # blank lines are skipped, as everywhere
                try:
                    parse_object(data, lineno, name)  # raises with the reason
                except BadRecord as bad:
                    rejects.add(bad)
        finally:
            if path != "-":
                stream.close()


def _run(series: Series, paths: Sequence[str], writer: Writer, rejects: Rejects, summary: Summary) -> None:
    options, cls, cfg = series.options, series.cls, series.cfg
    table = series.table
    name = options.detector
    alarm = cls.alarm_s(cfg)
    threshold = options.threshold
    only = options.only_anomalies
    change = cls.kind == "change"
    want_time = cfg.uses_time or options.expire is not None or options.state is not None
    by = options.by
    pair = len(by) == 2
    b0, b1 = (by[0], by[1]) if pair else ("", "")

    def keyof(rec: dict) -> tuple:
        return tuple(rec.get(b) for b in by)

    value_of = _value_reader(options.fields, cls.vector)
    write = writer.write
    new = cls
    newest = series.newest or 0
    checkpoint = options.checkpoint if options.state is not None else 0.0
    next_save = time.monotonic() + checkpoint
    read = 0
    last_ts, last_ns = "", None
    plain = None if cls.vector or "." in options.fields[0] else options.fields[0]
    for rec in records(paths, rejects):
        read += 1
        if plain is not None:  # the common case, inlined: one field, read straight
            value = rec.get(plain)
            kind = type(value)
            if kind is not float:
                value = _number(value) if kind is int else None
        else:
            value = value_of(rec)
        if value is None:
            if not only:
                write(rec)
            continue
        key = (rec.get(b0), rec.get(b1)) if pair else keyof(rec)
        det = table.get(key)
        if det is None:
            det = table[key] = new(cfg)
        t = 0.0
        if want_time:
            ts = rec.get("ts")
            if type(ts) is str:
                if ts != last_ts:  # series reporting together share a timestamp: parse it once
                    try:
                        last_ns = parse_rfc3339(ts)
                    except TimestampError:
                        last_ns = None
                    last_ts = ts
                ns = last_ns
                if ns is not None:
                    t = ns / NS_PER_S
                    det.seen = ns
                    if ns > newest:
                        newest = ns
        s, expected = det.score(value, t)
        score = squash(s, alarm)
        hit = score >= threshold
        if only and not hit:
            continue
        mark: dict[str, Any] = {"detector": name, "score": round(score, 6), "is_anomaly": hit}
        if expected is not None:
            mark["expected"] = expected
        try:
            mark["series"] = key[0] + "/" + key[1] if pair else _label(key)
        except TypeError:  # a --by field that is missing or not text
            mark["series"] = _label(key)
        if hit and change:
            mark["kind"] = "change"
        rec["anomaly"] = mark
        write(rec)
        if checkpoint and read % CHECK_EVERY == 0 and time.monotonic() >= next_save:
            series.newest = newest or None
            series.save()
            next_save = time.monotonic() + checkpoint
    series.newest = newest or None
    summary.read += read


def _value_reader(fields: Sequence[str], vector: bool) -> Callable[[dict], Any]:
    """The function that reads the watched number (or numbers) from a record, None if absent."""
    getters = [getter(f) for f in fields]
    if not vector:
        get = getters[0]
        return lambda rec: _number(get(rec))

    def read_vector(rec: dict) -> list[float] | None:
        out = []
        for get in getters:
            v = _number(get(rec))
            if v is None:
                return None
            out.append(v)
        return out

    return read_vector


def iter_series(series: Series) -> Iterator[tuple[str, Detector]]:
    """(label, detector) of every series, for inspection and tests."""
    for key, det in series.table.items():
        yield _label(key), det

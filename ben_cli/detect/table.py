"""The detect stage core: a table of series, each with its own detector, marking every record.

A series is the records that share the ``--by`` fields. Each record carrying a number in the
watched field is scored by its series' detector and passes through with an ``anomaly`` mark;
every other record passes through untouched. :meth:`SeriesTable.feed` is the hot path, so it
stays flat: one dictionary lookup per record for the series, no per-record objects beyond the
mark itself, and timestamps are parsed only when the detector or ``--expire`` needs them.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from typing import Any

import orjson

from ben_cli.atomic import exclusive_lock
from ben_cli.detect import state as statefile
from ben_cli.detect.base import Detector, state_fault
from ben_cli.detect.options import DetectOptions, detector_class
from ben_cli.detect.pvalue import squash
from ben_cli.errors import BadRecord, StateError, UsageError
from ben_cli.record import ENVELOPE_FIELDS, TimestampError, parse_rfc3339
from ben_cli.record import path_getter as getter

NS_PER_S = 1_000_000_000
CHECK_EVERY = 4096  # records between looks at the clock for --checkpoint
# The detectors square differences of values (and sum the squares): past about 1e154 a square
# overflows, so a value beyond this is rejected rather than let into a series' state.
MAX_VALUE = 1e100
TOP_SCORE = 0.9999995  # from here round(score, 6) would give 1.0

Reject = Callable[[str, bytes], None]
"""Where a record the table cannot score goes: ``(reason, raw line)``, as :meth:`ben_cli.ndjson.Reader.reject`."""


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


def out_of_range(value: Any) -> str | None:
    """Why the watched number (or numbers) cannot be scored, None if they can."""
    for v in value if type(value) is list else (value,):
        if not -MAX_VALUE <= v <= MAX_VALUE:
            return f"value {v!r} is beyond +-{MAX_VALUE:g}, where the detectors' arithmetic overflows"
    return None


def unhashable_key(by: Sequence[str], key: tuple) -> str:
    """The reason a record whose ``--by`` fields hold a list or an object is rejected."""
    names = ", ".join(b for b, part in zip(by, key, strict=True) if type(part) in (list, dict))
    return f"--by field {names} holds a list or an object, which cannot name a series"


def _label(key: tuple) -> str:
    return "/".join("" if part is None else str(part) for part in key)


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


class SeriesTable:
    """The detector of every series, and their state file: ``feed`` records, get them marked.

    With ``options.state``, use the table as a context manager: entering locks the state file
    (another run on it raises :class:`~ben_cli.errors.Busy`) and loads it, leaving unlocks it;
    :meth:`save` writes it atomically (``feed`` also saves every ``options.checkpoint`` seconds).
    Records are marked in place: the hot path copies nothing.
    """

    def __init__(self, options: DetectOptions, on_reject: Reject | None = None):
        self.options = options
        self.on_reject = on_reject
        self.cls = detector_class(options.detector)
        try:
            self.cfg = self.cls.configure(options.params)
        except ValueError as exc:
            raise UsageError(f"--param: {options.detector}: {exc}") from None
        vector, fields = self.cls.vector, options.fields
        if options.joint:
            if not vector:
                raise UsageError(f"--joint: {options.detector} watches one number; --joint needs a detector that "
                                 "watches several (spca)")
            if len(fields) > 1:
                raise UsageError("--field: with --joint each record gives one field (its series is a channel)")
        elif len(fields) > 1 and not vector:
            raise UsageError(f"--field: {options.detector} watches one field (spca watches several)")
        elif vector and len(fields) < 2:
            raise UsageError(f"--field: {options.detector} watches two or more fields: --field a,b,... (or --joint)")
        elif vector and getattr(self.cfg, "k", 0) >= len(fields):
            raise UsageError(f"--param: {options.detector} keeps k={getattr(self.cfg, 'k', 0)} components of "
                             f"{len(fields)} fields; use fewer")
        if not options.by:
            raise UsageError("--by: needs at least one field")
        if options.max_series < 1:
            raise UsageError("--max-series: must be at least 1")
        self.table: dict[tuple, Detector[Any]] = {}
        self.newest: int | None = None
        self.expired = 0
        self.reset = 0  # series forgotten because their state was not finite
        self.evicted = 0  # series forgotten to stay within options.max_series
        self.ticks = 0  # records fed so far: a series' ``used`` is the tick it was last fed at
        self.identity: dict[str, Any] = {"detector": options.detector, "params": self.cfg.values(), "by": list(options.by),
                         "fields": list(fields)}
        self._held = ExitStack()
        self.on_save: Callable[[], None] | None = None  # told after every save (positions learned: replay.py)

    # -- state ------------------------------------------------------------------------------
    def load(self) -> None:
        """Lock the state file for this run and read every series' state from it."""
        path = self.options.state
        if path is None:
            return
        self._held.enter_context(exclusive_lock(path, "another ben detect run"))
        data = statefile.load(path, self.identity)
        if data is None:
            return
        self.newest = data.get("newest")
        restore, cfg = self.cls.restore, self.cfg
        probe = self.probe()
        key: Any = ()
        try:
            for key, seen, saved in data["series"]:
                det = restore(cfg, saved)
                if seen is not None and type(seen) is not int:
                    raise ValueError(f"seen {seen!r} is not a timestamp")
                det.seen = seen
                fault = state_fault(probe, det, "state")
                if fault:
                    raise ValueError(fault)
                self.table[tuple(key)] = det
        except (ValueError, TypeError, LookupError) as exc:  # LookupError: KeyError and IndexError
            # the key itself may be what is broken (a number, not the list of the --by values)
            label = _label(tuple(key)) if isinstance(key, list | tuple) else repr(key)
            raise StateError(f"{path}: a series' state cannot be read (series {label!r}: {exc})") from None
        # The file lists the series least recently seen first: they rank before this run's.
        for rank, det in enumerate(self.table.values(), 1 - len(self.table)):
            det.used = rank
        if len(self.table) > self.options.max_series:
            self.evict(len(self.table) - self.options.max_series)

    def evict(self, n: int) -> None:
        """Forget the ``n`` series least recently seen."""
        table = self.table
        for key, _ in heapq.nsmallest(n, table.items(), key=lambda item: item[1].used):
            del table[key]
        self.evicted += n

    def probe(self) -> Detector[Any]:
        """A detector of this run's kind that has learned a few points: what a series' state looks like in use."""
        det = self.cls(self.cfg)
        width = len(self.options.fields)
        for i in range(1, 6):
            if self.cls.vector:
                import numpy as np

                det.score(np.arange(i, i + width, dtype=float) * (1 + i % 2), 60.0 * i)
            else:
                det.score(float(i * (1 + i % 2)), 60.0 * i)
        return det

    def expire(self) -> None:
        """Forget the series unseen for ``options.expire`` seconds before the newest record."""
        limit = self.options.expire
        if limit is None or self.newest is None:
            return
        oldest = self.newest - int(limit * NS_PER_S)
        stale = [key for key, det in self.table.items() if det.seen is not None and det.seen < oldest]
        for key in stale:
            del self.table[key]
        self.expired += len(stale)

    def save(self) -> None:
        """Write every series' state atomically (after expiring the stale ones)."""
        path = self.options.state
        if path is None:
            return
        self.expire()
        probe = self.probe()
        faulty = [key for key, det in self.table.items() if state_fault(probe, det, "state")]
        for key in faulty:  # never written: a series that learned a NaN starts again
            del self.table[key]
        self.reset += len(faulty)
        ordered = sorted(self.table.items(), key=lambda item: item[1].used)  # least recently seen first
        rows = ([list(key), det.seen, det.state()] for key, det in ordered)
        statefile.save(path, self.identity, self.newest, rows)
        if self.on_save is not None:
            self.on_save()

    def close(self) -> None:
        """Unlock the state file."""
        self._held.close()

    def __enter__(self) -> SeriesTable:
        self.load()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the stage --------------------------------------------------------------------------
    def _reject(self, reason: str, rec: dict, count: int) -> None:
        """A record that cannot be scored: to ``on_reject``, or raised without one."""
        raw = orjson.dumps(rec)
        if self.on_reject is None:
            raise BadRecord(count, reason, raw, "record")
        self.on_reject(reason, raw)

    def missing_by(self) -> tuple[list[str], list[str]]:
        """The ``--by`` paths no series has (every record lacked them: a typo, or the wrong path),
        and what is said of those some series lack (their records share one series per value of
        the other fields). The envelope's own fields (``source``, ``name``) are never unknown: a
        record without a source simply has none."""
        keys = list(self.table)
        if not keys:
            return [], []
        nowhere, some = [], []
        for i, path in enumerate(self.options.by):
            if path in ENVELOPE_FIELDS:
                continue
            lacking = sum(1 for key in keys if key[i] is None)
            if lacking == len(keys):
                nowhere.append(path)
            elif lacking:
                some.append(f"--by {path}: {lacking} of {len(keys)} series have no {path} (their records are "
                            f"told apart by the other --by fields only)")
        return nowhere, some

    def flush(self) -> Iterator[dict]:
        """Nothing: every record is marked as it comes."""
        return iter(())

    def feed(self, records: Iterable[dict]) -> Iterator[dict]:
        """Each record, marked when it carries the watched number (only anomalies with
        ``options.only_anomalies``)."""
        options, cls, cfg = self.options, self.cls, self.cfg
        table = self.table
        name = options.detector
        alarm = cfg.alarm_s()
        threshold = options.threshold
        only = options.only_anomalies
        change = cls.kind == "change"
        want_time = cfg.uses_time() or options.expire is not None or options.state is not None
        by = options.by
        pair = len(by) == 2 and "." not in by[0] and "." not in by[1]
        b0, b1 = (by[0], by[1]) if pair else ("", "")
        by_getters = [getter(b) for b in by]

        def keyof(rec: dict) -> tuple:
            return tuple(get(rec) for get in by_getters)

        value_of = _value_reader(options.fields, cls.vector)
        new = cls
        newest = self.newest or 0
        cap = options.max_series
        room = max(1, cap // 100)  # evicting a hundredth at a time keeps the cost per new series flat
        checkpoint = options.checkpoint if options.state is not None else 0.0
        next_save = time.monotonic() + checkpoint
        count = self.ticks
        last_ts, last_ns = "", None
        plain = None if cls.vector or "." in options.fields[0] else options.fields[0]
        # the mark names the field it judged and its value, unless that is the envelope's own "value"
        judged = None if plain == "value" else ",".join(options.fields)
        top, bottom = MAX_VALUE, -MAX_VALUE
        try:
            for rec in records:
                count += 1
                if plain is not None:  # the common case, inlined: one field, read straight
                    value = rec.get(plain)
                    kind = type(value)
                    if kind is not float:
                        value = _number(value) if kind is int else None
                else:
                    value = value_of(rec)
                if value is None:
                    if not only:
                        yield rec
                    continue
                if not bottom <= value <= top if plain is not None else out_of_range(value):
                    self._reject(out_of_range(value) or "", rec, count)
                    continue
                key = (rec.get(b0), rec.get(b1)) if pair else keyof(rec)
                try:
                    det = table.get(key)
                except TypeError:  # a list or an object in a --by field
                    self._reject(unhashable_key(by, key), rec, count)
                    continue
                if det is None:
                    if len(table) >= cap:
                        self.evict(min(room, len(table)))
                    det = table[key] = new(cfg)
                det.used = count
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
                # six decimals, never rounded up to 1: a score lies in [0, 1)
                mark: dict[str, Any] = {"detector": name, "score": round(score, 6) if score < TOP_SCORE else 0.999999,
                                        "is_anomaly": hit}
                if judged is not None:
                    mark["field"] = judged
                    mark["value"] = value
                if expected is not None:
                    mark["expected"] = expected
                try:
                    mark["series"] = key[0] + "/" + key[1] if pair else _label(key)
                except TypeError:  # a --by field that is missing or not text
                    mark["series"] = _label(key)
                if hit and change:
                    mark["kind"] = "change"
                rec["anomaly"] = mark
                yield rec
                if checkpoint and count % CHECK_EVERY == 0 and time.monotonic() >= next_save:
                    self.newest = newest or None
                    self.save()
                    next_save = time.monotonic() + checkpoint
        finally:
            self.newest = newest or None
            self.ticks = count

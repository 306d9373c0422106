"""The ``ben count`` stage core: counts per event-time window and key, emitted when a window closes.

A record is counted in the window ``[k * every, (k + 1) * every)`` holding its ``ts`` (windows are
aligned to the epoch), under the key of its ``--by`` fields. A window closes when the newest
timestamp seen has passed its end by ``--lateness``; it then becomes one record per key, with the
count as ``value``, and a key counted in an earlier window but silent in this one gets a 0 (an
error rate that falls to nothing is news too). A record for a window already closed is late: it
is counted in ``late``, not emitted. At the end of the input the open windows are emitted, unless
``--state`` keeps them (with the keys seen) for the next run, as a cron job needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ben_cli.atomic import exclusive_lock, write_atomic
from ben_cli.count.where import parse_where
from ben_cli.errors import StateError, UsageError
from ben_cli.ndjson import Reader, Writer
from ben_cli.record import NS_PER_S, TimestampError, format_ts, path_getter, to_ns
from ben_cli.rejects import Rejects, Summary

FORMAT = "ben-count-state"
# times a window start can be written as (years 0001 to 9999); a record outside is untimed
FIRST_NS, LAST_NS = -62_135_596_800 * NS_PER_S, 253_402_300_799 * NS_PER_S
MAX_GAP = 10_000  # empty windows emitted (as zeros) between two that had records; a longer gap is skipped


@dataclass(frozen=True)
class CountOptions:
    every: float  # seconds
    by: tuple[str, ...] = ("source", "severity")
    where: tuple[str, ...] = ()
    lateness: float = 0.0  # seconds a window stays open after its end
    state: Path | None = None


def _name(by: Sequence[str], key: tuple) -> str:
    """``count.error`` for ``--by source,severity``: the name carries every key part but the source."""
    parts = [str(v) if v is not None else "-" for b, v in zip(by, key, strict=True) if b != "source"]
    return ".".join(["count", *parts])


@dataclass
class Counter:
    """Counts records per window and key; ``feed`` yields the records of windows as they close."""

    options: CountOptions
    windows: dict[int, dict[tuple, int]] = field(default_factory=dict)
    keys: dict[tuple, None] = field(default_factory=dict)  # every key counted so far, in first-seen order
    newest: int | None = None
    last_closed: int | None = None  # the newest window emitted
    late = 0
    matched = 0
    untimed = 0

    def __post_init__(self) -> None:
        o = self.options
        if not o.every > 0:
            raise UsageError("--every: a window must be longer than 0")
        if o.lateness < 0:
            raise UsageError("--lateness: must not be negative")
        if not o.by:
            raise UsageError("--by: needs at least one field")
        self.every_ns = int(o.every * NS_PER_S)
        self.lateness_ns = int(o.lateness * NS_PER_S)
        self.match = parse_where(o.where)
        self.getters = [path_getter(b) for b in o.by]
        self._held = ExitStack()

    # -- the stage ------------------------------------------------------------------------------
    def feed(self, records: Iterable[dict]) -> Iterator[dict]:
        every, match, getters = self.every_ns, self.match, self.getters
        windows = self.windows
        for rec in records:
            if not match(rec):
                continue
            try:
                ns = to_ns(rec.get("ts"))
            except (TimestampError, ValueError, OverflowError, TypeError):
                self.untimed += 1
                continue
            if not FIRST_NS <= ns <= LAST_NS:
                self.untimed += 1
                continue
            window = ns // every
            if self.last_closed is not None and window <= self.last_closed:
                self.late += 1
                continue
            key = tuple(_hashable(get(rec)) for get in getters)
            counts = windows.get(window)
            if counts is None:
                counts = windows[window] = {}
            counts[key] = counts.get(key, 0) + 1
            self.keys.setdefault(key, None)
            self.matched += 1
            if self.newest is None or ns > self.newest:
                self.newest = ns
                yield from self._close((ns - self.lateness_ns) // every)

    def flush(self) -> Iterator[dict]:
        """The windows still open: emitted, or kept for the next run with ``--state``."""
        if self.options.state is None and self.windows:
            yield from self._close(max(self.windows) + 1)

    def _close(self, before: int) -> Iterator[dict]:
        """Emit every window that ends at or before window ``before`` starts, oldest first; a
        window without records in between is all zeros (up to ``MAX_GAP`` of them)."""
        prev = self.last_closed
        for window in sorted(w for w in self.windows if w < before):
            if prev is not None and window - prev - 1 <= MAX_GAP:
                for silent in range(prev + 1, window):
                    yield from self._window(silent, {})
            yield from self._window(window, self.windows.pop(window))
            prev = self.last_closed = window

    def _window(self, window: int, counts: dict[tuple, int]) -> Iterator[dict]:
        start = format_ts(window * self.every_ns)
        for key in self.keys:
            yield self._record(start, key, counts.get(key, 0))

    def _record(self, ts: str, key: tuple, n: int) -> dict:
        by = self.options.by
        attrs: dict[str, Any] = {b: v for b, v in zip(by, key, strict=True) if b != "source"}
        attrs["window_s"] = self.options.every
        source = key[by.index("source")] if "source" in by else None
        if source is None:  # not counted by source, or records without one (plain log lines)
            source = "ben.count"
        return {"ts": ts, "lane": "diag", "source": source if isinstance(source, str) else str(source),
                "name": _name(by, key), "value": n, "attrs": attrs}

    # -- state ----------------------------------------------------------------------------------
    def identity(self) -> dict:
        o = self.options
        return {"format": FORMAT, "every": o.every, "by": list(o.by), "where": list(o.where)}

    def load(self) -> None:
        path = self.options.state
        if path is None:
            return
        self._held.enter_context(exclusive_lock(path, "another ben count run"))
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return
        try:
            data = orjson.loads(raw)
            for k, want in self.identity().items():
                if data.get(k) != want:
                    raise StateError(f"{path}: written with {k} {data.get(k)!r}, this run uses {want!r}; "
                                     "use another --state file or remove this one")
            self.newest, self.last_closed = data["newest"], data["last_closed"]
            self.keys = {tuple(k): None for k in data["keys"]}
            self.windows = {int(w): {tuple(k): int(n) for k, n in counts} for w, counts in data["windows"]}
        except StateError:
            raise
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StateError(f"{path}: not a count state file ({exc})") from None

    def save(self) -> None:
        path = self.options.state
        if path is None:
            return
        data = {**self.identity(), "newest": self.newest, "last_closed": self.last_closed, "keys": list(self.keys),
                "windows": [[w, [[list(k), n] for k, n in counts.items()]] for w, counts in sorted(self.windows.items())]}
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, orjson.dumps(data, option=orjson.OPT_APPEND_NEWLINE))

    def close(self) -> None:
        self._held.close()


def _hashable(value: Any) -> Any:
    return value if value is None or isinstance(value, (str, int, float, bool)) else orjson.dumps(value).decode()


def run(inputs: Sequence[str], writer: Writer, rejects: Rejects, options: CountOptions) -> Summary:
    """Count the records of ``inputs`` into window records on ``writer``."""
    reader = Reader(inputs, rejects.add)
    counter = Counter(options)
    try:
        counter.load()
        writer.write_all(counter.feed(reader.records()))
        writer.write_all(counter.flush())
        counter.save()
    finally:
        counter.close()
    writer.flush()
    summary = Summary("count", read=reader.read, written=writer.count, rejected=rejects.count)
    summary.extra.update({"counted": counter.matched, "late": counter.late, "untimed": counter.untimed})
    if options.state is not None:
        summary.extra["open"] = len(counter.windows)
    return summary

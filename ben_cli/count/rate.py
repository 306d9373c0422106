"""``ben rate``: counters into per-second rates, with resets handled, before detection.

A counter only rises (a Prometheus ``counter``, the ``_bucket``/``_count``/``_sum`` samples of a
histogram or summary, an OTLP monotonic cumulative ``sum``, or a name matching ``--counter``); as
a line it hides everything a detector should see, and its reset to 0 at a restart looks like a
crash. Each counter sample becomes the rate since the previous sample of its series (same source,
name and labels): ``(v - prev) / dt`` per second. A value below the previous one is a reset (the
process restarted and counted from 0), so the increase is the value itself, as Prometheus's
``rate()`` takes it; the record says ``counter.reset: true``. A series' first sample has no rate
and is held back (counted in ``first``). Every other record passes through untouched.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from ben_cli.ndjson import Reader, Writer
from ben_cli.record import NS_PER_S, TimestampError, to_ns
from ben_cli.rejects import Rejects, Summary

PROM_COUNTING = {"counter"}
PROM_BUCKETED = {"histogram", "gaugehistogram", "summary"}
BUCKET_SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")
META = ("prom.type", "otel.type", "otel.temporality", "otel.monotonic")


@dataclass(frozen=True)
class RateOptions:
    counters: tuple[str, ...] = ()  # name globs taken as counters whatever their type


def is_counter(rec: dict, globs: Sequence[str]) -> bool:
    """Whether a record is a counter sample: by its type in attrs, or by a ``--counter`` glob."""
    name = rec.get("name")
    if isinstance(name, str) and any(fnmatch.fnmatchcase(name, g) for g in globs):
        return True
    attrs = rec.get("attrs")
    if not isinstance(attrs, dict):
        return False
    prom = attrs.get("prom.type")
    if prom in PROM_COUNTING:
        return True
    if prom in PROM_BUCKETED:
        return isinstance(name, str) and name.endswith(BUCKET_SUFFIXES[:3])
    return (attrs.get("otel.type") == "sum" and attrs.get("otel.monotonic") is True
            and attrs.get("otel.temporality") in (None, "cumulative"))


def _key(rec: dict) -> tuple:
    attrs = rec.get("attrs")
    labels = tuple(sorted((k, str(v)) for k, v in attrs.items() if k not in META and not k.startswith("exemplar."))) \
        if isinstance(attrs, dict) else ()
    return (rec.get("source"), rec.get("name"), labels)


@dataclass
class Rater:
    """The stage core: ``feed`` yields each record, counters as rates (a series' first held back)."""

    options: RateOptions = field(default_factory=RateOptions)
    last: dict[tuple, tuple[int, float]] = field(default_factory=dict)
    first = 0
    resets = 0
    rates = 0

    def feed(self, records: Iterable[dict]) -> Iterator[dict]:
        globs = self.options.counters
        last = self.last
        for rec in records:
            raw = rec.get("value")
            if not isinstance(raw, (int, float)) or isinstance(raw, bool) or not is_counter(rec, globs):
                yield rec
                continue
            value = float(raw)
            try:
                ns = to_ns(rec.get("ts"))
            except (TimestampError, ValueError, OverflowError, TypeError):
                yield rec  # no time, no rate: passed on as it came
                continue
            key = _key(rec)
            prev = last.get(key)
            if prev is None or ns <= prev[0]:
                if prev is None:
                    last[key] = (ns, value)
                    self.first += 1
                continue  # a first sample, or one not after the last: no interval to divide by
            last[key] = (ns, value)
            increase = value - prev[1]
            reset = increase < 0
            if reset:
                increase = value
                self.resets += 1
            self.rates += 1
            out = dict(rec)
            out["value"] = increase / ((ns - prev[0]) / NS_PER_S)
            unit = rec.get("unit")
            out["unit"] = f"{unit}/s" if isinstance(unit, str) and unit not in ("", "1") else "1/s"
            attrs = dict(rec["attrs"]) if isinstance(rec.get("attrs"), dict) else {}
            attrs["counter.rate"] = True
            if reset:
                attrs["counter.reset"] = True
            out["attrs"] = attrs
            yield out

    def flush(self) -> Iterator[dict]:
        return iter(())


def run(inputs: Sequence[str], writer: Writer, rejects: Rejects, options: RateOptions) -> Summary:
    """Counters of ``inputs`` as rates on ``writer``; the rest as they came."""
    reader = Reader(inputs, rejects.add)
    rater = Rater(options)
    writer.write_all(rater.feed(reader.records()))
    writer.flush()
    summary = Summary("rate", read=reader.read, written=writer.count, rejected=rejects.count)
    summary.extra.update({"rates": rater.rates, "resets": rater.resets, "first": rater.first})
    return summary

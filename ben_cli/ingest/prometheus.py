"""Prometheus text exposition and OpenMetrics text: one record per sample.

``name{label="v",...} value [timestamp]`` becomes ``{"lane": "diag", "name": name, "value": value,
"attrs": {labels..., "prom.type": type}}``. ``# TYPE`` gives every sample of a family its type,
also the series a histogram or summary is written as (``_bucket`` with its ``le`` label, ``_sum``,
``_count``, ``_created``); ``# UNIT`` (OpenMetrics) fills ``unit``; ``# HELP`` fills ``body``. The
time is the sample's own timestamp when it has one (milliseconds in Prometheus text, seconds in
OpenMetrics: told apart by size) and otherwise the scrape time, one instant for the whole input.
A value that is not a finite number (``NaN``, ``+Inf``) is kept as text in ``attrs.prom.value``,
because the envelope's ``value`` is a finite number. Exemplars (``# {trace_id="..."} 1.0``) are
kept in ``attrs`` under ``exemplar.``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from ben_cli.ingest.envelope import Normaliser
from ben_cli.ingest.format import READ_TS, DecodeError, DecodeOptions, Format, register_format
from ben_cli.record import TimestampError, epoch_to_ns, format_ts

TYPES = ("counter", "gauge", "histogram", "gaugehistogram", "summary", "info", "stateset", "unknown", "untyped")
# series a family is written as, beside the family name itself
SUFFIXES = ("_bucket", "_sum", "_count", "_created", "_total", "_info", "_gsum", "_gcount")

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\\n]|\\.)*)"\s*(,?)\s*')
_VALUE_TS = re.compile(r"\s+(\S+)(?:\s+(\S+))?\s*(?:#\s*(.*))?$")
_COMMENT = re.compile(r"#\s+(HELP|TYPE|UNIT)\s+([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\s(.*))?$")
_ESCAPES = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}
_ESCAPE = re.compile(r"\\[\\\"n]")
_MAX_LABEL_SETS = 10_000
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|[Ii]nf|\+?Inf|NaN)")


def _unescape(value: str) -> str:
    return _ESCAPE.sub(lambda m: _ESCAPES[m[0]], value) if "\\" in value else value


def parse_labels(text: str, pos: int) -> tuple[dict[str, str], int]:
    """Labels from ``{`` at ``pos`` to the matching ``}``; returns them and the position after it."""
    labels: dict[str, str] = {}
    pos += 1
    while True:
        if text.startswith("}", pos):
            return labels, pos + 1
        m = _LABEL.match(text, pos)
        if m is None:
            raise DecodeError(f"bad label at column {pos + 1}")
        labels[m[1]] = _unescape(m[2])
        pos = m.end()
        if not m[3] and not text.startswith("}", pos):
            raise DecodeError(f"expected ',' or '}}' at column {pos + 1}")


def parse_value(text: str) -> float | int:
    if not _NUMBER.fullmatch(text):
        raise DecodeError(f"bad sample value {text[:40]!r}")
    if text.lstrip("+-").isdigit():
        whole = int(text)
        # sample values are float64 in the exposition format: an integer past what a JSON writer
        # holds exactly (64 bits) is the float it stands for, not a crash at write time
        return whole if -(1 << 63) <= whole < (1 << 64) else float(whole)
    return float(text)


class PrometheusDecoder:
    def __init__(self, options: DecodeOptions):
        self.options = options
        self._now = Normaliser(options).now
        self.scrape_ts: str | None = None
        self.types: dict[str, str] = {}
        self.units: dict[str, str] = {}
        self.helps: dict[str, str] = {}
        self._family_of: dict[str, str | None] = {}
        self.ended = False
        # label blocks already read, by their text from "{" to the first "}"; see _labels
        self._label_sets: dict[str, dict[str, str]] = {}
        self._stamp = ("", "")  # the last sample timestamp's text and its envelope time

    def _labels(self, text: str, pos: int) -> tuple[dict[str, str], int]:
        """:func:`parse_labels`, remembering label sets: a scrape repeats every series' labels.

        The key is the text from ``{`` to the first ``}``. A block stored under a key was read
        whole by the parser and ended at that ``}``; the parser reads left to right and never
        looks past a block's closing brace, so the same text at the start of another block reads
        the same way and ends there too.
        """
        end = text.find("}", pos)
        key = text[pos:end + 1] if end >= 0 else ""
        known = self._label_sets.get(key)
        if known is not None:
            return dict(known), end + 1
        labels, after = parse_labels(text, pos)
        if after == end + 1 and len(self._label_sets) < _MAX_LABEL_SETS:
            self._label_sets[key] = dict(labels)
        return labels, after

    def _sample_ts(self, stamp: str) -> str:
        """The envelope time of a sample timestamp; the samples of one scrape share theirs."""
        last = self._stamp
        if stamp == last[0]:
            return last[1]
        try:
            ts = format_ts(epoch_to_ns(float(stamp) if not stamp.lstrip("-").isdigit() else int(stamp)))
        except (ValueError, TimestampError):
            raise DecodeError(f"bad sample timestamp {stamp[:40]!r}") from None
        self._stamp = (stamp, ts)
        return ts

    def family(self, name: str) -> str | None:
        """The family (declared by ``# TYPE``) a sample name belongs to, if any."""
        fam = self._family_of.get(name, "")
        if fam != "":
            return fam
        found = name if name in self.types else None
        if found is None:
            for suffix in SUFFIXES:
                if name.endswith(suffix) and name[: -len(suffix)] in self.types:
                    found = name[: -len(suffix)]
                    break
        self._family_of[name] = found
        return found

    def decode(self, data: bytes) -> dict | None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError(f"invalid UTF-8 at byte {exc.start}") from None
        if text.startswith("#"):
            self._comment(text)
            return None
        if self.ended:
            raise DecodeError("sample after '# EOF'")
        m = _NAME.match(text)
        if m is None:
            raise DecodeError("not a sample: no metric name at the start")
        name = m[0]
        pos = m.end()
        labels: dict = {}
        if text.startswith("{", pos):
            labels, pos = self._labels(text, pos)
        v = _VALUE_TS.match(text, pos)
        if v is None:
            raise DecodeError("not a sample: no value after the name")
        value = parse_value(v[1])
        if v[2] is not None:
            ts = self._sample_ts(v[2])
        else:
            if self.scrape_ts is None:
                self.scrape_ts = self._now()
            ts = self.scrape_ts
        rec: dict = {"ts": ts, "lane": "diag"}
        if self.options.source is not None:
            rec["source"] = self.options.source
        rec["name"] = name
        if type(value) is int or math.isfinite(value):
            rec["value"] = value
        else:
            labels["prom.value"] = v[1]
        fam = self.family(name)
        if fam is not None:
            unit = self.units.get(fam)
            if unit:
                rec["unit"] = unit
            help_text = self.helps.get(fam)
            if help_text:
                rec["body"] = help_text
            labels["prom.type"] = self.types[fam]
        if v[3]:
            self._exemplar(v[3], labels)
        if labels:
            rec["attrs"] = labels
        if v[2] is None:
            rec["_ingest"] = READ_TS
        return rec

    def _exemplar(self, text: str, attrs: dict) -> None:
        if not text.startswith("{"):
            raise DecodeError("bad exemplar: labels must come first")
        labels, pos = parse_labels(text, 0)
        for k, val in labels.items():
            attrs[f"exemplar.{k}"] = val
        rest = text[pos:].split()
        if rest:
            attrs["exemplar.value"] = parse_value(rest[0])
        if len(rest) > 1:
            attrs["exemplar.ts"] = rest[1]

    def _comment(self, text: str) -> None:
        if text.rstrip() == "# EOF":
            self.ended = True
            return None
        m = _COMMENT.match(text)
        if m is None:
            return None  # any other comment is allowed and carries nothing
        kind, family, rest = m[1], m[2], (m[3] or "").strip()
        if kind == "TYPE":
            if rest not in TYPES:
                raise DecodeError(f"unknown metric type {rest!r} for {family}")
            self.types[family] = rest
            self._family_of.clear()
        elif kind == "UNIT":
            self.units[family] = rest
        else:
            self.helps[family] = _unescape(rest)
        return None

    def end(self) -> list[dict]:
        return []


_SAMPLE = re.compile(rb'[a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?\s+[-+]?(?:[\d.]+(?:[eE][+-]?\d+)?|Inf|NaN)(?:\s+-?\d+(?:\.\d+)?)?\s*$')


def sniff(sample: Sequence[bytes]) -> float:
    """Sure with ``# TYPE``/``# HELP`` lines; likely when most lines are ``name{labels} value``."""
    lines = [s for s in sample if s.strip()]
    if not lines:
        return 0.0
    if any(s.startswith((b"# TYPE ", b"# HELP ")) for s in lines):
        return 0.95
    hits = [s for s in lines if _SAMPLE.match(s)]
    # "word 12" is as likely plain text: ask for labels or a metric-like name (with _ or :)
    if not any(b"{" in s or b"_" in s.split(None, 1)[0] or b":" in s.split(None, 1)[0] for s in hits):
        return 0.0
    return 0.7 * len(hits) / len(lines)


PROM = register_format(Format("prom", "Prometheus / OpenMetrics text exposition, one record per sample",
                              PrometheusDecoder, sniff))

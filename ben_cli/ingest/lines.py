"""Plain text lines: each line becomes a log record whose body is the line.

A leading RFC 3339 timestamp and a level word (``ERROR``, ``[warn]``, ``W``) are lifted into
``ts`` and ``severity`` when present, because most plain logs start that way; the body keeps
the whole line so nothing is lost.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ben_cli.ingest.envelope import DEFAULT_NAME, Normaliser
from ben_cli.ingest.format import READ_TS, DecodeOptions, Format, decode_text, register_format
from ben_cli.record import TimestampError, normalise_severity, normalise_ts

_LEADING = re.compile(
    r"(?P<ts>\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?)"
    r"\s+(?:\[?(?P<level>[A-Za-z]{4,8})\]?[\s:])?"
)


class LinesDecoder:
    def __init__(self, options: DecodeOptions):
        self.options = options
        self._normaliser = Normaliser(options)

    def decode(self, data: bytes) -> dict:
        text = decode_text(data)
        rec: dict = {"ts": "", "lane": self.options.lane}
        if self.options.source is not None:
            rec["source"] = self.options.source
        rec["name"] = DEFAULT_NAME
        m = _LEADING.match(text)
        ts = None
        if m:
            try:
                ts = normalise_ts(m["ts"], default_offset_s=self.options.tz_offset_s)
            except TimestampError:
                ts = None
            severity = normalise_severity(m["level"]) if m["level"] else None
            if severity:
                rec["severity"] = severity
        rec["ts"] = ts or self._normaliser.now()
        rec["body"] = text
        if ts is None:
            rec["_ingest"] = READ_TS
        return rec

    def end(self) -> list[dict]:
        return []


def sniff(sample: Sequence[bytes]) -> float:
    """Anything is lines: the weakest claim, so every other format wins when it fits."""
    return 0.1


LINES = register_format(Format("lines", "plain text, one log record per line", LinesDecoder, sniff, stateless=True))

"""journald's JSON export (``journalctl -o json``): one JSON object per entry, journal fields by
their own names.

Field by field (systemd.journal-fields(7), and the JSON format of journal-export):

- ``ts``: ``_SOURCE_REALTIME_TIMESTAMP`` (when the message was made, in µs since the epoch) when
  present, else ``__REALTIME_TIMESTAMP`` (when journald received it); both are decimal strings.
- ``body``: ``MESSAGE``. journald writes a value that is not valid UTF-8 as an array of byte
  values, a field present several times as an array of its values, and ``null`` for a value over
  the size limit (``--all`` lifts it): bytes are decoded (bad bytes replaced), several values are
  joined by newlines, a null message leaves no body.
- ``severity``: ``PRIORITY`` (syslog's 0..7), the facility's name from ``SYSLOG_FACILITY`` into
  ``attrs.facility``.
- ``source``: ``_HOSTNAME``; ``name``: ``SYSLOG_IDENTIFIER``, else ``_COMM``.
- ``attrs.procid``: ``_PID``, else ``SYSLOG_PID``; ``attrs.unit``: ``_SYSTEMD_UNIT``, else
  ``_SYSTEMD_USER_UNIT``; every other field into ``attrs`` under its journal name, except the
  cursor and the monotonic clock, which are the journal's bookkeeping.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from ben_cli.ingest.envelope import DEFAULT_NAME
from ben_cli.ingest.format import READ_TS, DecodeError, DecodeOptions, Format, register_format
from ben_cli.ingest.ndjson_format import load_object
from ben_cli.ingest.syslog import FACILITIES, SEVERITY
from ben_cli.record import TimestampError, format_ts, normalise_ts

_MAPPED = frozenset(("MESSAGE", "PRIORITY", "SYSLOG_FACILITY", "_HOSTNAME", "SYSLOG_IDENTIFIER", "_PID",
                     "_SYSTEMD_UNIT", "__REALTIME_TIMESTAMP", "_SOURCE_REALTIME_TIMESTAMP", "__CURSOR",
                     "__MONOTONIC_TIMESTAMP"))


def field_text(value: object) -> str | None:
    """A journal field's value as text: a string as is, bytes (an array of numbers) decoded, a
    field given several times (an array of values) joined by newlines, null as None."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        if value and all(type(b) is int and 0 <= b <= 255 for b in value):
            return bytes(value).decode("utf-8", errors="replace")
        parts = [field_text(v) for v in value]
        return "\n".join(p for p in parts if p is not None)
    return orjson.dumps(value).decode()


def _micros(value: object, name: str) -> str:
    text = field_text(value)
    if text is None or not text.isdigit():
        raise DecodeError(f"{name} is not a count of microseconds: {str(value)[:40]!r}")
    try:
        return normalise_ts(int(text) * 1000)
    except (TimestampError, ValueError) as exc:
        raise DecodeError(f"bad {name}: {exc}") from None


class JournalDecoder:
    def __init__(self, options: DecodeOptions):
        self.options = options

    def decode(self, data: bytes) -> dict:
        entry = load_object(data)
        rec: dict = {}
        stamp = entry.get("_SOURCE_REALTIME_TIMESTAMP") or entry.get("__REALTIME_TIMESTAMP")
        if stamp is None:
            rec["ts"] = format_ts(self.options.clock())
            rec["_ingest"] = READ_TS  # the core moves its mark to the end
        else:
            name = "_SOURCE_REALTIME_TIMESTAMP" if "_SOURCE_REALTIME_TIMESTAMP" in entry else "__REALTIME_TIMESTAMP"
            rec["ts"] = _micros(stamp, name)
        rec["lane"] = self.options.lane
        host = field_text(entry.get("_HOSTNAME"))
        if host:
            rec["source"] = host
        elif self.options.source is not None:
            rec["source"] = self.options.source
        rec["name"] = field_text(entry.get("SYSLOG_IDENTIFIER")) or field_text(entry.get("_COMM")) or DEFAULT_NAME
        attrs: dict = {}
        priority = field_text(entry.get("PRIORITY"))
        if priority is not None and priority.isdigit() and int(priority) <= 7:
            rec["severity"] = SEVERITY[int(priority)]
        elif priority is not None:
            attrs["PRIORITY"] = priority
        facility = field_text(entry.get("SYSLOG_FACILITY"))
        if facility is not None and facility.isdigit() and int(facility) < len(FACILITIES):
            attrs["facility"] = FACILITIES[int(facility)]
        pid = field_text(entry.get("_PID")) or field_text(entry.get("SYSLOG_PID"))
        if pid:
            attrs["procid"] = pid
        unit = field_text(entry.get("_SYSTEMD_UNIT")) or field_text(entry.get("_SYSTEMD_USER_UNIT"))
        if unit:
            attrs["unit"] = unit
        for key, value in entry.items():
            if key in _MAPPED or value is None:
                continue
            text = field_text(value)
            if text is not None:
                attrs[key] = text
        message = field_text(entry.get("MESSAGE"))
        if message is not None:
            rec["body"] = message
        if attrs:
            rec["attrs"] = attrs
        return rec

    def end(self) -> list[dict]:
        return []


def sniff(sample: Sequence[bytes]) -> float:
    """Sure when the first lines are JSON objects with journald's receive time."""
    lines = [s for s in sample[:5] if s.strip()]
    if not lines:
        return 0.0
    for line in lines:
        if not line.lstrip().startswith(b"{") or b'"__REALTIME_TIMESTAMP"' not in line:
            return 0.0
    return 0.95  # above ndjson, which every journal entry also is


JOURNAL = register_format(Format("journal", "journald's JSON export (journalctl -o json)", JournalDecoder, sniff,
                                 stateless=True))

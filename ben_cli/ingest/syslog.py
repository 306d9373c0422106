"""syslog: RFC 5424 (``<165>1 2026-11-25T10:00:00Z host app 42 ID47 [sd@1 k="v"] msg``) and
RFC 3164, the older BSD form (``<34>Nov 25 10:00:00 host su[42]: msg``), told apart per line.

PRI carries facility and severity (``pri = facility * 8 + severity``): severity maps onto the
envelope's six levels, the facility's name goes into ``attrs.facility``. RFC 5424 structured
data becomes ``attrs`` as ``SD-ID.PARAM`` keys. RFC 3164 stamps carry neither year nor zone: the
zone is ``--tz`` (this machine's zone when not given) and the year is the one that puts the
stamp nearest before the time of reading (a December line read in January is last year's), as
syslog daemons themselves do. Lines a syslog daemon wrote to a file (no PRI) are read too, in
its two file layouts: the BSD stamp (``Mar  2 07:41:19 gw2 sshd[8812]: msg``) and the RFC 3339
stamp that rsyslog and syslog-ng write by default on Debian 12 and Ubuntu
(``2026-12-04T17:30:01.123456+01:00 web-1 CRON[1234]: msg``). A BSD line behind a prefix of a few
columns (an epoch, a date, a node name: ``1131566461 2005.11.09 dn228 Nov  9 12:01:01 dn228 crond: msg``)
keeps the prefix in ``attrs.prefix``; a year or an epoch in the prefix gives the stamp its year.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, tzinfo

from ben_cli.ingest.envelope import DEFAULT_NAME, Normaliser
from ben_cli.ingest.format import READ_TS, DecodeError, DecodeOptions, Format, register_format
from ben_cli.record import NS_PER_S, TimestampError, format_ts, normalise_ts

FACILITIES = ("kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
              "ftp", "ntp", "audit", "alert", "clock", "local0", "local1", "local2", "local3", "local4",
              "local5", "local6", "local7")
# syslog severity 0..7 (emerg, alert, crit, err, warning, notice, info, debug) onto the envelope's
SEVERITY = ("fatal", "fatal", "fatal", "error", "warn", "info", "info", "debug")
MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                                      "Nov", "Dec"), 1)}

_PRI = re.compile(r"<(\d{1,3})>")
_HEADER_5424 = re.compile(r"([1-9]\d{0,2}) (\S+) (\S+) (\S+) (\S+) (\S+) ")
_BSD_STAMP = re.compile(r"([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))? ?")
# the file layout of rsyslog's and syslog-ng's defaults: an RFC 3339 stamp, no PRI
_ISO_STAMP = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?) ")
# a BSD stamp behind a few columns without a colon (an epoch, a date, a node name)
_PREFIXED = re.compile(r"([^:]{1,80}?) ([A-Z][a-z]{2} {1,2}\d{1,2} \d\d:\d\d:\d\d(?:\.\d{1,9})? )")
_PREFIX_EPOCH = re.compile(r"(?<!\d)(\d{9,10})(?:\.\d+)?(?!\d)")
_PREFIX_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)[-./]\d\d[-./]\d\d(?!\d)")
_COMPONENT = re.compile(r"([^()]+)\(([^()]+)\)")
_TAG = re.compile(r"([^\s:\[\]]{1,64})(?:\[([^\]\s]{1,32})\])?:(?: |$)")
_SD_ELEMENT = re.compile(r"\[([^\s=\]\"]{1,32})")
_SD_PARAM = re.compile(r' ([^\s=\]"]{1,32})="((?:[^"\\]|\\.)*)"')
_SD_UNESCAPE = re.compile(r'\\(["\\\]])')
# RFC 5424's PRI and header in one match, the common case; anything else takes the general path
_PRI_5424 = re.compile(r"<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) ")
_PRI_FIELDS = tuple((SEVERITY[pri & 7], FACILITIES[pri >> 3]) for pri in range(192))


def pri_fields(pri: int) -> tuple[str, str]:
    """The envelope severity and the facility name of a PRI value (0..191)."""
    return _PRI_FIELDS[pri]


def parse_structured_data(text: str, pos: int, attrs: dict) -> int:
    """Read RFC 5424 STRUCTURED-DATA at ``pos`` into ``attrs``; returns where the message starts."""
    if text.startswith("-", pos):
        return pos + 1
    if not text.startswith("[", pos):
        raise DecodeError("structured data must be '-' or start with '['")
    while text.startswith("[", pos):
        m = _SD_ELEMENT.match(text, pos)
        if m is None:
            raise DecodeError(f"bad structured-data element at column {pos + 1}")
        sd_id = m[1]
        pos = m.end()
        while True:
            p = _SD_PARAM.match(text, pos)
            if p is None:
                break
            value = p[2]
            attrs[f"{sd_id}.{p[1]}"] = _SD_UNESCAPE.sub(r"\1", value) if "\\" in value else value
            pos = p.end()
        if not text.startswith("]", pos):
            raise DecodeError(f"unterminated structured-data element {sd_id!r}")
        pos += 1
    return pos


class SyslogDecoder:
    def __init__(self, options: DecodeOptions):
        self.options = options
        self._now = Normaliser(options).now
        self._zone: tzinfo = options.tz or datetime.now().astimezone().tzinfo or UTC

    def decode(self, data: bytes) -> dict:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError(f"invalid UTF-8 at byte {exc.start}") from None
        if "\x00" in text:
            raise DecodeError("line contains NUL bytes")
        h = _PRI_5424.match(text)
        if h is not None and (pri_5424 := int(h[1])) <= 191:
            return self._rfc5424(text, pri_5424, h)
        m = _PRI.match(text)
        pri: int | None = None
        pos = 0
        if m is not None:
            pri = int(m[1])
            if pri > 191:
                raise DecodeError(f"PRI {pri} is over 191")
            pos = m.end()
            h = _HEADER_5424.match(text, pos)
            if h is not None and h[1] == "1":
                return self._rfc5424(text, pri, h)
        return self._rfc3164(text, pri, pos)

    def _base(self, pri: int | None, ts: str, host: str | None, app: str | None) -> tuple[dict, dict]:
        rec: dict = {"ts": ts, "lane": self.options.lane}
        if host is not None:
            rec["source"] = host
        elif self.options.source is not None:
            rec["source"] = self.options.source
        rec["name"] = app or DEFAULT_NAME
        attrs: dict = {}
        if pri is not None:
            rec["severity"], attrs["facility"] = pri_fields(pri)
        return rec, attrs

    def _rfc5424(self, text: str, pri: int, h: re.Match) -> dict:
        """An RFC 5424 line whose header fields are groups 2 to 6 of ``h``."""
        stamp, host, app, procid, msgid = h[2], h[3], h[4], h[5], h[6]
        if stamp == "-":
            ts = self._now()
        else:
            try:
                ts = normalise_ts(stamp)
            except TimestampError as exc:
                raise DecodeError(f"bad RFC 5424 timestamp: {exc}") from None
        rec, attrs = self._base(pri, ts, None if host == "-" else host, None if app == "-" else app)
        if stamp == "-":
            rec["_ingest"] = READ_TS  # the core moves its mark to the end
        if app != "-":
            attrs["appname"] = app
        if procid != "-":
            attrs["procid"] = procid
        if msgid != "-":
            attrs["msgid"] = msgid
        pos = parse_structured_data(text, h.end(), attrs)
        if pos < len(text):
            if text[pos] != " ":
                raise DecodeError(f"expected a space before the message at column {pos + 1}")
            msg = text[pos + 1:]
            if msg.startswith("\ufeff"):
                msg = msg[1:]
            rec["body"] = msg
        if attrs:
            rec["attrs"] = attrs
        return rec

    def _rfc3164(self, text: str, pri: int | None, pos: int) -> dict:
        s = _BSD_STAMP.match(text, pos)
        prefix = None
        if s is None:
            iso = _ISO_STAMP.match(text, pos)
            if iso is not None:
                try:
                    ts = normalise_ts(iso[1], default_offset_s=self._offset_at(iso[1]))
                except TimestampError as exc:
                    raise DecodeError(f"bad RFC 3339 timestamp: {exc}") from None
                return self._after_stamp(text, pri, iso.end(), ts, None)
            if pri is None and (p := _PREFIXED.match(text, pos)) is not None:
                prefix = p[1]
                s = _BSD_STAMP.match(text, p.start(2))
        if s is None:
            if pri is None:
                raise DecodeError("not syslog: no <PRI> and no 'Mmm dd hh:mm:ss' or RFC 3339 stamp")
            # RFC 3164 section 4.3.2: a relay receiving no valid stamp uses its own time
            rec, attrs = self._base(pri, self._now(), None, None)
            rec["body"] = text[pos:]
            rec["attrs"] = attrs
            rec["_ingest"] = READ_TS
            return rec
        ts = self._bsd_time(s, None if prefix is None else _prefix_clock(prefix))
        return self._after_stamp(text, pri, s.end(), ts, prefix)

    def _offset_at(self, stamp: str) -> int:
        """The offset of ``--tz`` at a zone-less RFC 3339 stamp (none needed when it has one)."""
        if stamp[-1] == "Z" or stamp[-3] == ":" and stamp[-6] in "+-" or stamp[-5] in "+-":
            return 0
        try:
            local = datetime.fromisoformat(stamp).replace(tzinfo=self._zone)
        except ValueError:
            return 0
        offset = local.utcoffset()
        return int(offset.total_seconds()) if offset is not None else 0

    def _after_stamp(self, text: str, pri: int | None, pos: int, ts: str, prefix: str | None) -> dict:
        """The host, tag, pid and message that follow a stamp at ``pos``."""
        host = None
        rest = text[pos:]
        t = _TAG.match(rest)
        if t is None:  # "host tag: msg" (a bare "tag: msg" names no host)
            first, sep, after = rest.partition(" ")
            if sep:
                host, rest = first, after
                t = _TAG.match(rest)
        app = procid = component = program = None
        if t is not None:
            app, procid, rest = t[1], t[2], rest[t.end():]
            program = app
            c = _COMPONENT.fullmatch(app)
            if c is not None:  # sshd(pam_unix): the program, and the part of it that speaks
                program, component = c[1], c[2]
        rec, attrs = self._base(pri, ts, host, program)
        if app is not None:
            attrs["appname"] = app
        if component is not None:
            attrs["component"] = component
        if procid is not None:
            attrs["procid"] = procid
        if prefix is not None:
            attrs["prefix"] = prefix
        rec["body"] = rest
        if attrs:
            rec["attrs"] = attrs
        return rec

    def _bsd_time(self, s: re.Match, clock_ns: int | None = None) -> str:
        month = MONTHS.get(s[1])
        if month is None:
            raise DecodeError(f"unknown month {s[1]!r}")
        day, hour, minute, second = int(s[2]), int(s[3]), int(s[4]), int(s[5])
        nanos = int(s[6].ljust(9, "0")) if s[6] else 0
        now_ns = self.options.clock() if clock_ns is None else clock_ns
        now = datetime.fromtimestamp(now_ns / NS_PER_S, self._zone)
        # the year that puts the stamp nearest before now, allowing a day of clock skew ahead
        for year in (now.year + 1, now.year, now.year - 1):
            try:
                local = datetime(year, month, day, hour, minute, min(second, 59), tzinfo=self._zone)
            except ValueError:
                continue  # 29 February of a year that has none
            if local <= now + timedelta(days=1):
                break
        else:
            raise DecodeError(f"no such date: {s[1]} {day}")
        utc = local.astimezone(UTC)
        secs = int((utc - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds())
        return format_ts(secs * NS_PER_S + nanos)

    def end(self) -> list[dict]:
        return []


def _prefix_clock(prefix: str) -> int | None:
    """A time just after the event, from an epoch or a dated column in the prefix (so a BSD
    stamp gets the year it was written in), or None to use the time of reading."""
    m = _PREFIX_EPOCH.search(prefix)
    if m is not None:
        return (int(m[1]) + 86400) * NS_PER_S
    m = _PREFIX_YEAR.search(prefix)
    if m is not None:
        return int(datetime(int(m[1]), 12, 31, 23, tzinfo=UTC).timestamp()) * NS_PER_S
    return None


_SNIFF_5424 = re.compile(rb"<\d{1,3}>1 \S+ \S+ \S+ \S+ \S+ [\[-]")
_SNIFF_PRI = re.compile(rb"<\d{1,3}>")
_SNIFF_BSD = re.compile(rb"(?:<\d{1,3}>)?[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)? \S+ ")
_SNIFF_ISO = re.compile(rb"(?:<\d{1,3}>)?\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)? \S+ ")
_SNIFF_PREFIXED = re.compile(rb"[^:]{1,80}? [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ ")
# what follows the host: a tag, its pid optional, and a colon (``sshd(pam_unix)[8812]: ``)
_SNIFF_TAG = re.compile(rb"[^\s:\[\]]{1,64}(?:\[\d+\])?: ")
# a level word where a host would be is an application's log, not syslog
_LEVEL_WORDS = frozenset(w.encode() for w in (
    "TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "WARNING", "ERROR", "FATAL", "CRITICAL", "SEVERE", "trace", "debug",
    "info", "warn", "warning", "error", "fatal", "[INFO]", "[WARN]", "[ERROR]", "[DEBUG]", "-"))


def _sniff_line(line: bytes) -> tuple[float, bool]:
    """How sure one line is syslog, and whether it names a tag after its host."""
    if _SNIFF_5424.match(line):
        return 0.95, True
    for pattern, sure in ((_SNIFF_BSD, 0.85), (_SNIFF_ISO, 0.85), (_SNIFF_PREFIXED, 0.7)):
        m = pattern.match(line)
        if m is None:
            continue
        host = line[m.start():m.end() - 1].rsplit(b" ", 1)[-1]
        if host in _LEVEL_WORDS or b"=" in host:
            return 0.0, False
        tagged = _SNIFF_TAG.match(line, m.end()) is not None
        if line.startswith(b"<"):
            return 0.9, True
        return sure, tagged
    if _SNIFF_PRI.match(line):
        return 0.5, True
    return 0.0, False


def sniff(sample: Sequence[bytes]) -> float:
    """Sure for RFC 5424 headers; likely for lines that start with a BSD or RFC 3339 stamp and a
    host (behind a prefix, less so), when at least one of them names a ``tag[pid]:`` after the
    host (a stamp alone starts many logs that are not syslog)."""
    lines = [s for s in sample if s.strip()]
    if not lines:
        return 0.0
    scores = [_sniff_line(line) for line in lines]
    if not any(tagged for _, tagged in scores):
        return 0.0
    return sum(score for score, _ in scores) / len(lines)


SYSLOG = register_format(Format("syslog", "syslog lines, RFC 5424 or RFC 3164 (BSD), told apart per line",
                                SyslogDecoder, sniff, stateless=True))

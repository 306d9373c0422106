"""The line layouts the ``lines`` format recognises: web server access and error logs, Java,
Python and Go logging, klog, Hadoop, and whatever a user describes (``--pattern``, ``--layouts``).

A layout is one anchored regular expression with named groups. The stamp's parts are the groups
``Y`` (year), ``y`` (two-digit year), ``m`` (month number), ``b`` (month name), ``d``, ``H``,
``M``, ``S``, ``f`` (fraction, any length), ``z`` (a zone: ``Z``, ``+01:00``, ``-0700``); a stamp
without a year takes the one that puts it nearest before the time of reading, and without a date
(``17:30:01.123``) the date of reading. The envelope's parts are ``level``, ``host`` (the source),
``program`` (the name), ``pid``, ``tid``, ``thread``, ``logger`` and ``msg`` (the body); any other
group goes into ``attrs`` by its name. A user's pattern may also name ``ts`` (read with
``--ts-format``, or as RFC 3339), ``source`` and ``name``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache

from ben_cli.record import NS_PER_S, days_from_civil

MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                                      "dec"), 1)}
# groups that are the envelope's, not attrs
STAMP_GROUPS = frozenset("YymbdHMSfz")
ENVELOPE_GROUPS = frozenset(("level", "host", "program", "pid", "tid", "thread", "logger", "msg", "ts", "source",
                             "name", "status", "request_time"))

_MON = r"(?P<b>[A-Z][a-z]{2})"
_HMS = r"(?P<H>\d\d):(?P<M>\d\d):(?P<S>\d\d)"
_YMD = r"(?P<Y>\d{4})-(?P<m>\d\d)-(?P<d>\d\d)"
_LEVEL = r"(?P<level>TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|SEVERE|FATAL|CRITICAL|FINE|FINER|FINEST|CONFIG)"
_REQUEST = (r'"(?P<request>(?P<method>[A-Z]+) (?P<path>\S+)(?: (?P<protocol>[A-Z]+/[\d.]+))?|[^"]*)" '
            r"(?P<status>\d{3}) (?P<bytes>\d+|-)")
_CLF = (r"(?P<client>\S+) (?P<ident>\S+) (?P<user>\S+) \[(?P<d>\d\d)/" + _MON + r"/(?P<Y>\d{4}):" + _HMS
        + r" (?P<z>[+-]\d{4})\] " + _REQUEST
        + r'(?: "(?P<referer>[^"]*)" "(?P<user_agent>[^"]*)")?(?: (?P<request_time>\d+(?:\.\d+)?))?')


@dataclass(frozen=True)
class Layout:
    """One named line layout: an anchored pattern, and what its lines are (``kind``)."""

    name: str
    pattern: re.Pattern
    kind: str = "log"  # "access": an HTTP access log (status, bytes, request time)
    example: str = ""
    ts_formats: tuple[str, ...] = ()  # strptime formats for a ``ts`` group (user layouts)
    groups: frozenset[str] = field(default=frozenset())

    @classmethod
    def of(cls, name: str, pattern: str, kind: str = "log", example: str = "",
           ts_formats: tuple[str, ...] = ()) -> Layout:
        compiled = re.compile(pattern)
        return cls(name, compiled, kind, example, ts_formats, frozenset(compiled.groupindex))


# Most specific first: the first layout whose pattern matches a line reads it.
BUILTIN: tuple[Layout, ...] = (
    Layout.of("apache-vhost-combined", r"(?P<vhost>[^\s:]+):(?P<port>\d+) " + _CLF + "$", "access",
              'www.example.com:80 127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326 '
              '"http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"'),
    Layout.of("access", _CLF + "$", "access",
              '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326'),
    Layout.of("apache-error",
              r"\[(?:[A-Z][a-z]{2}) " + _MON + r" (?P<d>\d\d) " + _HMS + r"(?:\.(?P<f>\d+))? (?P<Y>\d{4})\] "
              r"\[(?:(?P<module>[\w.-]+):)?(?P<level>[a-z]+\d?)\] (?:\[pid (?P<pid>\d+)(?::tid (?P<tid>\d+))?\] )?"
              r"(?:\[client (?P<client>[^\]]+)\] )?(?P<msg>.*)",
              example="[Fri Sep 09 10:42:29.902022 2011] [core:error] [pid 35708:tid 4328636416] "
                      "[client 72.15.99.187] File does not exist: /usr/local/apache2/htdocs/favicon.ico"),
    Layout.of("nginx-error",
              r"(?P<Y>\d{4})/(?P<m>\d\d)/(?P<d>\d\d) " + _HMS + r" \[(?P<level>[a-z]+)\] (?P<pid>\d+)#(?P<tid>\d+): "
              r"(?:\*(?P<connection>\d+) )?(?P<msg>.*)",
              example='2011/06/10 13:30:10 [error] 1234#0: *1 open() "/usr/share/nginx/html/favicon.ico" failed '
                      "(2: No such file or directory), client: 127.0.0.1"),
    Layout.of("klog",
              r"(?P<level>[IWEF])(?P<m>\d\d)(?P<d>\d\d) " + _HMS + r"\.(?P<f>\d+) +(?P<tid>\d+) "
              r"(?P<source_file>[^:\s]+:\d+)\] (?P<msg>.*)",
              example="I1204 17:30:01.123456    1234 server.go:123] Starting server"),
    Layout.of("hadoop",
              r"(?P<y>\d\d)(?P<m>\d\d)(?P<d>\d\d) (?P<H>\d\d)(?P<M>\d\d)(?P<S>\d\d) (?P<pid>\d+) " + _LEVEL
              + r" (?P<logger>[\w.$]+): (?P<msg>.*)",
              example="081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block "
                      "blk_38865049064139660 terminating"),
    Layout.of("zookeeper",
              _YMD + " " + _HMS + r",(?P<f>\d{3}) - " + _LEVEL + r" +\[(?P<thread>.*?)(?::(?P<logger>[\w.$]+)"
              r"@(?P<source_line>\d+))?\] - (?P<msg>.*)",
              example="2026-03-04 09:12:31,518 - INFO  [main:QuorumPeerMain@132] - Starting quorum peer"),
    Layout.of("spring-boot",
              _YMD + r"[T ]" + _HMS + r"[.,](?P<f>\d+)(?P<z>Z|[+-]\d\d:?\d\d)? +" + _LEVEL
              + r" (?P<pid>\d+) --- \[(?P<program>[^\]]*)\] \[ *(?P<thread>[^\]]*)\] (?P<logger>\S+) +: (?P<msg>.*)",
              example="2026-03-04T09:12:31.518+01:00  INFO 4711 --- [myapp] [           main] "
                      "o.s.b.StartupInfoLogger : Starting MyApp"),
    Layout.of("spring-boot-2",
              _YMD + r"[T ]" + _HMS + r"[.,](?P<f>\d+)(?P<z>Z|[+-]\d\d:?\d\d)? +" + _LEVEL
              + r" (?P<pid>\d+) --- \[ *(?P<thread>[^\]]*)\] (?P<logger>\S+) +: (?P<msg>.*)",
              example="2026-03-04 09:12:31.518  INFO 4711 --- [           main] o.s.b.StartupInfoLogger : Starting"),
    Layout.of("log4j-thread-first",
              _YMD + r"[T ]" + _HMS + r"(?:[.,](?P<f>\d+))? \[(?P<thread>[^\]]*)\] " + _LEVEL
              + r" +(?P<logger>[\w.$]+)(?: -|:) (?P<msg>.*)",
              example="2026-03-04 09:12:31,518 [main] INFO  com.example.App - Started"),
    Layout.of("log4j",
              _YMD + r"[T ]" + _HMS + r"(?:[.,](?P<f>\d+))? +" + _LEVEL + r" +\[(?P<thread>[^\]]*)\] "
              r"(?P<logger>[\w.$]+)(?: -|:) (?P<msg>.*)",
              example="2026-03-04 09:12:31,518 INFO  [main] com.example.App - Started"),
    Layout.of("python",
              _YMD + " " + _HMS + r",(?P<f>\d{3}) - (?P<logger>\S+) - " + _LEVEL + r" - (?P<msg>.*)",
              example="2026-03-04 09:12:31,518 - myapp.db - WARNING - slow query"),
    Layout.of("log4j-short-date",
              r"(?P<y>\d\d)/(?P<m>\d\d)/(?P<d>\d\d) " + _HMS + r"(?:[.,](?P<f>\d+))? " + _LEVEL
              + r" +(?P<logger>[\w.$-]+): (?P<msg>.*)",
              example="26/03/04 09:12:31 INFO SparkContext: Running Spark version 3.5.0"),
    Layout.of("logback-time",
              _HMS + r"\.(?P<f>\d{3}) \[(?P<thread>[^\]]*)\] " + _LEVEL + r" +(?P<logger>[\w.$]+) - (?P<msg>.*)",
              example="17:30:01.123 [main] INFO  c.e.App - Started"),
    Layout.of("go",
              r"(?P<Y>\d{4})/(?P<m>\d\d)/(?P<d>\d\d) " + _HMS + r"(?:\.(?P<f>\d+))? "
              r"(?:(?P<source_file>[\w./-]+\.go:\d+): )?(?P<msg>.*)",
              example="2009/11/10 23:00:00 listening on :8080"),
    Layout.of("python-default", _LEVEL + r":(?P<logger>[^:\s]+):(?P<msg>.*)",
              example="WARNING:root:disk almost full"),
    Layout.of("clickhouse",  # the server's own log: thread id, query id (empty outside a query), <Level>, logger
              r"(?P<Y>\d{4})\.(?P<m>\d\d)\.(?P<d>\d\d) " + _HMS + r"(?:\.(?P<f>\d+))? \[ (?P<tid>\d+) \] "
              r"(?:\{(?P<query_id>[^}]+)?\} )?"
              r"<(?P<level>Fatal|Critical|Error|Warning|Notice|Information|Debug|Trace|Test)> "
              r"(?:(?P<logger>[^:]+?): )?(?P<msg>.*)",
              example="2026.12.05 04:41:09.195483 [ 20 ] {650b09b2-248c-43dc-ab0f-5ccc5f61a3c0} <Error> executeQuery: "
                      "Code: 47, e.displayText() = DB::Exception: Unknown identifier: nosuch"),
    Layout.of("program-stamp", r"(?P<program>[\w.-]+) " + _YMD + " " + _HMS + r": (?P<msg>.*)",
              example="update-alternatives 2025-06-24 14:36:53: link group pager updated to point to /usr/bin/less"),
    Layout.of("apt", r"(?:Start-Date|Log started): " + _YMD + " +" + _HMS + r"$",
              example="Start-Date: 2025-06-24  14:36:25"),
    Layout.of("postgres",
              _YMD + " " + _HMS + r"(?:\.(?P<f>\d+))? (?:(?P<z>UTC|GMT)|[A-Z]{2,5}) \[(?P<pid>\d+)\] "
              r"(?:(?P<user>[^@\s]+)@(?P<database>\S+) )?"
              r"(?P<level>LOG|ERROR|FATAL|PANIC|WARNING|NOTICE|INFO|DEBUG\d?|STATEMENT|DETAIL|HINT|CONTEXT):  (?P<msg>.*)",
              example="2026-03-04 09:12:31.518 UTC [1234] LOG:  database system is ready to accept connections"),
    Layout.of("iso",
              _YMD + r"[T ]" + _HMS + r"(?:[.,](?P<f>\d+))?(?P<z>Z|[+-]\d\d:?\d\d)?"
              r"(?:\s+\[?(?P<level>[A-Za-z]{1,8})\]?(?=[\s:]))?",
              example="2026-11-25 10:00:01,123 ERROR payment failed"),
)


@lru_cache(maxsize=4096)
def _offset_s(zone: tzinfo, y: int, m: int, d: int, h: int) -> int:
    try:
        offset = datetime(y, m, d, h, tzinfo=zone).utcoffset()
    except (ValueError, OverflowError):
        return 0
    return int(offset.total_seconds()) if offset is not None else 0


def zone_offset(text: str) -> int:
    """Seconds east of UTC of ``Z``, ``+01:00`` or ``-0700``."""
    if text in ("Z", "z", "UTC", "GMT"):
        return 0
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return sign * (int(digits[:2]) * 3600 + int(digits[2:4]) * 60)


class StampError(ValueError):
    """A stamp whose parts make no date (31 February, month 13)."""


def stamp_ns(g: dict, zone: tzinfo, clock: Callable[[], int]) -> int | None:
    """Nanoseconds since the epoch of the stamp in a match's groups, or None when it has none."""
    hour = g.get("H")
    if hour is None:
        return None
    year_text = g.get("Y")
    if year_text is not None:
        year = int(year_text)
    elif g.get("y") is not None:
        year = 2000 + int(g["y"]) if int(g["y"]) < 70 else 1900 + int(g["y"])
    else:
        year = 0  # inferred below
    if g.get("b") is not None:
        month = MONTHS.get(g["b"].lower(), 0)
    elif g.get("m") is not None:
        month = int(g["m"])
    else:
        month = 0
    day = int(g["d"]) if g.get("d") is not None else 0
    h, mi, s = int(hour), int(g["M"]), int(g["S"])
    if not month:  # a time alone: the date of reading
        now = datetime.fromtimestamp(clock() / NS_PER_S, zone)
        year, month, day = now.year, now.month, now.day
    elif not year:
        year = _year_before(month, day, h, mi, s, zone, clock())
    if not (1 <= month <= 12 and 1 <= day <= 31 and h < 24 and mi < 60 and s <= 60):
        raise StampError(f"no such time: {year:04d}-{month:02d}-{day:02d} {h:02d}:{mi:02d}:{s:02d}")
    try:
        datetime(year, month, day)
    except ValueError:
        raise StampError(f"no such date: {year:04d}-{month:02d}-{day:02d}") from None
    frac = g.get("f")
    nanos = int(frac[:9].ljust(9, "0")) if frac else 0
    z = g.get("z")
    offset = zone_offset(z) if z else _offset_s(zone, year, month, day, h)
    secs = days_from_civil(year, month, day) * 86400 + h * 3600 + mi * 60 + min(s, 59) - offset
    return secs * NS_PER_S + nanos


def _year_before(month: int, day: int, h: int, mi: int, s: int, zone: tzinfo, now_ns: int) -> int:
    """The year that puts a yearless stamp nearest before now (a day of clock skew allowed)."""
    now = datetime.fromtimestamp(now_ns / NS_PER_S, zone)
    for year in (now.year + 1, now.year, now.year - 1):
        try:
            if datetime(year, month, day, h, mi, min(s, 59), tzinfo=zone) <= now + timedelta(days=1):
                return year
        except ValueError:
            continue
    return now.year


def parse_with_formats(text: str, formats: tuple[str, ...], zone: tzinfo) -> int | None:
    """Nanoseconds of ``text`` read with the first strftime format that fits, or None."""
    for fmt in formats:
        try:
            when = datetime.strptime(text, fmt)
        except ValueError:
            continue
        if when.tzinfo is None:
            when = when.replace(tzinfo=zone)
        delta = when.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
        return (delta.days * 86400 + delta.seconds) * NS_PER_S + delta.microseconds * 1000
    return None


def user_layout(name: str, pattern: str, ts_formats: tuple[str, ...] = (), example: str = "") -> Layout:
    """A layout from a user's regular expression (``--pattern``, a ``--layouts`` entry); raises
    ValueError naming what is wrong with it."""
    try:
        layout = Layout.of(name, pattern, example=example, ts_formats=ts_formats)
    except re.error as exc:
        raise ValueError(f"layout {name!r}: bad regular expression: {exc}") from None
    groups = layout.groups
    if "ts" not in groups and "H" not in groups:
        raise ValueError(f"layout {name!r}: the pattern names no time (a group ts, or H, M and S)")
    if "msg" not in groups:
        raise ValueError(f"layout {name!r}: the pattern names no message (a group msg)")
    if example and layout.pattern.match(example) is None:
        raise ValueError(f"layout {name!r}: the pattern does not match its own example")
    return layout


def load_layouts(path: str) -> tuple[Layout, ...]:
    """The layouts of a TOML file: one table per layout under ``[layouts.NAME]``, with
    ``pattern`` (required), ``ts-format`` (a strftime format or a list of them) and ``example``
    (checked against the pattern)."""
    import tomllib

    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
    except OSError as exc:
        raise ValueError(f"{path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not TOML: {exc}") from None
    tables = doc.get("layouts")
    if not isinstance(tables, dict) or not tables:
        raise ValueError(f"{path}: no [layouts.NAME] tables")
    out = []
    for name, table in tables.items():
        if not isinstance(table, dict) or not isinstance(table.get("pattern"), str):
            raise ValueError(f"{path}: layout {name!r} has no pattern string")
        formats = table.get("ts-format", ())
        formats = (formats,) if isinstance(formats, str) else tuple(str(f) for f in formats)
        out.append(user_layout(name, table["pattern"], formats, str(table.get("example", ""))))
    return tuple(out)


def layouts_from_options(patterns: Sequence[str], file: str | None, ts_formats: tuple[str, ...]) -> tuple[Layout, ...]:
    """The user's layouts: each ``--pattern`` (named ``pattern-1``, ...), then a ``--layouts``
    file's; a :class:`~ben_cli.errors.UsageError` says what is wrong with one."""
    from ben_cli.errors import UsageError

    try:
        given = tuple(user_layout(f"pattern-{i}", p, ts_formats) for i, p in enumerate(patterns, 1))
        return given + (load_layouts(file) if file is not None else ())
    except ValueError as exc:
        raise UsageError(str(exc)) from None

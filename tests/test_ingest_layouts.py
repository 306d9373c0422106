"""The line layouts of ``lines`` (issue 15 item 1), each on samples written from its own
documentation, every documented variant: time, level, host/program/pid/thread/logger, message.

Sources: Apache httpd's "Log Files" page (Common, Combined and vhost_combined LogFormat; the
2.2 and 2.4 error log), nginx's ngx_http_log_module ``combined`` and its error log, log4j's
PatternLayout (``%d{ISO8601}``, ``%d{yy/MM/dd HH:mm:ss}`` as Spark and Hadoop use it), logback's
default pattern, Spring Boot's console format (2.x and 3.x), Zookeeper's log4j.properties
(``%d{ISO8601} - %-5p [%t:%C{1}@%L] - %m%n``), Python's logging (``BASIC_FORMAT`` and the
cookbook's ``%(asctime)s - %(name)s - %(levelname)s - %(message)s``), Go's log package flags,
klog's header (``Lmmdd hh:mm:ss.uuuuuu threadid file:line] msg``), HDFS's DataNode log.
"""

from __future__ import annotations

from datetime import UTC

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ben_cli import registry
from ben_cli.errors import UsageError
from ben_cli.ingest import DecodeOptions, Ingester, sniff_format
from ben_cli.ingest.layouts import BUILTIN, layouts_from_options, load_layouts

FIXED = 1_796_400_000_000_000_000  # 2026-12-04T16:00:00Z
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def one(line: str, **opts) -> dict:
    d = registry.formats.get("lines").make_decoder(DecodeOptions(clock=lambda: FIXED, tz=UTC, **opts))
    return d.decode(line.encode())


# line, layout, ts, severity, name, body, attrs that must be there
CASES = [
    # Apache/nginx access: Common Log Format, Combined, vhost_combined, nginx combined + $request_time
    ('127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326',
     "access", "2000-10-10T20:55:36Z", "info", "http.access", "GET /apache_pb.gif HTTP/1.0",
     {"client": "127.0.0.1", "user": "frank", "method": "GET", "path": "/apache_pb.gif", "status": 200, "bytes": 2326}),
    ('127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 '
     '"http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"',
     "access", "2000-10-10T20:55:36Z", "info", "http.access", "GET /apache_pb.gif HTTP/1.0",
     {"referer": "http://www.example.com/start.html", "user_agent": "Mozilla/4.08 [en] (Win98; I ;Nav)"}),
    ('www.example.com:443 203.0.113.7 - - [04/Mar/2026:09:12:31 +0100] "POST /api HTTP/2.0" 503 - "-" "curl/8.5.0"',
     "apache-vhost-combined", "2026-03-04T08:12:31Z", "error", "http.access", "POST /api HTTP/2.0",
     {"vhost": "www.example.com", "port": 443, "status": 503, "bytes": 0, "user_agent": "curl/8.5.0"}),
    ('192.0.2.1 - - [04/Mar/2026:09:12:31 +0000] "GET /missing HTTP/1.1" 404 153 "-" "Mozilla/5.0" 0.012',
     "access", "2026-03-04T09:12:31Z", "warn", "http.access", "GET /missing HTTP/1.1", {"status": 404}),
    ('192.0.2.1 - - [04/Mar/2026:09:12:31 +0000] "\\x16\\x03\\x01" 400 0', "access", "2026-03-04T09:12:31Z", "warn",
     "http.access", "\\x16\\x03\\x01", {"status": 400}),
    # Apache error log: 2.2, and 2.4 with module, pid, tid and an AH code
    ("[Wed Oct 11 14:32:52 2000] [error] [client 127.0.0.1] client denied by server configuration: /export/home/live/ap/htdocs/test",
     "apache-error", "2000-10-11T14:32:52Z", "error", "log",
     "client denied by server configuration: /export/home/live/ap/htdocs/test", {"client": "127.0.0.1"}),
    ("[Fri Sep 09 10:42:29.902022 2011] [core:error] [pid 35708:tid 4328636416] [client 72.15.99.187] "
     "File does not exist: /usr/local/apache2/htdocs/favicon.ico",
     "apache-error", "2011-09-09T10:42:29.902022Z", "error", "log",
     "File does not exist: /usr/local/apache2/htdocs/favicon.ico",
     {"module": "core", "pid": 35708, "tid": 4328636416, "client": "72.15.99.187"}),
    ("[Wed Mar 04 09:12:31 2026] [notice] Apache/2.2.22 (Ubuntu) configured -- resuming normal operations",
     "apache-error", "2026-03-04T09:12:31Z", "info", "log",
     "Apache/2.2.22 (Ubuntu) configured -- resuming normal operations", {}),
    ("[Thu May 12 08:28:57.652118 2011] [mpm_event:notice] [pid 8777:tid 140] AH00489: Apache/2.4.1 configured",
     "apache-error", "2011-05-12T08:28:57.652118Z", "info", "log", "AH00489: Apache/2.4.1 configured",
     {"module": "mpm_event", "pid": 8777}),
    # nginx error log
    ('2011/06/10 13:30:10 [error] 1234#0: *1 open() "/usr/share/nginx/html/favicon.ico" failed (2: No such file or '
     'directory), client: 127.0.0.1, server: localhost, request: "GET /favicon.ico HTTP/1.1", host: "localhost"',
     "nginx-error", "2011-06-10T13:30:10Z", "error", "log",
     'open() "/usr/share/nginx/html/favicon.ico" failed (2: No such file or directory), client: 127.0.0.1, '
     'server: localhost, request: "GET /favicon.ico HTTP/1.1", host: "localhost"',
     {"pid": 1234, "tid": 0, "connection": 1}),
    ("2026/03/04 09:12:31 [emerg] 42#42: bind() to 0.0.0.0:80 failed (98: Address already in use)",
     "nginx-error", "2026-03-04T09:12:31Z", "fatal", "log", "bind() to 0.0.0.0:80 failed (98: Address already in use)",
     {"pid": 42}),
    # klog / glog
    ("I1204 17:30:01.123456    1234 server.go:123] Starting server", "klog", "2026-12-04T17:30:01.123456Z", "info",
     "log", "Starting server", {"tid": 1234, "source_file": "server.go:123"}),
    ("E0102 03:04:05.000006 7 reflector.go:138] Failed to watch", "klog", "2026-01-02T03:04:05.000006Z", "error",
     "log", "Failed to watch", {"tid": 7}),
    # HDFS / Hadoop
    ("081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_38865049064139660 terminating",
     "hadoop", "2008-11-09T20:36:15Z", "info", "log", "PacketResponder 1 for block blk_38865049064139660 terminating",
     {"pid": 148, "logger": "dfs.DataNode$PacketResponder"}),
    ("260304 091231 2231 WARN dfs.DataNode$DataXceiver: writeBlock received exception", "hadoop",
     "2026-03-04T09:12:31Z", "warn", "log", "writeBlock received exception", {"pid": 2231}),
    # Zookeeper
    ("2026-03-04 09:12:31,518 - INFO  [main:QuorumPeerMain@132] - Starting quorum peer", "zookeeper",
     "2026-03-04T09:12:31.518Z", "info", "log", "Starting quorum peer",
     {"thread": "main", "logger": "QuorumPeerMain", "source_line": 132}),
    ("2026-03-04 09:12:31,518 - WARN  [QuorumPeer[myid=1](plain=0.0.0.0:2181)(secure=disabled):Follower@129] - Exception",
     "zookeeper", "2026-03-04T09:12:31.518Z", "warn", "log", "Exception",
     {"thread": "QuorumPeer[myid=1](plain=0.0.0.0:2181)(secure=disabled)", "logger": "Follower"}),
    # log4j / logback / Spring Boot
    ("2026-03-04 09:12:31,518 INFO  [main] org.apache.catalina.startup.Catalina - Server startup in 812 ms", "log4j",
     "2026-03-04T09:12:31.518Z", "info", "log", "Server startup in 812 ms",
     {"thread": "main", "logger": "org.apache.catalina.startup.Catalina"}),
    ("2026-03-04 09:12:31.518 [http-nio-8080-exec-1] ERROR c.e.shop.OrderController - payment failed",
     "log4j-thread-first", "2026-03-04T09:12:31.518Z", "error", "log", "payment failed",
     {"thread": "http-nio-8080-exec-1", "logger": "c.e.shop.OrderController"}),
    ("17:30:01.123 [main] DEBUG c.e.App - Started", "logback-time", "2026-12-04T17:30:01.123Z", "debug", "log",
     "Started", {"thread": "main", "logger": "c.e.App"}),
    ("26/03/04 09:12:31 INFO SparkContext: Running Spark version 3.5.0", "log4j-short-date",
     "2026-03-04T09:12:31Z", "info", "log", "Running Spark version 3.5.0", {"logger": "SparkContext"}),
    ("26/03/04 09:12:31 ERROR executor.Executor: Exception in task 0.0", "log4j-short-date",
     "2026-03-04T09:12:31Z", "error", "log", "Exception in task 0.0", {"logger": "executor.Executor"}),
    ("2026-03-04T09:12:31.518+01:00  INFO 4711 --- [myapp] [           main] o.s.b.StartupInfoLogger : Starting MyApp",
     "spring-boot", "2026-03-04T08:12:31.518Z", "info", "myapp", "Starting MyApp",
     {"pid": 4711, "thread": "main", "logger": "o.s.b.StartupInfoLogger"}),
    ("2026-03-04 09:12:31.518  WARN 4711 --- [           main] o.s.b.StartupInfoLogger : slow", "spring-boot-2",
     "2026-03-04T09:12:31.518Z", "warn", "log", "slow", {"pid": 4711, "thread": "main"}),
    # Python logging
    ("2026-03-04 09:12:31,518 - myapp.db - WARNING - slow query", "python", "2026-03-04T09:12:31.518Z", "warn", "log",
     "slow query", {"logger": "myapp.db"}),
    ("CRITICAL:root:disk gone", "python-default", None, "fatal", "log", "disk gone", {"logger": "root"}),
    # Go's log package: LstdFlags, with Lmicroseconds, with Lshortfile
    ("2009/11/10 23:00:00 listening on :8080", "go", "2009-11-10T23:00:00Z", None, "log", "listening on :8080", {}),
    ("2009/11/10 23:00:00.123456 main.go:42: started", "go", "2009-11-10T23:00:00.123456Z", None, "log", "started",
     {"source_file": "main.go:42"}),
    # ClickHouse server's own log (query id, an empty one outside queries, none in old versions)
    ("2026.12.05 04:41:09.195483 [ 20 ] {650b09b2-248c-43dc-ab0f-5ccc5f61a3c0} <Error> executeQuery: Code: 47, "
     "e.displayText() = DB::Exception: Unknown identifier: nosuch", "clickhouse", "2026-12-05T04:41:09.195483Z",
     "error", "log", "Code: 47, e.displayText() = DB::Exception: Unknown identifier: nosuch",
     {"tid": 20, "query_id": "650b09b2-248c-43dc-ab0f-5ccc5f61a3c0", "logger": "executeQuery"}),
    ("2024.06.11 15:34:19.353093 [ 1 ] {} <Information> Application: Starting ClickHouse 24.6.1.1", "clickhouse",
     "2024-06-11T15:34:19.353093Z", "info", "log", "Starting ClickHouse 24.6.1.1", {"tid": 1, "logger": "Application"}),
    ("2019.01.02 03:04:05.000006 [ 7 ] <Warning> Access(local directory): File /x does not exist", "clickhouse",
     "2019-01-02T03:04:05.000006Z", "warn", "log", "File /x does not exist", {"logger": "Access(local directory)"}),
    ("2024.06.11 15:34:19.353093 [ 1 ] {} <Trace> default.t (MergerMutator): Selected 2 parts", "clickhouse",
     "2024-06-11T15:34:19.353093Z", "trace", "log", "Selected 2 parts", {"logger": "default.t (MergerMutator)"}),
    # Debian's own logs: update-alternatives, apt's history
    ("update-alternatives 2025-06-24 14:36:53: link group pager updated to point to /usr/bin/less", "program-stamp",
     "2025-06-24T14:36:53Z", None, "update-alternatives", "link group pager updated to point to /usr/bin/less", {}),
    ("Start-Date: 2025-06-24  14:36:25", "apt", "2025-06-24T14:36:25Z", None, "log",
     "Start-Date: 2025-06-24  14:36:25", {}),
    ("Log started: 2025-06-24  14:36:25", "apt", "2025-06-24T14:36:25Z", None, "log",
     "Log started: 2025-06-24  14:36:25", {}),
    # PostgreSQL with its default log_line_prefix '%m [%p] ', and with '%m [%p] %q%u@%d '
    ("2026-03-04 09:12:31.518 UTC [1234] LOG:  database system is ready to accept connections", "postgres",
     "2026-03-04T09:12:31.518Z", "info", "log", "database system is ready to accept connections", {"pid": 1234}),
    ('2026-03-04 09:12:31.518 UTC [1240] app@shop ERROR:  relation "orders" does not exist', "postgres",
     "2026-03-04T09:12:31.518Z", "error", "log", 'relation "orders" does not exist',
     {"pid": 1240, "user": "app", "database": "shop"}),
]


@pytest.mark.parametrize("line, layout, ts, severity, name, body, attrs", CASES, ids=[c[1] for c in CASES])
def test_documented_layouts(line, layout, ts, severity, name, body, attrs):
    rec = one(line)
    assert rec["attrs"]["layout"] == layout
    if ts is None:
        assert rec["_ingest"] == {"ts": "read"}
    else:
        assert rec["ts"] == ts and "_ingest" not in rec
    assert rec.get("severity") == severity
    assert rec["name"] == name
    assert rec["body"] == body
    for key, value in attrs.items():
        assert rec["attrs"][key] == value, key


def test_every_builtin_layout_has_a_matching_example():
    for layout in BUILTIN:
        assert layout.example and layout.pattern.match(layout.example), layout.name


def test_the_access_logs_request_time_is_the_value():
    rec = one('192.0.2.1 - - [04/Mar/2026:09:12:31 +0000] "GET / HTTP/1.1" 200 612 "-" "curl/8" 0.250')
    assert rec["value"] == 0.25 and rec["unit"] == "s"


def test_dpkg_local_time_takes_the_zone():
    d = registry.formats.get("lines").make_decoder(DecodeOptions(clock=lambda: FIXED, tz=__import__("zoneinfo").ZoneInfo("Europe/Paris")))
    rec = d.decode(b"2025-06-24 14:36:25 upgrade libsystemd0:amd64 252.36-1~deb12u1 252.38-1~deb12u1")
    assert rec["ts"] == "2025-06-24T12:36:25Z"  # summer time in Paris


@pytest.mark.parametrize("sample, fmt", [
    (b"[Wed Oct 11 14:32:52 2000] [error] [client 127.0.0.1] denied\n", "lines"),
    (b'127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 2326 "-" "a=b c=d"\n', "lines"),
    (b"2026-03-04 09:12:31,518 - INFO  [main:QuorumPeerMain@132] - Starting quorum peer\n", "lines"),
    (b"I1204 17:30:01.123456    1234 server.go:123] Starting server\n", "lines"),
])
def test_layout_lines_are_sniffed_as_lines(sample, fmt):
    assert sniff_format(sample).name == fmt


# --- multi-line records ------------------------------------------------------------------------

JAVA = b"""\
2026-03-04 09:12:31,518 ERROR [main] com.example.App - request failed
java.lang.IllegalStateException: boom
\tat com.example.App.handle(App.java:42)
\tat com.example.App.main(App.java:12)
Caused by: java.io.IOException: disk
\t... 2 more

2026-03-04 09:12:32,001 INFO  [main] com.example.App - recovered
"""

PYTHON = b"""\
2026-03-04 09:12:31,518 - app - ERROR - failed
Traceback (most recent call last):
  File "app.py", line 3, in <module>
    main()
ValueError: bad
2026-03-04 09:12:32,000 - app - INFO - ok
"""


def _run(data: bytes, multiline: str) -> list[dict]:
    core = Ingester("lines", DecodeOptions(clock=lambda: FIXED, tz=UTC, multiline=multiline))
    return [*core.feed(data.splitlines(keepends=True)), *core.flush()]


def test_auto_joins_a_java_stack_trace_to_its_record():
    first, second = _run(JAVA, "auto")
    assert first["body"].splitlines() == ["request failed", "java.lang.IllegalStateException: boom",
                                          "\tat com.example.App.handle(App.java:42)",
                                          "\tat com.example.App.main(App.java:12)",
                                          "Caused by: java.io.IOException: disk", "\t... 2 more"]
    assert first["_ingest"] == {"format": "lines", "line": 1} and second["_ingest"]["line"] == 8
    assert second["body"] == "recovered"


def test_auto_joins_a_python_traceback_with_its_last_line():
    first, second = _run(PYTHON, "auto")
    assert first["body"].endswith("    main()\nValueError: bad") and second["_ingest"]["line"] == 6


def test_indent_joins_only_indented_lines_and_off_none():
    # "Traceback ..." and "ValueError: bad" are not indented: each starts a record
    assert [r["body"].count("\n") for r in _run(PYTHON, "indent")] == [0, 2, 0, 0]
    assert len(_run(PYTHON, "off")) == 6


def test_a_joined_record_is_bounded():
    from ben_cli.ingest.lines import MAX_RECORD_LINES

    data = b"2026-03-04 09:12:31,518 - app - ERROR - x\n" + b"  frame\n" * (MAX_RECORD_LINES + 10)
    out = _run(data, "indent")
    assert [len(r["body"].splitlines()) for r in out] == [MAX_RECORD_LINES, 11]


def test_apt_history_blocks_are_one_record_each():
    data = (b"Start-Date: 2025-06-24  14:36:25\nCommandline: apt-get -qqy upgrade\n"
            b"Upgrade: libsystemd0:amd64 (252.36-1~deb12u1, 252.38-1~deb12u1)\nEnd-Date: 2025-06-24  14:36:25\n\n"
            b"Start-Date: 2025-06-24  14:36:29\nCommandline: apt-get install -qqy curl\nEnd-Date: 2025-06-24  14:37:04\n")
    first, second = _run(data, "auto")
    assert first["ts"] == "2025-06-24T14:36:25Z" and "Commandline: apt-get -qqy upgrade" in first["body"]
    assert second["ts"] == "2025-06-24T14:36:29Z" and second["_ingest"]["line"] == 6


# --- the user's layouts ------------------------------------------------------------------------

def test_pattern_with_ts_format_and_attrs():
    (layout,) = layouts_from_options([r"at (?P<ts>\S+ \S+) \[(?P<level>\w+)\] (?P<user>\w+): (?P<msg>.*)"], None,
                                     ("%d.%m.%Y %H:%M:%S",))
    rec = one("at 04.03.2026 09:12:31 [WARN] alice: disk low", layouts=(layout,), ts_formats=("%d.%m.%Y %H:%M:%S",))
    assert (rec["ts"], rec["severity"], rec["body"], rec["attrs"]["user"]) == \
        ("2026-03-04T09:12:31Z", "warn", "disk low", "alice")


@pytest.mark.parametrize("pattern, why", [
    (r"(?P<msg>.*)", "names no time"), (r"(?P<ts>\S+)", "names no message"), (r"(?P<ts>[", "bad regular expression"),
])
def test_bad_patterns_are_usage_errors(pattern, why):
    with pytest.raises(UsageError, match=why):
        layouts_from_options([pattern], None, ())


def test_layouts_file(tmp_path):
    path = tmp_path / "layouts.toml"
    path.write_text('[layouts.billing]\npattern = \'(?P<ts>\\d+/\\d+/\\d+ \\d+:\\d+) (?P<msg>.*)\'\n'
                    'ts-format = ["%m/%d/%Y %H:%M"]\nexample = "03/04/2026 09:12 invoice sent"\n')
    (layout,) = load_layouts(str(path))
    rec = one("03/04/2026 09:12 invoice sent", layouts=(layout,))
    assert rec["ts"] == "2026-03-04T09:12:00Z" and rec["attrs"]["layout"] == "billing"
    path.write_text('[layouts.bad]\npattern = \'(?P<ts>\\S+) (?P<msg>.*)\'\nexample = "nospace"\n')
    with pytest.raises(ValueError, match="does not match its own example"):
        load_layouts(str(path))


# --- properties --------------------------------------------------------------------------------

@FAST
@given(st.datetimes(min_value=__import__("datetime").datetime(1971, 1, 1),
                    max_value=__import__("datetime").datetime(2099, 1, 1)),
       st.sampled_from(["INFO", "WARN", "ERROR", "DEBUG"]), st.from_regex(r"[a-z][a-z.]{0,20}", fullmatch=True),
       st.text(st.characters(min_codepoint=32, max_codepoint=0x2FFF, exclude_categories=("Cs",)), max_size=40))
def test_property_java_and_python_lines_give_back_their_parts(when, level, logger, msg):
    millis = when.microsecond // 1000
    stamp = when.strftime("%Y-%m-%d %H:%M:%S") + f",{millis:03d}"
    expect_ts = when.strftime("%Y-%m-%dT%H:%M:%S") + (f".{millis:03d}Z" if millis else "Z")
    for line in (f"{stamp} {level} [main] {logger} - {msg}", f"{stamp} - {logger} - {level} - {msg}"):
        rec = one(line)
        assert rec["ts"] == expect_ts and rec["body"] == msg and rec["attrs"]["logger"] == logger


@FAST
@given(st.binary(max_size=200))
def test_property_any_bytes_give_a_record_or_a_reason(data):
    d = registry.formats.get("lines").make_decoder(DecodeOptions(clock=lambda: FIXED))
    from ben_cli.ingest.format import DecodeError
    try:
        rec = d.decode(data.replace(b"\n", b" "))
    except DecodeError:
        return
    assert rec["ts"] and isinstance(rec["body"], str)

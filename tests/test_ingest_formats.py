"""The decoders added beside ndjson/logfmt/lines: syslog, CSV/TSV, Prometheus text, OTLP/JSON.

Each has hand-written cases for its mapping onto the envelope, a property that generated valid
input decodes to the values it encodes, and a property that arbitrary bytes never crash it (a
decoder may only answer with records or a DecodeError)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ben_cli import registry
from ben_cli.ingest import DecodeOptions, sniff_format
from ben_cli.ingest.format import DecodeError, Resync, parse_tz
from ben_cli.record import format_ts, parse_rfc3339

FIXED = 1_795_600_000_123_000_000  # 2026-11-25T09:46:40.123Z
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def decoder(name: str, **opts):
    return registry.formats.get(name).make_decoder(DecodeOptions(clock=lambda: FIXED, **opts))


def decode_all(name: str, lines: list[bytes], **opts) -> list[dict]:
    d = decoder(name, **opts)
    out: list[dict] = []
    for line in lines:
        got = d.decode(line)
        if got is None:
            continue
        out.extend([got] if isinstance(got, dict) else got)
    out.extend(d.end())
    return out


# -- syslog ------------------------------------------------------------------------------------

def test_rfc5424_header_structured_data_and_bom():
    line = ('<165>1 2026-11-25T10:00:00.123456Z web-1 api 42 ID47 '
            '[exampleSDID@32473 iut="3" eventSource="App\\"x\\]"][ex@2 a="b"] \ufeffhello world').encode()
    (rec,) = decode_all("syslog", [line])
    assert rec == {"ts": "2026-11-25T10:00:00.123456Z", "lane": "diag", "source": "web-1", "name": "api",
                   "severity": "info", "body": "hello world",
                   "attrs": {"facility": "local4", "appname": "api", "procid": "42", "msgid": "ID47",
                             "exampleSDID@32473.iut": "3", "exampleSDID@32473.eventSource": 'App"x]',
                             "ex@2.a": "b"}}


def test_rfc5424_nil_values_and_no_message():
    (rec,) = decode_all("syslog", [b"<14>1 - - - - - -"])
    assert rec == {"ts": "2026-11-25T09:46:40.123Z", "lane": "diag", "name": "log", "severity": "info",
                   "attrs": {"facility": "user"}, "_ingest": {"ts": "read"}}  # the nil stamp: the time of reading


@pytest.mark.parametrize("line, reason", [
    (b"<192>1 - - - - - -", "PRI 192"),
    (b"<14>1 2026-13-01T00:00:00Z h a - - -", "bad RFC 5424 timestamp"),
    (b'<14>1 - h a - - [id k="v"', "unterminated structured-data"),
    (b"<14>1 - h a - - x", "structured data must be"),
    (b"just some words", "not syslog"),
])
def test_syslog_rejects_with_a_reason(line, reason):
    with pytest.raises(DecodeError, match=reason):
        decode_all("syslog", [line])


def test_rfc3164_year_and_zone_inferred():
    # read on 2026-11-25 in Paris (UTC+1 in winter): a stamp of 25 Nov 10:00 is 09:00 UTC this year
    (rec,) = decode_all("syslog", [b"<34>Nov 25 10:00:00 mymachine su[123]: 'su root' failed"],
                        tz=parse_tz("Europe/Paris"))
    assert rec["ts"] == "2026-11-25T09:00:00Z"
    assert rec["source"] == "mymachine" and rec["name"] == "su" and rec["severity"] == "fatal"
    assert rec["attrs"] == {"facility": "auth", "appname": "su", "procid": "123"}
    assert rec["body"] == "'su root' failed"
    # a December stamp read in November is last year's; summer time applies in July
    (dec,) = decode_all("syslog", [b"Dec 31 23:59:59 h app: x"], tz=parse_tz("Europe/Paris"))
    assert dec["ts"] == "2025-12-31T22:59:59Z"
    (jul,) = decode_all("syslog", [b"Jul  4 12:00:00 h app: x"], tz=parse_tz("Europe/Paris"))
    assert jul["ts"] == "2026-07-04T10:00:00Z"
    (fixed,) = decode_all("syslog", [b"Nov 25 10:00:00 h app: x"], tz=parse_tz("-05:00"))
    assert fixed["ts"] == "2026-11-25T15:00:00Z"


def test_rfc3164_without_host_or_tag():
    (rec,) = decode_all("syslog", [b"<13>Nov 25 10:00:00 kernel: boot"], tz=UTC)
    assert "source" not in rec and rec["name"] == "kernel" and rec["body"] == "boot"
    (rec,) = decode_all("syslog", [b"<13>Nov 25 10:00:00 host free text"], tz=UTC)
    assert rec["source"] == "host" and rec["name"] == "log" and rec["body"] == "free text"
    (rec,) = decode_all("syslog", [b"<13>no stamp at all"])
    assert rec["ts"] == "2026-11-25T09:46:40.123Z" and rec["body"] == "no stamp at all"


sd_names = st.text("abcdefghijklmnopqrstuvwxyz0123456789@.-_", min_size=1, max_size=12)
sd_values = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\n\r"), max_size=20)
tokens = st.text("abcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=1, max_size=16).filter(lambda t: t != "-")  # "-" is NILVALUE


@FAST
@given(pri=st.integers(0, 191), ns=st.integers(0, 4_102_444_800 * 10**9), host=tokens, app=tokens,
       procid=tokens, sd=st.dictionaries(sd_names, st.dictionaries(sd_names, sd_values, max_size=3), max_size=3),
       msg=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\n\r"), max_size=40))
def test_rfc5424_round_trip(pri, ns, host, app, procid, sd, msg):
    def esc(v: str) -> str:
        return v.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")

    sd_text = "".join(f"[{sid}" + "".join(f' {k}="{esc(v)}"' for k, v in params.items()) + "]"
                      for sid, params in sd.items()) or "-"
    line = f"<{pri}>1 {format_ts(ns)} {host} {app} {procid} - {sd_text} {msg}".encode()
    (rec,) = decode_all("syslog", [line])
    assert parse_rfc3339(rec["ts"]) == ns
    assert rec["source"] == host and rec["name"] == app and rec["body"] == msg
    assert rec["attrs"]["facility"] == ("kern user mail daemon auth syslog lpr news uucp cron authpriv ftp ntp "
                                        "audit alert clock local0 local1 local2 local3 local4 local5 local6 "
                                        "local7").split()[pri >> 3]
    assert rec["severity"] == ("fatal", "fatal", "fatal", "error", "warn", "info", "info", "debug")[pri & 7]
    for sid, params in sd.items():
        for k, v in params.items():
            assert rec["attrs"][f"{sid}.{k}"] == v


def test_rfc3164_year_boundary_is_a_day_after_reading():
    """Read at 2026-11-25T09:46:40Z: a stamp up to a day ahead is this year's, later is last year's."""
    inside, = decode_all("syslog", [b"<13>Nov 26 09:46:00 h app: x"], tz=UTC)
    outside, = decode_all("syslog", [b"<13>Nov 26 09:47:00 h app: x"], tz=UTC)
    assert inside["ts"] == "2026-11-26T09:46:00Z" and outside["ts"] == "2025-11-26T09:47:00Z"


@FAST
@given(month=st.integers(1, 12), day=st.integers(1, 28), hh=st.integers(0, 23), mm=st.integers(0, 59),
       ss=st.integers(0, 59), host=tokens, tag=tokens, pid=st.integers(1, 99999))
def test_rfc3164_round_trip(month, day, hh, mm, ss, host, tag, pid):
    mon = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()[month - 1]
    line = f"<13>{mon} {day:2d} {hh:02d}:{mm:02d}:{ss:02d} {host} {tag}[{pid}]: the message".encode()
    (rec,) = decode_all("syslog", [line], tz=UTC)
    # the stamp's year is the one that puts it before the time of reading plus a day of skew
    read_at = datetime.fromtimestamp(FIXED / 1e9, UTC)
    year = 2026 if datetime(2026, month, day, hh, mm, ss, tzinfo=UTC) <= read_at + timedelta(days=1) else 2025
    assert rec["ts"] == f"{year}-{month:02d}-{day:02d}T{hh:02d}:{mm:02d}:{ss:02d}Z"
    assert (rec["source"], rec["name"], rec["attrs"]["procid"], rec["body"]) == (host, tag, str(pid), "the message")


# -- CSV / TSV ---------------------------------------------------------------------------------

def test_csv_columns_types_and_chosen_fields():
    out = decode_all("csv", [b"when,host,cpu,note,ts", b"2026-11-25T10:00:00Z,a,0.5,\"x, y\",keep",
                             b"2026-11-25T10:00:01Z,b,7,,"],
                     ts_field="when", value_field="cpu")
    assert out == [
        {"ts": "2026-11-25T10:00:00Z", "lane": "diag", "source": "a", "name": "log", "value": 0.5,
         "attrs": {"note": "x, y", "csv.ts": "keep"}},
        {"ts": "2026-11-25T10:00:01Z", "lane": "diag", "source": "b", "name": "log", "value": 7},
    ]


def test_csv_quoted_cell_across_lines_and_errors():
    d = decoder("csv")
    assert d.decode(b"msg,n") is None
    assert d.decode(b'"two') is None  # the quoted cell goes on
    rec = d.decode(b'lines",3')
    assert rec["body"] == "two\nlines" and rec["attrs"] == {"n": 3}
    with pytest.raises(DecodeError, match="row has 3 cells"):
        d.decode(b"a,b,c")
    with pytest.raises(DecodeError, match="no column named 'x'"):
        decoder("csv", value_field="x").decode(b"a,b")
    d = decoder("csv")
    d.decode(b"a,b")
    d.decode(b'"open')
    with pytest.raises(Resync, match="inside a quoted cell") as held:
        d.end()
    assert held.value.held == [b'"open']


def test_tsv():
    (rec,) = decode_all("tsv", [b"time\tlevel\tmsg", b"2026-11-25T10:00:00Z\tERROR\tdisk full"])
    assert (rec["ts"], rec["severity"], rec["body"]) == ("2026-11-25T10:00:00Z", "error", "disk full")


cells = st.one_of(st.integers(-(10**15), 10**15), st.floats(allow_nan=False, allow_infinity=False, width=64),
                  st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r\n"), min_size=1,
                          max_size=15))
# "c_" keeps generated column names clear of the envelope's aliases (time, level, host ...)
columns = st.lists(st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8).map("c_".__add__), min_size=1,
                   max_size=5, unique=True)


@FAST
@given(cols=columns, data=st.data())
def test_csv_round_trip(cols, data):
    import csv
    import io

    from ben_cli.ingest.logfmt import typed

    rows = data.draw(st.lists(st.lists(cells, min_size=len(cols), max_size=len(cols)), min_size=1, max_size=5))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["value", *cols])
    for i, row in enumerate(rows):
        w.writerow([i, *row])
    out = decode_all("csv", [line.encode() for line in buf.getvalue().split("\n") if line], value_field="value")
    assert [r["value"] for r in out] == list(range(len(rows)))
    for rec, row in zip(out, rows, strict=True):
        want = {col: typed(value) if isinstance(value, str) else value for col, value in zip(cols, row, strict=True)}
        assert rec.get("attrs", {}) == want


# -- Prometheus / OpenMetrics ------------------------------------------------------------------

EXPOSITION = b"""# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000
# A comment that carries nothing
msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.5"} 4773
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
# TYPE http_request_duration_seconds histogram
# UNIT http_request_duration_seconds seconds
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="+Inf"} 144320
# TYPE temp gauge
temp NaN
"""


def test_prometheus_exposition():
    out = decode_all("prom", EXPOSITION.splitlines())
    by_name = [(r["name"], r.get("value"), r.get("attrs", {})) for r in out]
    assert by_name[0] == ("http_requests_total", 1027, {"method": "post", "code": "200", "prom.type": "counter"})
    assert out[0]["ts"] == "2014-03-17T14:26:03Z" and out[0]["body"] == "The total number of HTTP requests."
    assert by_name[2] == ("msdos_file_access_time_seconds", 1.458255915e9,
                          {"path": "C:\\DIR\\FILE.TXT", "error": 'Cannot find file:\n"FILE.TXT"'})
    assert out[2]["ts"] == "2026-11-25T09:46:40.123Z"  # the scrape time
    assert by_name[3:6] == [("rpc_duration_seconds", 4773, {"quantile": "0.5", "prom.type": "summary"}),
                            ("rpc_duration_seconds_sum", 1.7560473e07, {"prom.type": "summary"}),
                            ("rpc_duration_seconds_count", 2693, {"prom.type": "summary"})]
    assert out[6]["unit"] == "seconds" and by_name[6][2] == {"le": "0.05", "prom.type": "histogram"}
    assert by_name[8] == ("temp", None, {"prom.value": "NaN", "prom.type": "gauge"})
    assert all(r["lane"] == "diag" for r in out)


@pytest.mark.parametrize("line, reason", [
    (b"metric{a=b} 1", "bad label"),
    (b'metric{a="b" c="d"} 1', "expected ','"),
    (b"metric", "no value"),
    (b"metric one", "bad sample value"),
    (b"metric 1 yesterday", "bad sample timestamp"),
    (b"# TYPE metric thing", "unknown metric type"),
    (b"{} 1", "no metric name"),
])
def test_prometheus_rejects(line, reason):
    with pytest.raises(DecodeError, match=reason):
        decode_all("prom", [line])


label_values = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
metric_names = st.from_regex(r"[a-zA-Z_:][a-zA-Z0-9_:]{0,20}", fullmatch=True)


@FAST
@given(name=metric_names, labels=st.dictionaries(st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,10}", fullmatch=True)
                                                   .filter(lambda k: not k.startswith("prom")), label_values,
                                                   max_size=4),
       value=st.one_of(st.integers(-(2**53), 2**53), st.floats(allow_nan=False, allow_infinity=False)),
       ts_ms=st.none() | st.integers(10**11, 4 * 10**12))
def test_prometheus_round_trip(name, labels, value, ts_ms):
    def esc(v: str) -> str:
        return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    text = name + ("{" + ",".join(f'{k}="{esc(v)}"' for k, v in labels.items()) + "}" if labels else "")
    text += f" {value!r}" + (f" {ts_ms}" if ts_ms is not None else "")
    (rec,) = decode_all("prom", [text.encode()])
    assert rec["name"] == name and rec["value"] == value and rec.get("attrs", {}) == labels
    assert rec["ts"] == (format_ts(ts_ms * 10**6) if ts_ms is not None else "2026-11-25T09:46:40.123Z")


# -- OTLP/JSON ---------------------------------------------------------------------------------

def _attr(key, **value):
    return {"key": key, "value": value}


def test_otlp_logs_mapping():
    req = {"resourceLogs": [{
        "resource": {"attributes": [_attr("service.name", stringValue="checkout"), _attr("host.name", stringValue="h1")]},
        "scopeLogs": [{"scope": {"name": "app.lib", "version": "1.2"}, "logRecords": [
            {"timeUnixNano": "1795600000123456789", "severityNumber": 13, "severityText": "WARN",
             "body": {"stringValue": "slow"}, "traceId": "W47/95gDgQPSabYzgT/GDA==", "spanId": "eee19b7ec3c1b174",
             "attributes": [_attr("k", intValue="5"), _attr("m", kvlistValue={"values": [_attr("x", boolValue=True)]}),
                            _attr("l", arrayValue={"values": [{"doubleValue": 1.5}]})]},
            {"observedTimeUnixNano": "1795600000000000001", "body": {"kvlistValue": {"values": [_attr("a", intValue=1)]}}},
        ]}]}]}
    a, b = decode_all("otlp", [orjson.dumps(req)])
    assert a == {"ts": "2026-11-25T09:46:40.123456789Z", "lane": "diag", "source": "checkout", "name": "log",
                 "severity": "warn", "body": "slow",
                 "attrs": {"service.name": "checkout", "host.name": "h1", "scope.name": "app.lib",
                           "scope.version": "1.2", "k": 5, "m.x": True, "l": "[1.5]",
                           "trace_id": "5b8efff798038103d269b633813fc60c", "span_id": "eee19b7ec3c1b174"}}
    assert b["ts"] == "2026-11-25T09:46:40.000000001Z" and b["body"] == '{"a":1}'


def test_otlp_metrics_gauge_sum_histogram():
    req = {"resourceMetrics": [{"resource": {"attributes": []}, "scopeMetrics": [{"metrics": [
        {"name": "cpu", "unit": "%", "gauge": {"dataPoints": [{"asDouble": 12.5, "timeUnixNano": "1795600000000000000",
                                                               "attributes": [_attr("core", stringValue="0")]}]}},
        {"name": "reqs", "sum": {"aggregationTemporality": 2, "isMonotonic": True,
                                 "dataPoints": [{"asInt": "42", "timeUnixNano": "1795600000000000000",
                                                 "startTimeUnixNano": "1795599000000000000"}]}},
        {"name": "lat", "unit": "ms", "histogram": {"aggregationTemporality": "AGGREGATION_TEMPORALITY_DELTA",
                                                    "dataPoints": [{"count": "4", "sum": 10.0, "min": 1.0, "max": 5.0,
                                                                    "bucketCounts": ["1", "2", "1"],
                                                                    "explicitBounds": [2.0, 4.0],
                                                                    "timeUnixNano": "1795600000000000000"}]}},
    ]}]}]}
    out = decode_all("otlp", [orjson.dumps(req)], source="fallback")
    assert [(r["name"], r.get("value"), r["attrs"].get("le")) for r in out] == [
        ("cpu", 12.5, None), ("reqs", 42, None), ("lat.count", 4, None), ("lat.sum", 10.0, None),
        ("lat.min", 1.0, None), ("lat.max", 5.0, None),
        ("lat.bucket", 1, "2.0"), ("lat.bucket", 3, "4.0"), ("lat.bucket", 4, "+Inf")]
    assert out[0]["unit"] == "%" and out[0]["attrs"] == {"otel.type": "gauge", "core": "0"}
    assert out[1]["attrs"] == {"otel.type": "sum", "otel.temporality": "cumulative", "otel.monotonic": True,
                               "otel.start_ts": "2026-11-25T09:30:00Z"}
    assert out[2]["attrs"]["otel.temporality"] == "delta"
    assert all(r["source"] == "fallback" and r["ts"] == "2026-11-25T09:46:40Z" for r in out)


@pytest.mark.parametrize("line, reason", [
    (b'{"something":"else"}', "neither resourceLogs, resourceMetrics nor resourceSpans"),
    (b'{"resourceLogs":{}}', "not a list"),
    (b'{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"soon"}]}]}]}', "not an integer"),
    (b'{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"gauge":{}}]}]}]}', "metric without a name"),
    (b"[1]", "JSON object"),
    ('{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"\u00b2"}]}]}]}'.encode(), "not an integer"),
    (b'{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"observedTimeUnixNano":"-5"}]}]}]}', "before 1970"),
    (b'{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"253402300800000000000"}]}]}]}',
     "outside the 64-bit range"),
    (b'{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"attributes":[{"key":"k","value":{"intValue":"\\u0663"}}]}]}]}]}',
     "not an integer"),
    (b'{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"attributes":[{"key":"k","value":{"intValue":"18446744073709551616"}}]}]}]}]}',
     "outside the 64-bit range"),
])
def test_otlp_rejects(line, reason):
    with pytest.raises(DecodeError, match=reason):
        decode_all("otlp", [line])


_ANY_VALUE = st.recursive(
    st.one_of(st.builds(lambda v: {"stringValue": v}, st.text(max_size=5)),
              st.builds(lambda v: {"intValue": v}, st.one_of(st.integers(-10**19, 10**19), st.from_regex(r"-?[0-9]{1,20}", fullmatch=True))),
              st.builds(lambda v: {"boolValue": v}, st.booleans()),
              st.builds(lambda v: {"doubleValue": v}, st.floats(allow_nan=False))),
    lambda inner: st.builds(lambda vs: {"arrayValue": {"values": vs}}, st.lists(inner, max_size=3)),
    max_leaves=6)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "a.b", "service.name"]), _ANY_VALUE), max_size=6))
def test_otlp_attribute_shortcuts_agree_with_the_general_reading(items):
    from ben_cli.ingest.envelope import flatten_into
    from ben_cli.ingest.otlp import any_value_general, attributes_into

    def shortcut() -> dict:
        attrs: dict = {}
        attributes_into(attrs, [{"key": k, "value": v} for k, v in items])
        return attrs

    def general() -> dict:
        attrs: dict = {}
        for k, v in items:
            flatten_into(attrs, k, any_value_general(v))
        return attrs

    def outcome(read):
        try:
            attrs = read()
        except DecodeError as exc:
            return str(exc)
        return [(k, type(v), v) for k, v in attrs.items()]

    assert outcome(shortcut) == outcome(general)


@settings(max_examples=200, deadline=None)
@given(st.fixed_dictionaries({}, optional={
    "time_unix_nano": st.integers(1, 2**62).map(str), "timeUnixNano": st.integers(1, 2**62).map(str),
    "observed_time_unix_nano": st.integers(1, 2**62).map(str), "severity_number": st.integers(1, 24),
    "severityNumber": st.integers(1, 24), "severity_text": st.sampled_from(["WARN", "oops"]),
    "event_name": st.sampled_from(["login", ""]), "trace_id": st.just("5b8efff798038103d269b633813fc60c"),
    "spanId": st.just("eee19b7ec3c1b174"), "span_id": st.just("0000000000000001")}))
def test_otlp_snake_case_log_fields_read_as_the_camel_case_ones(record):
    """camel_keys gives every field the value the one-field-at-a-time reading (_get) gives."""
    from ben_cli.ingest.otlp import _get, camel_keys

    camel = camel_keys(record)
    for name in ("timeUnixNano", "observedTimeUnixNano", "severityNumber", "severityText", "eventName",
                 "traceId", "spanId"):
        assert camel.get(name) == _get(record, name)


# -- every decoder, any bytes ------------------------------------------------------------------

NAMES = ["syslog", "csv", "tsv", "prom", "otlp", "ndjson", "logfmt", "lines"]
likely = st.sampled_from([b"<13>", b"<165>1 ", b"Nov 25 10:00:00 ", b"# TYPE x counter", b"x{a=\"", b"\"", b",",
                          b"\t", b'{"resourceLogs":[', b'{"resourceMetrics":[{"scopeMetrics":[{"metrics":[', b"[",
                          b"]", b"=", b"\\", b"\xff", b"\x00", b" ", b"1", b"NaN"])


@settings(max_examples=int(__import__("os").environ.get("BEN_FUZZ_EXAMPLES", "300")), deadline=None)
@given(name=st.sampled_from(NAMES), lines=st.lists(st.lists(likely | st.binary(max_size=12), max_size=8).map(b"".join),
                                                    min_size=1, max_size=4))
def test_arbitrary_bytes_never_crash_a_decoder(name, lines):
    d = decoder(name)
    for line in lines:
        line = line.replace(b"\n", b"")
        try:
            got = d.decode(line)
        except DecodeError:
            continue
        for rec in [got] if isinstance(got, dict) else (got or []):
            orjson.dumps(rec)  # every record serialises
            assert isinstance(rec["ts"], str) and rec["lane"] in ("diag", "event", "control")
    try:
        d.end()
    except DecodeError:
        pass


def test_sniffing_picks_each_format():
    assert sniff_format(b"<34>1 2026-11-25T10:00:00Z h a - - - x\n").name == "syslog"
    assert sniff_format(b"<34>Nov 25 10:00:00 host su: x\n").name == "syslog"
    assert sniff_format(b"Nov 25 10:00:00 host sshd[42]: Accepted\n").name == "syslog"
    assert sniff_format(b"time,host,cpu\n2026-11-25T10:00:00Z,a,1\n").name == "csv"
    assert sniff_format(b"time\thost\n2026-11-25T10:00:00Z\ta\n").name == "tsv"
    assert sniff_format(b"# HELP x y\n# TYPE x gauge\nx 1\n").name == "prom"
    assert sniff_format(b'up{job="a"} 1\nup{job="b"} 0\n').name == "prom"
    assert sniff_format(b'{"resourceLogs":[]}\n').name == "otlp"
    assert sniff_format(b'{"msg":"x"}\n').name == "ndjson"
    assert sniff_format(b"Nov 25 10:00:00 just words here\n").name == "lines"


def test_parse_tz():
    assert parse_tz("UTC") is UTC
    assert datetime(2026, 1, 1, tzinfo=parse_tz("+05:30")).utcoffset().total_seconds() == 19800
    assert datetime(2026, 7, 1, tzinfo=parse_tz("Europe/Paris")).utcoffset().total_seconds() == 7200
    with pytest.raises(ValueError, match="unknown time zone"):
        parse_tz("Mars/Olympus")


def test_a_prometheus_integer_past_64_bits_is_the_float_it_stands_for():
    """Sample values are float64 in the exposition format; an integer no JSON writer holds
    exactly used to crash the writer and end the stream (issue 13, item 6)."""
    from ben_cli.ingest.prometheus import parse_value

    assert parse_value("18446744073709551616") == 1.8446744073709552e19
    assert type(parse_value("18446744073709551615")) is int and type(parse_value("-9223372036854775808")) is int
    assert orjson.dumps({"value": parse_value("-99999999999999999999999")})

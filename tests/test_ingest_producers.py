"""Real producers, not hand-written strings: the official Prometheus client's exposition output,
OTLP/JSON made from the OpenTelemetry protobuf messages, and Python's syslog handlers writing to
a running ``ben ingest --listen``. Every sample or log record must arrive once, with its value,
labels and time."""

from __future__ import annotations

import logging
import logging.handlers
import socket
import time
from collections import Counter as Tally

import orjson
import pytest

from .listening import ListeningBen


def records(result) -> list[dict]:
    assert result.exit_code == 0, result.stderr
    return [orjson.loads(line) for line in result.stdout_bytes.splitlines()]


# -- Prometheus --------------------------------------------------------------------------------

def _registry():
    from prometheus_client import CollectorRegistry, Counter, Enum, Gauge, Histogram, Info, Summary

    reg = CollectorRegistry()
    c = Counter("shop_orders", "Orders placed.", ["region", "method"], registry=reg, unit="orders")
    c.labels("eu", "card").inc(3)
    c.labels("us", 'say "hi"\n\\').inc(7.5)
    g = Gauge("shop_queue_depth", "Items waiting.", registry=reg)
    g.set(-12.25)
    h = Histogram("shop_latency_seconds", "Checkout latency.", ["route"], buckets=(0.1, 0.5, 2.5), registry=reg)
    for v in (0.05, 0.3, 0.3, 1.0, 9.0):
        h.labels("/pay").observe(v)
    s = Summary("shop_payload_bytes", "Request size.", registry=reg)
    for v in (100, 250):
        s.observe(v)
    Info("shop_build", "Build information.", registry=reg).info({"version": "1.2.3", "commit": "abc"})
    Enum("shop_state", "Shop state.", states=["open", "closed"], registry=reg).state("closed")
    return reg


def _expected_samples(reg) -> Tally:
    want: Tally = Tally()
    for family in reg.collect():
        for s in family.samples:
            want[(s.name, tuple(sorted(s.labels.items())), float(s.value))] += 1
    return want


def _got_samples(out: list[dict]) -> Tally:
    got: Tally = Tally()
    for r in out:
        labels = tuple(sorted((k, v) for k, v in r.get("attrs", {}).items() if not k.startswith("prom.")))
        got[(r["name"], labels, float(r["value"]))] += 1
    return got


@pytest.mark.parametrize("flavour", ["prometheus", "openmetrics"])
def test_prometheus_client_exposition_round_trips(cli, flavour):
    from prometheus_client import generate_latest
    from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

    reg = _registry()
    text = (generate_latest if flavour == "prometheus" else generate_openmetrics)(reg)
    out = records(cli(["ingest", "-q"], input=text))
    assert all(r["_ingest"]["format"] == "prom" for r in out)  # sniffed
    got, want = _got_samples(out), _expected_samples(reg)
    assert got == want
    assert len({r["ts"] for r in out}) == 1  # one scrape, one time
    by_name = {r["name"]: r for r in out}
    assert by_name["shop_latency_seconds_bucket"]["attrs"]["prom.type"] == "histogram"
    assert by_name["shop_payload_bytes_count"]["attrs"]["prom.type"] == "summary"
    assert by_name["shop_queue_depth"]["body"] == "Items waiting."
    if flavour == "openmetrics":
        assert by_name["shop_orders_total"]["unit"] == "orders"


def test_prometheus_sample_timestamps_are_kept(cli):
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.core import GaugeMetricFamily

    class Fixed:
        def collect(self):
            g = GaugeMetricFamily("temp_celsius", "Temperature.", labels=["room"])
            g.add_metric(["kitchen"], 21.5, timestamp=1795600000.25)
            yield g

    reg = CollectorRegistry()
    reg.register(Fixed())
    (rec,) = records(cli(["ingest", "-q", "-f", "prom"], input=generate_latest(reg)))
    assert (rec["ts"], rec["value"], rec["attrs"]["room"]) == ("2026-11-25T09:46:40.250Z", 21.5, "kitchen")


# -- OTLP/JSON ---------------------------------------------------------------------------------

def _kv(key, value):
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def _logs_request(n: int):
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope
    from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
    from opentelemetry.proto.resource.v1.resource_pb2 import Resource

    recs = [LogRecord(time_unix_nano=1_795_600_000_000_000_001 + i * 1_000_000_007, severity_number=1 + (i * 5) % 24,
                      severity_text="", body=AnyValue(string_value=f"event {i}"),
                      attributes=[_kv("i", i), _kv("ok", i % 2 == 0), _kv("ratio", i / 4)],
                      trace_id=bytes(range(16)), span_id=bytes(range(8)))
            for i in range(n)]
    return ExportLogsServiceRequest(resource_logs=[ResourceLogs(
        resource=Resource(attributes=[_kv("service.name", "checkout"), _kv("host.name", "web-1")]),
        scope_logs=[ScopeLogs(scope=InstrumentationScope(name="shop.lib", version="2.0",
                                                         attributes=[_kv("lib.flag", True)]),
                              log_records=recs)])])


@pytest.mark.parametrize("proto_names", [False, True])
def test_otlp_logs_from_protobuf_round_trip(cli, proto_names):
    from google.protobuf.json_format import MessageToDict

    req = _logs_request(30)
    line = orjson.dumps(MessageToDict(req, preserving_proto_field_name=proto_names)) + b"\n"
    out = records(cli(["ingest", "-q"], input=line + line))
    assert len(out) == 60 and all(r["_ingest"]["format"] == "otlp" for r in out)
    sev = ("trace", "debug", "info", "warn", "error", "fatal")
    for i, r in enumerate(out[:30]):
        lr = req.resource_logs[0].scope_logs[0].log_records[i]
        assert r["ts"].endswith("Z") and _ns(r["ts"]) == lr.time_unix_nano  # nanoseconds kept
        assert r["source"] == "checkout" and r["body"] == f"event {i}"
        assert r["severity"] == sev[(lr.severity_number - 1) // 4]
        assert r["attrs"] == {"service.name": "checkout", "host.name": "web-1", "scope.name": "shop.lib",
                              "scope.version": "2.0", "lib.flag": True, "i": i, "ok": i % 2 == 0, "ratio": i / 4,
                              "trace_id": bytes(range(16)).hex(), "span_id": bytes(range(8)).hex()}


def _ns(ts: str) -> int:
    from ben_cli.record import parse_rfc3339

    return parse_rfc3339(ts)


def test_otlp_metrics_from_protobuf_round_trip(cli):
    from google.protobuf.json_format import MessageToDict
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
    from opentelemetry.proto.metrics.v1 import metrics_pb2 as m
    from opentelemetry.proto.resource.v1.resource_pb2 import Resource

    t = 1_795_600_000_123_456_789
    metrics = [
        m.Metric(name="cpu.usage", unit="%", gauge=m.Gauge(data_points=[
            m.NumberDataPoint(time_unix_nano=t, as_double=v, attributes=[_kv("core", str(i))])
            for i, v in enumerate((12.5, 0.0, 99.75))])),
        m.Metric(name="http.requests", unit="1", sum=m.Sum(
            aggregation_temporality=m.AGGREGATION_TEMPORALITY_CUMULATIVE, is_monotonic=True,
            data_points=[m.NumberDataPoint(time_unix_nano=t, start_time_unix_nano=t - 10**9, as_int=v,
                                           attributes=[_kv("route", r)])
                         for r, v in (("/a", 0), ("/b", 42))])),
        m.Metric(name="http.latency", unit="ms", histogram=m.Histogram(
            aggregation_temporality=m.AGGREGATION_TEMPORALITY_DELTA,
            data_points=[m.HistogramDataPoint(time_unix_nano=t, count=6, sum=123.5, min=1.0, max=80.0,
                                              bucket_counts=[1, 2, 0, 3], explicit_bounds=[5.0, 10.0, 50.0])])),
    ]
    req = ExportMetricsServiceRequest(resource_metrics=[m.ResourceMetrics(
        resource=Resource(attributes=[_kv("service.name", "api")]),
        scope_metrics=[m.ScopeMetrics(metrics=metrics)])])
    out = records(cli(["ingest", "-q"], input=orjson.dumps(MessageToDict(req)) + b"\n"))
    assert all(_ns(r["ts"]) == t and r["source"] == "api" for r in out)
    got = [(r["name"], r.get("value"), r.get("unit"), r["attrs"].get("core") or r["attrs"].get("route")
            or r["attrs"].get("le")) for r in out]
    assert got == [
        ("cpu.usage", 12.5, "%", "0"), ("cpu.usage", 0.0, "%", "1"), ("cpu.usage", 99.75, "%", "2"),
        ("http.requests", 0, "1", "/a"), ("http.requests", 42, "1", "/b"),
        ("http.latency.count", 6, "ms", None), ("http.latency.sum", 123.5, "ms", None),
        ("http.latency.min", 1.0, "ms", None), ("http.latency.max", 80.0, "ms", None),
        ("http.latency.bucket", 1, "ms", "5.0"), ("http.latency.bucket", 3, "ms", "10.0"),
        ("http.latency.bucket", 3, "ms", "50.0"), ("http.latency.bucket", 6, "ms", "+Inf"),
    ]
    assert out[3]["attrs"]["otel.temporality"] == "cumulative" and out[3]["attrs"]["otel.monotonic"] is True


# -- syslog handlers into the listener ---------------------------------------------------------

def _logger(name: str, handler: logging.Handler) -> logging.Logger:
    log = logging.getLogger(name)
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG)
    log.propagate = False
    return log


LEVELS = [(logging.DEBUG, "debug"), (logging.INFO, "info"), (logging.WARNING, "warn"), (logging.ERROR, "error"),
          (logging.CRITICAL, "fatal")]


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_stdlib_syslog_handler_into_the_listener(tmp_path, transport):
    ben = ListeningBen(tmp_path, f"{transport}://127.0.0.1:0", "--format", "syslog", "--tz", "UTC")
    try:
        handler = logging.handlers.SysLogHandler(
            address=ben.host_port, facility=logging.handlers.SysLogHandler.LOG_LOCAL3,
            socktype=socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM)
        fmt = logging.Formatter("%(asctime)s shop-1 %(name)s[%(process)d]: %(message)s", datefmt="%b %d %H:%M:%S")
        fmt.converter = time.gmtime
        handler.setFormatter(fmt)
        log = _logger(f"payments-{transport}", handler)
        sent = []
        for i in range(200):
            level, sev = LEVELS[i % len(LEVELS)]
            log.log(level, "order %d paid, amount=%s", i, i * 1.5)
            sent.append((f"order {i} paid, amount={i * 1.5}", sev))
        handler.close()
        time.sleep(0.3 if transport == "udp" else 0.1)
    finally:
        out, err, code = ben.stop()
    assert code == 0, err
    got = Tally((r["body"], r["severity"]) for r in out)
    assert got == Tally(sent)
    now = time.time()
    for r in out:
        assert r["source"] == "shop-1" and r["name"] == f"payments-{transport}"
        assert r["attrs"]["facility"] == "local3"
        assert abs(_ns(r["ts"]) / 1e9 - now) < 120  # the handler's time, whole seconds


def test_rfc5424_handler_into_the_listener(tmp_path):
    from rfc5424logging import Rfc5424SysLogHandler

    ben = ListeningBen(tmp_path, "tcp://127.0.0.1:0", "--format", "syslog")
    try:
        handler = Rfc5424SysLogHandler(address=ben.host_port, socktype=socket.SOCK_STREAM, hostname="web-7",
                                       appname="checkout", procid=4242,
                                       structured_data={"shop@32473": {"tenant": "acme"}}, enterprise_id=32473)
        log = _logger("rfc5424", handler)
        sent = []
        for i in range(100):
            level, sev = LEVELS[i % len(LEVELS)]
            log.log(level, "cart %d checked out", i, extra={"msgid": f"CART{i}"})
            sent.append((f"cart {i} checked out", sev))
        handler.close()
        time.sleep(0.1)
    finally:
        out, err, code = ben.stop()
    assert code == 0, err
    assert Tally((r["body"], r["severity"]) for r in out) == Tally(sent)
    now = time.time()
    for r in out:
        assert (r["source"], r["name"], r["attrs"]["procid"]) == ("web-7", "checkout", "4242")
        assert r["attrs"]["shop@32473.tenant"] == "acme"
        assert r["attrs"]["msgid"].startswith("CART")
        assert abs(_ns(r["ts"]) / 1e9 - now) < 60  # the handler's own time, with its fraction

"""``ben ingest --listen grpc://`` and ``http://``: the OTLP service, fed by the real OpenTelemetry
SDK and its OTLP exporters, and by raw clients for what the SDK never sends."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import orjson
import pytest
from google.protobuf.json_format import MessageToJson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ben_cli.record import parse_rfc3339

from .conftest import run_ben
from .listening import ListeningBen
from .otlp_support import SCOPE, MadeCA, T, grpc_export, http_post, logs_request, metrics_request, traces_request

N_LOGS = 300


def _grpc_target(ben: ListeningBen) -> str:
    host, port = ben.host_port
    return f"{host}:{port}"


def _http_base(ben: ListeningBen) -> str:
    host, port = ben.host_port
    return f"http://{host}:{port}"


def _without_ingest(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "_ingest"} for r in records]


# -- the real SDK, every signal -------------------------------------------------------------------

def _sdk_exporters(kind: str, ben: ListeningBen):
    if kind == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        target = _grpc_target(ben)
        return (OTLPLogExporter(endpoint=target, insecure=True), OTLPMetricExporter(endpoint=target, insecure=True),
                OTLPSpanExporter(endpoint=target, insecure=True))
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    base = _http_base(ben)
    return (OTLPLogExporter(endpoint=f"{base}/v1/logs"), OTLPMetricExporter(endpoint=f"{base}/v1/metrics"),
            OTLPSpanExporter(endpoint=f"{base}/v1/traces"))


class _Keeping:
    """Wraps an SDK exporter: keeps what the SDK handed it, so the test knows every datum sent."""

    def __init__(self, inner):
        self.inner, self.sent = inner, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def export(self, batch, *args, **kwargs):
        self.sent.append(batch)
        return self.inner.export(batch, *args, **kwargs)


@pytest.mark.parametrize("kind", ["grpc", "http"])
def test_the_sdk_sends_logs_metrics_and_spans_and_each_arrives_once(tmp_path, kind):
    from opentelemetry._logs import LogRecord, SeverityNumber
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import AggregationTemporality, PeriodicExportingMetricReader
    from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.trace import Status, StatusCode

    ben = ListeningBen(tmp_path, f"{kind}://127.0.0.1:0")
    resource = Resource.create({"service.name": "shop", "deployment.environment": "test"})
    try:
        log_exp, metric_exp, span_exp = _sdk_exporters(kind, ben)
        logs = LoggerProvider(resource=resource)
        logs.add_log_record_processor(BatchLogRecordProcessor(log_exp, max_export_batch_size=128))
        logger = logs.get_logger("shop.orders", "1.0")
        for i in range(N_LOGS):
            logger.emit(LogRecord(timestamp=T + i, observed_timestamp=T + i + 7, body=f"order {i}",
                                  severity_number=SeverityNumber.ERROR if i % 3 == 0 else SeverityNumber.INFO,
                                  attributes={"order.id": i, "paid": i % 2 == 0, "amount": i * 1.25}))
        logs.shutdown()

        kept = _Keeping(metric_exp)
        reader = PeriodicExportingMetricReader(kept, export_interval_millis=3_600_000)
        meters = MeterProvider(resource=resource, metric_readers=[reader], views=[
            View(instrument_name="queue.wait", aggregation=ExponentialBucketHistogramAggregation())])
        meter = meters.get_meter("shop.metrics")
        meter.create_counter("orders", unit="1").add(5, {"route": "/buy"})
        meter.create_up_down_counter("carts.open").add(-3, {"route": "/cart"})
        meter.create_histogram("latency", unit="ms").record(12.5, {"route": "/buy"})
        meter.create_histogram("queue.wait", unit="s").record(0.75)
        meter.create_gauge("temperature", unit="Cel").set(21.5, {"room": "a"})
        meters.shutdown()

        spans = TracerProvider(resource=resource)
        spans.add_span_processor(BatchSpanProcessor(span_exp))
        tracer = spans.get_tracer("shop.tracing")
        span = tracer.start_span("GET /buy", start_time=T, attributes={"http.status_code": 500})
        span.set_status(Status(StatusCode.ERROR, "payment failed"))
        span.end(end_time=T + 1_234_567)
        spans.shutdown()
    finally:
        out, err, code = ben.stop()
    assert code == 0, err

    got_logs = [r for r in out if r["name"] == "log"]
    assert len(got_logs) == N_LOGS  # each once
    by_id = {r["attrs"]["order.id"]: r for r in got_logs}
    assert sorted(by_id) == list(range(N_LOGS))
    for i, r in by_id.items():
        assert parse_rfc3339(r["ts"]) == T + i  # to the nanosecond
        assert r["body"] == f"order {i}" and r["severity"] == ("error" if i % 3 == 0 else "info")
        assert r["source"] == "shop" and r["lane"] == "diag"
        assert r["attrs"]["paid"] is (i % 2 == 0) and r["attrs"]["amount"] == i * 1.25
        assert r["attrs"]["deployment.environment"] == "test" and r["attrs"]["scope.name"] == "shop.orders"
        assert r["attrs"]["scope.version"] == "1.0"

    # metrics: every data point the SDK handed its exporter arrived, once, with its value and time
    sent_points = []
    for batch in kept.sent:
        for rm in batch.resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    for p in metric.data.data_points:
                        sent_points.append((metric.name, type(metric.data).__name__, p))
    kinds = {k for _, k, _ in sent_points}
    assert kinds == {"Sum", "Histogram", "ExponentialHistogram", "Gauge"}
    got = {(r["name"], tuple(sorted((k, v) for k, v in r["attrs"].items() if k in ("route", "room")))): r
           for r in out if r["lane"] == "diag" and r["name"] != "log"}
    for name, kind_name, p in sent_points:
        labels = tuple(sorted(p.attributes.items()))
        if kind_name in ("Sum", "Gauge"):
            r = got[(name, labels)]
            assert r["value"] == p.value and parse_rfc3339(r["ts"]) == p.time_unix_nano
        else:
            r = got[(f"{name}.count", labels)]
            assert r["value"] == p.count and parse_rfc3339(r["ts"]) == p.time_unix_nano
            assert got[(f"{name}.sum", labels)]["value"] == p.sum
        assert r["source"] == "shop" and r["attrs"]["scope.name"] == "shop.metrics"
    counts = [r for r in out if r["name"] == "orders"]
    assert len(counts) == 1 and counts[0]["attrs"]["otel.monotonic"] is True
    assert counts[0]["attrs"]["otel.temporality"] == {AggregationTemporality.CUMULATIVE: "cumulative"}[
        AggregationTemporality.CUMULATIVE]
    assert [r["value"] for r in out if r["name"] == "carts.open"] == [-3]
    assert [r["value"] for r in out if r["name"] == "temperature"] == [21.5]
    assert [(r["value"], r["attrs"]["le"]) for r in out if r["name"] == "latency.bucket" and r["value"]][0][0] == 1

    events = [r for r in out if r["lane"] == "event"]
    assert len(events) == 1
    span_rec = events[0]
    assert span_rec["name"] == "GET /buy" and parse_rfc3339(span_rec["ts"]) == T
    assert span_rec["value"] == 1.234567 and span_rec["unit"] == "ms"
    assert parse_rfc3339(span_rec["attrs"]["otel.end_ts"]) == T + 1_234_567
    assert span_rec["severity"] == "error" and span_rec["body"] == "payment failed"
    assert span_rec["attrs"]["http.status_code"] == 500 and span_rec["attrs"]["otel.span_kind"] == "internal"
    assert len(span_rec["attrs"]["trace_id"]) == 32 and len(span_rec["attrs"]["span_id"]) == 16
    assert f"wrote {len(out)}, rejected 0" in err


# -- one mapping for three encodings --------------------------------------------------------------

REQUESTS = {"logs": logs_request, "metrics": metrics_request, "traces": traces_request}


@pytest.mark.parametrize("signal_name", sorted(REQUESTS))
def test_protobuf_and_json_decode_to_the_same_envelopes_in_process(signal_name):
    from ben_cli.ingest import otlp_proto
    from ben_cli.ingest.format import DecodeOptions
    from ben_cli.ingest.otlp import OtlpDecoder

    req = REQUESTS[signal_name]()
    decoder = OtlpDecoder(DecodeOptions())
    from_proto = decoder.request(otlp_proto.as_json(signal_name, otlp_proto.parse(signal_name, req.SerializeToString())))
    from_json = decoder.decode(MessageToJson(req).encode())
    from_snake = decoder.decode(MessageToJson(req, preserving_proto_field_name=True).encode())
    assert from_proto == from_json == from_snake
    assert len(from_proto) >= 2


def test_grpc_http_protobuf_http_json_and_otlp_json_lines_give_the_same_envelopes(tmp_path):
    lines = b"".join(MessageToJson(make(), indent=None).encode() + b"\n" for make in REQUESTS.values())
    from_file = _without_ingest([orjson.loads(x) for x in run_ben("ingest", "-q", "-f", "otlp", input=lines,
                                                                   check=True).stdout.splitlines()])
    outs = []
    for how in ("grpc", "http-protobuf", "http-json", "http-json-gzip"):
        folder = tmp_path / how
        folder.mkdir()
        ben = ListeningBen(folder, f"{how.split('-')[0]}://127.0.0.1:0")
        try:
            for signal_name, make in REQUESTS.items():
                req = make()
                if how == "grpc":
                    with grpc.insecure_channel(_grpc_target(ben)) as channel:
                        grpc_export(channel, signal_name, req.SerializeToString())
                else:
                    json_body = "json" in how
                    status, _, _ = http_post(*ben.host_port, f"/v1/{signal_name}",
                                             MessageToJson(req).encode() if json_body else req.SerializeToString(),
                                             ctype="application/json" if json_body else "application/x-protobuf",
                                             gzipped=how.endswith("gzip"))
                    assert status == 200
        finally:
            out, err, code = ben.stop()
        assert code == 0, err
        assert all(r["_ingest"]["format"] == "otlp" and "peer" in r["_ingest"] for r in out)
        outs.append(_without_ingest(out))
    assert all(o == from_file for o in outs)
    assert {r["name"] for r in from_file} >= {"log", "cpu.usage", "http.requests", "http.latency.bucket",
                                              "queue.wait.count", "rpc.duration", "GET /item/1"}


# -- the protocol's promises -----------------------------------------------------------------------

def test_partial_success_counts_and_names_what_was_rejected(tmp_path):
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse
    from opentelemetry.proto.metrics.v1 import metrics_pb2 as m

    req = metrics_request()
    bad = req.resource_metrics[0].scope_metrics[0].metrics.add()
    bad.name = "broken"
    bad.histogram.data_points.add(count=1, bucket_counts=[1, 0, 0], explicit_bounds=[1.0])  # 3 counts, 1 bound
    req.resource_metrics[0].scope_metrics[0].metrics.add(gauge=m.Gauge(data_points=[m.NumberDataPoint(as_int=k)
                                                                                     for k in range(3)]))
    rejects = tmp_path / "rejects.ndjson"
    outs = []
    for kind in ("grpc", "http"):
        folder = tmp_path / kind
        folder.mkdir()
        ben = ListeningBen(folder, f"{kind}://127.0.0.1:0", "--rejects", str(rejects))
        try:
            if kind == "grpc":
                with grpc.insecure_channel(_grpc_target(ben)) as channel:
                    answer = ExportMetricsServiceResponse.FromString(
                        grpc_export(channel, "metrics", req.SerializeToString()))
            else:
                status, _, body = http_post(*ben.host_port, "/v1/metrics", MessageToJson(req).encode(),
                                            ctype="application/json")
        finally:
            out, err, code = ben.stop()
        assert code == 0, err
        assert "rejected 2" in err
        outs.append(out)
    assert answer.partial_success.rejected_data_points == 4  # the points of the metrics refused: 1 + 3
    assert answer.partial_success.error_message.startswith("2 rejected; the first: ")
    assert "3 bucket counts for 1 bounds" in answer.partial_success.error_message
    assert status == 200 and orjson.loads(body)["partialSuccess"]["rejectedDataPoints"] == 4
    for out in outs:
        assert not any(r["name"].startswith("broken") for r in out)
        assert sum(r["name"] == "cpu.usage" for r in out) == 3  # the good ones were written
    reasons = [orjson.loads(x)["reason"] for x in rejects.read_bytes().splitlines()]
    assert sorted(reasons) == sorted(["broken: 3 bucket counts for 1 bounds", "metric without a name"] * 2)


def test_a_request_that_is_not_otlp_is_refused_whole_and_the_service_goes_on(tmp_path):
    rejects = tmp_path / "rejects.ndjson"
    ben = ListeningBen(tmp_path, "http://127.0.0.1:0", "--rejects", str(rejects))
    try:
        s1, _, b1 = http_post(*ben.host_port, "/v1/logs", b"\xff\xff\xff", ctype="application/x-protobuf")
        s2, _, b2 = http_post(*ben.host_port, "/v1/logs", b"{not json", ctype="application/json")
        s3, _, b3 = http_post(*ben.host_port, "/v1/logs", b'{"what": 1}', ctype="application/json")
        s4, _, _ = http_post(*ben.host_port, "/v1/logs", b"x", ctype="text/plain")
        s5, _, _ = http_post(*ben.host_port, "/v2/logs", b"x")
        s6, _, _ = http_post(*ben.host_port, "/v1/logs", logs_request(2).SerializeToString())
    finally:
        out, err, code = ben.stop()
    assert code == 0, err
    assert (s1, s2, s3, s4, s5, s6) == (400, 400, 400, 415, 404, 200)
    assert orjson.loads(b2)["code"] == 3 and "invalid JSON" in orjson.loads(b2)["message"]
    assert "neither resourceLogs" in orjson.loads(b3)["message"]
    assert b"not a protobuf ExportLogsServiceRequest" in b1
    assert len(out) == 2
    assert len(rejects.read_bytes().splitlines()) == 3


def test_message_size_limit_on_both_transports(tmp_path):
    big = logs_request(2000).SerializeToString()
    assert len(big) > 64 << 10
    for kind in ("grpc", "http"):
        folder = tmp_path / kind
        folder.mkdir()
        ben = ListeningBen(folder, f"{kind}://127.0.0.1:0", "--max-request-bytes", "64K")
        try:
            if kind == "grpc":
                with grpc.insecure_channel(_grpc_target(ben)) as channel:
                    with pytest.raises(grpc.RpcError) as caught:
                        grpc_export(channel, "logs", big)
                    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                    grpc_export(channel, "logs", logs_request(3).SerializeToString())
            else:
                status, _, body = http_post(*ben.host_port, "/v1/logs", big)
                assert status == 413 and b"65536-byte limit" in body
                status, _, body = http_post(*ben.host_port, "/v1/logs", big, gzipped=True)  # small, inflates past it
                assert status == 413 and b"once decompressed" in body
                assert http_post(*ben.host_port, "/v1/logs", logs_request(3).SerializeToString())[0] == 200
        finally:
            out, err, code = ben.stop()
        assert code == 0, err
        assert len(out) == 3


def test_bearer_token_is_required_when_set(tmp_path):
    token = tmp_path / "token"
    token.write_text("s3cret-token\n")
    for kind in ("grpc", "http"):
        folder = tmp_path / kind
        folder.mkdir()
        ben = ListeningBen(folder, f"{kind}://127.0.0.1:0", "--token-file", str(token))
        data = logs_request(1).SerializeToString()
        try:
            if kind == "grpc":
                with grpc.insecure_channel(_grpc_target(ben)) as channel:
                    for metadata in ((), (("authorization", "Bearer wrong"),)):
                        with pytest.raises(grpc.RpcError) as caught:
                            grpc_export(channel, "logs", data, metadata)
                        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
                    grpc_export(channel, "logs", data, (("authorization", "Bearer s3cret-token"),))
            else:
                assert http_post(*ben.host_port, "/v1/logs", data)[0] == 401
                assert http_post(*ben.host_port, "/v1/logs", data, headers={"Authorization": "Bearer nope"})[0] == 401
                assert http_post(*ben.host_port, "/v1/logs", data,
                                 headers={"Authorization": "Bearer s3cret-token"})[0] == 200
        finally:
            out, err, code = ben.stop()
        assert code == 0, err
        assert len(out) == 1


# -- TLS and mutual TLS ----------------------------------------------------------------------------

@pytest.fixture
def pki(tmp_path):
    good, other = MadeCA(tmp_path, "good"), MadeCA(tmp_path, "other")
    return {"ca": good.ca_path, "server": good.issue("ben-server", server=True),
            "client": good.issue("producer", server=False), "stranger": other.issue("stranger", server=False),
            "other_ca": other.ca_path}


def _grpc_tls_ok(target: str, ca: Path, client: tuple[Path, Path] | None) -> bool:
    creds = grpc.ssl_channel_credentials(root_certificates=ca.read_bytes(),
                                         private_key=None if client is None else client[1].read_bytes(),
                                         certificate_chain=None if client is None else client[0].read_bytes())
    with grpc.secure_channel(target, creds) as channel:
        try:
            grpc_export(channel, "logs", logs_request(1).SerializeToString(), timeout=10)
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.UNAVAILABLE, exc  # the handshake failed
            return False
    return True


def _https_ok(host: str, port: int, ca: Path, client: tuple[Path, Path] | None) -> bool:
    import ssl

    ctx = ssl.create_default_context(cafile=str(ca))
    if client is not None:
        ctx.load_cert_chain(client[0], client[1])
    try:
        status, _, _ = http_post(host, port, "/v1/logs", logs_request(1).SerializeToString(), context=ctx)
    except (ssl.SSLError, ConnectionError, OSError):
        return False
    return status == 200


@pytest.mark.parametrize("kind", ["grpc", "http"])
def test_tls_and_mutual_tls_accept_the_right_client_and_refuse_the_wrong_one(tmp_path, pki, kind):
    cert, key = pki["server"]
    host_ok = (lambda ben, ca, client: _grpc_tls_ok(_grpc_target(ben), ca, client)) if kind == "grpc" else \
        (lambda ben, ca, client: _https_ok(*ben.host_port, ca, client))
    plain = tmp_path / "tls"
    plain.mkdir()
    ben = ListeningBen(plain, f"{kind}://127.0.0.1:0", "--tls-cert", str(cert), "--tls-key", str(key))
    try:
        assert "(TLS)" in ben.err_path.read_text()
        assert host_ok(ben, pki["ca"], None)  # TLS: any client that trusts the server
        assert not host_ok(ben, pki["other_ca"], None)  # a client that does not trust this server stops
    finally:
        out, err, code = ben.stop()
    assert code == 0 and len(out) == 1, err

    mutual = tmp_path / "mtls"
    mutual.mkdir()
    ben = ListeningBen(mutual, f"{kind}://127.0.0.1:0", "--tls-cert", str(cert), "--tls-key", str(key),
                       "--tls-client-ca", str(pki["ca"]))
    try:
        assert host_ok(ben, pki["ca"], pki["client"])  # the right client
        assert not host_ok(ben, pki["ca"], pki["stranger"])  # a certificate from another CA
        assert not host_ok(ben, pki["ca"], None)  # no certificate
        assert host_ok(ben, pki["ca"], pki["client"])  # and the service still serves
    finally:
        out, err, code = ben.stop()
    assert code == 0, err
    assert len(out) == 2


# -- backpressure: refused, retried, nothing lost --------------------------------------------------

class _Seen(logging.Handler):
    def __init__(self, needle: str):
        super().__init__()
        self.needle, self.event = needle, threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.needle in record.getMessage():
            self.event.set()


@pytest.mark.parametrize("kind", ["grpc", "http"])
def test_producers_refused_under_backpressure_retry_and_lose_nothing(tmp_path, kind):
    """ben's stdout is a pipe nobody reads: the first request blocks writing, the next is refused
    as retryable; once the pipe is read, the SDK's retries go through and every record is there once."""
    from opentelemetry._logs import LogRecord
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

    ben_bin = Path(sys.executable).with_name("ben")
    err_path = tmp_path / "err"
    with open(err_path, "wb") as err_file:
        proc = subprocess.Popen([str(ben_bin), "ingest", "--listen", f"{kind}://127.0.0.1:0", "--retry-after", "200ms"],
                                stdout=subprocess.PIPE, stderr=err_file, env={**os.environ, "BEN_LOAD_PLUGINS": ""})
    try:
        deadline = time.monotonic() + 20
        while "listening on" not in err_path.read_text() and time.monotonic() < deadline:
            time.sleep(0.02)
        address = err_path.read_text().split("listening on ")[1].split()[0]
        seen = _Seen("RESOURCE_EXHAUSTED" if kind == "grpc" else "Service Unavailable")
        logging.getLogger("opentelemetry.exporter").addHandler(seen)
        producers = 2
        per_producer = 2000

        def produce(p: int) -> None:
            if kind == "grpc":
                from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter

                exporter = OTLPLogExporter(endpoint=address.split("://")[1], insecure=True, timeout=60)
            else:
                from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter

                exporter = OTLPLogExporter(endpoint=f"{address}/v1/logs", timeout=60)
            provider = LoggerProvider()
            provider.add_log_record_processor(BatchLogRecordProcessor(exporter, max_export_batch_size=512))
            logger = provider.get_logger("load")
            for i in range(per_producer):
                logger.emit(LogRecord(timestamp=T + i, body="x" * 200, attributes={"p": p, "i": i}))
            assert provider.force_flush(timeout_millis=120_000)  # shutdown() alone would cut retries short
            provider.shutdown()

        threads = [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
        for t in threads:
            t.start()
        assert seen.event.wait(60), "no request was refused"
        data = proc.stdout.read1() if proc.stdout else b""  # now read: the output takes everything
        chunks = [data]
        reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: proc.stdout.read1(), b"")))
        reader.start()
        for t in threads:
            t.join(timeout=120)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        reader.join(timeout=60)
    finally:
        logging.getLogger("opentelemetry.exporter").removeHandler(seen)
        if proc.poll() is None:
            proc.kill()
    out = [orjson.loads(x) for x in b"".join(chunks).splitlines()]
    keys = sorted((r["attrs"]["p"], r["attrs"]["i"]) for r in out)
    assert keys == sorted((p, i) for p in range(producers) for i in range(per_producer))  # all, once
    err = err_path.read_text()
    assert "refused" in err


# -- nothing a client sends crashes it -------------------------------------------------------------

@pytest.fixture(scope="module")
def both_services(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "g").mkdir()
    (folder / "h").mkdir()
    services = {"grpc": ListeningBen(folder / "g", "grpc://127.0.0.1:0"),
                "http": ListeningBen(folder / "h", "http://127.0.0.1:0")}
    yield services
    for ben in services.values():
        _, err, code = ben.stop()
        assert code == 0, err


_JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                            st.sampled_from(["resourceLogs", "resourceMetrics", "resourceSpans", "scopeLogs",
                                             "logRecords", "metrics", "gauge", "dataPoints", "spans", "scopeSpans",
                                             "attributes", "key", "value", "timeUnixNano", "name", "sum"]),
                            inner, max_size=4), max_leaves=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300) | st.builds(lambda r: r.SerializeToString()[:50], st.just(logs_request(1))),
       body=_JSONISH, signal_name=st.sampled_from(["logs", "metrics", "traces"]))
def test_arbitrary_bytes_and_json_never_crash_the_service(both_services, data, body, signal_name):
    with grpc.insecure_channel(_grpc_target(both_services["grpc"])) as channel:
        try:
            grpc_export(channel, signal_name, data)
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
        grpc_export(channel, "logs", logs_request(1).SerializeToString())  # still serving
    host, port = both_services["http"].host_port
    status, _, _ = http_post(host, port, f"/v1/{signal_name}", data)
    assert status in (200, 400)
    status, _, answer = http_post(host, port, f"/v1/{signal_name}", json.dumps(body).encode(), ctype="application/json")
    assert status in (200, 400), answer
    assert http_post(host, port, "/v1/logs", logs_request(1).SerializeToString())[0] == 200


def test_sigterm_drains_and_reports(tmp_path):
    ben = ListeningBen(tmp_path, "grpc://127.0.0.1:0")
    with grpc.insecure_channel(_grpc_target(ben)) as channel:
        for k in range(5):
            grpc_export(channel, "logs", logs_request(10, start=10 * k).SerializeToString())
    out, err, code = ben.stop()
    assert code == 0
    assert len(out) == 50 and [r["_ingest"]["request"] for r in out[::10]] == [1, 2, 3, 4, 5]
    assert "read 50, wrote 50, rejected 0" in err


# -- the door in-process: the validation seam, and nothing loaded outside this mode ----------------

def test_the_check_hook_refuses_records_before_they_are_acknowledged(tmp_path):
    """The seam a contract or a policy plugs into: a refused record is rejected with its reason,
    counted in the answer, and never written."""
    import io

    from ben_cli.ingest import otlp_proto
    from ben_cli.ingest.format import DecodeOptions
    from ben_cli.ingest.otlp_door import Door
    from ben_cli.ingest.summary import IngestSummary
    from ben_cli.ndjson import Writer
    from ben_cli.rejects import Rejects

    out = io.BytesIO()
    rejects_path = tmp_path / "rejects.ndjson"
    with Rejects(rejects_path, stage="ingest") as rejects:
        door = Door(Writer(out, line_buffered=False), rejects, IngestSummary(), DecodeOptions(),
                    check=lambda rec: "odd order" if rec["attrs"]["i"] % 2 else None)
        req = logs_request(6)
        outcome = door.take(otlp_proto.as_json("logs", req), "127.0.0.1:9", req.SerializeToString())
    assert (outcome.accepted, outcome.rejected) == (3, 3)
    assert outcome.message == "3 rejected; the first: odd order"
    written = [orjson.loads(x) for x in out.getvalue().splitlines()]
    assert [r["attrs"]["i"] for r in written] == [0, 2, 4]
    assert written[0]["_ingest"] == {"format": "otlp", "peer": "127.0.0.1:9", "request": 1}
    bad = [orjson.loads(x) for x in rejects_path.read_bytes().splitlines()]
    assert [orjson.loads(b["raw"])["attrs"]["i"] for b in bad] == [1, 3, 5]
    assert all(b["reason"] == "odd order" and b["file"] == "127.0.0.1:9 request" for b in bad)


def test_records_without_a_time_are_marked_and_require_ts_rejects_them(tmp_path):
    from ben_cli.ingest import otlp_proto
    from ben_cli.ingest.format import DecodeOptions
    from ben_cli.ingest.otlp_door import Door
    from ben_cli.ingest.summary import IngestSummary
    from ben_cli.ndjson import Writer
    from ben_cli.rejects import Rejects

    req = logs_request(2)
    for lr in req.resource_logs[0].scope_logs[0].log_records:
        lr.time_unix_nano = 0
    import io

    for require, accepted in ((False, 2), (True, 0)):
        out = io.BytesIO()
        summary = IngestSummary()
        door = Door(Writer(out), Rejects(), summary, DecodeOptions(require_ts=require))
        outcome = door.take(otlp_proto.as_json("logs", req), "p", b"")
        assert outcome.accepted == accepted and outcome.rejected == 2 - accepted
        if not require:
            assert all(orjson.loads(x)["_ingest"]["ts"] == "read" for x in out.getvalue().splitlines())
            assert summary.read_time == 2


def test_reading_files_never_loads_grpc_or_protobuf(tmp_path):
    """Not even OTLP/JSON lines: the extra is for the service alone."""
    code = ("import sys, io; from ben_cli import ingest; from ben_cli.ndjson import Writer; "
            "from ben_cli.rejects import Rejects; "
            "ingest.run([sys.argv[1]], Writer(io.BytesIO()), Rejects(), ingest.IngestOptions()); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('grpc', 'google', 'opentelemetry')))")
    sample = tmp_path / "otlp.ndjson"
    sample.write_text(MessageToJson(logs_request(2), indent=None) + "\n")
    done = subprocess.run([sys.executable, "-c", code, str(sample)], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("args, message", [
    (["--listen", "grpc://127.0.0.1:0", "--format", "syslog"], "receives OTLP; --format syslog cannot apply"),
    (["--listen", "http://127.0.0.1:0", "--tls-cert", "x.pem"], "--tls-cert and --tls-key go together"),
    (["--listen", "tcp://127.0.0.1:0", "--token-file", "t"], "--token-file applies to --listen grpc:// and http:// only"),
    (["--listen", "https://127.0.0.1:4318"], "write http:// and give --tls-cert and --tls-key"),
    (["--listen", "grpc://127.0.0.1:4317/v1/logs"], "only a host and a port"),
    (["--listen", "http://0.0.0.0:4318"], "not a loopback address"),
    (["--listen", "grpc://127.0.0.1:0", "--token-file", "/nonexistent/token"], "--token-file /nonexistent/token"),
])
def test_usage_errors(args, message):
    done = run_ben("ingest", *args, timeout=60)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr.decode()


def test_strict_ends_the_service_at_the_first_reject_with_status_1(tmp_path):
    ben = ListeningBen(tmp_path, "http://127.0.0.1:0", "--strict")
    status, _, _ = http_post(*ben.host_port, "/v1/logs", b'{"x": 1}', ctype="application/json")
    assert status == 400
    assert ben.proc.wait(timeout=60) == 1
    out, err, code = ben.stop()
    assert code == 1 and out == []
    assert "request:1: neither resourceLogs" in err


def test_http_connections_over_max_clients_are_closed_and_idle_ones_do_not_hold_the_drain(tmp_path):
    import http.client

    ben = ListeningBen(tmp_path, "http://127.0.0.1:0", "--max-clients", "1")
    host, port = ben.host_port
    first = http.client.HTTPConnection(host, port, timeout=30)
    try:
        first.request("POST", "/v1/logs", body=logs_request(1).SerializeToString(),
                      headers={"Content-Type": "application/x-protobuf"})
        answer = first.getresponse()
        answer.read()
        assert answer.status == 200 and not answer.will_close  # answered; the connection stays open
        with pytest.raises((ConnectionError, http.client.RemoteDisconnected, OSError)):
            http_post(host, port, "/v1/logs", logs_request(1).SerializeToString())  # a second one: closed
    finally:
        # SIGTERM with the first connection open and idle: it is hung up on, not waited for (5m idle timeout)
        out, err, code = ben.stop()
        first.close()
    assert code == 0, err
    assert len(out) == 1
    assert "refused 1" in err


def _stalled_grpc_ben(tmp_path: Path, *args: str) -> tuple[subprocess.Popen, str]:
    """ben serving gRPC with its stdout a pipe this test reads only when it chooses."""
    ben_bin = Path(sys.executable).with_name("ben")
    err_path = tmp_path / "err"
    with open(err_path, "wb") as err_file:
        proc = subprocess.Popen([str(ben_bin), "ingest", "--listen", "grpc://127.0.0.1:0", *args],
                                stdout=subprocess.PIPE, stderr=err_file, env={**os.environ, "BEN_LOAD_PLUGINS": ""})
    deadline = time.monotonic() + 20
    while "listening on" not in err_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.02)
    return proc, err_path.read_text().split("listening on grpc://")[1].split()[0]


def _blocked_export(proc: subprocess.Popen, target: str, answers: list) -> threading.Thread:
    """Send a request far bigger than a pipe holds; return once ben is writing it (and blocked)."""
    import select

    request = logs_request(2000).SerializeToString()

    def send() -> None:
        with grpc.insecure_channel(target) as channel:
            answers.append(grpc_export(channel, "logs", request, timeout=120))

    sender = threading.Thread(target=send)
    sender.start()
    assert proc.stdout is not None
    assert select.select([proc.stdout], [], [], 60)[0], "nothing written"
    return sender


def test_grpc_calls_over_max_clients_are_refused_while_one_is_under_way(tmp_path):
    proc, target = _stalled_grpc_ben(tmp_path, "--max-clients", "1")
    answers: list = []
    try:
        sender = _blocked_export(proc, target, answers)
        with grpc.insecure_channel(target) as channel:
            with pytest.raises(grpc.RpcError) as caught:
                grpc_export(channel, "logs", logs_request(1, start=5000).SerializeToString())
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        data = []
        reader = threading.Thread(target=lambda: data.extend(iter(lambda: proc.stdout.read1(), b"")))
        reader.start()
        sender.join(timeout=60)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        reader.join(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert answers == [b""]
    assert [orjson.loads(x)["attrs"]["i"] for x in b"".join(data).splitlines()] == list(range(2000))


def test_sigterm_lets_a_request_under_way_be_written_and_answered(tmp_path):
    """stdout is a pipe nobody reads: a request is blocked writing its records when SIGTERM comes;
    once the pipe is read it is answered OK, all its records are out, and ben exits 0."""
    proc, target = _stalled_grpc_ben(tmp_path, "--drain-timeout", "60s")
    answers: list = []
    try:
        sender = _blocked_export(proc, target, answers)
        proc.send_signal(signal.SIGTERM)
        data = b"".join(iter(lambda: proc.stdout.read1(), b""))
        sender.join(timeout=60)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert answers == [b""]  # answered, nothing rejected
    out = [orjson.loads(x) for x in data.splitlines()]
    assert [r["attrs"]["i"] for r in out] == list(range(2000))


# -- one mapping, as a property ---------------------------------------------------------------------

def _any_values():
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList

    scalars = st.one_of(
        st.text(max_size=6).map(lambda v: AnyValue(string_value=v)),
        st.integers(-(2**63), 2**63 - 1).map(lambda v: AnyValue(int_value=v)),
        st.booleans().map(lambda v: AnyValue(bool_value=v)),
        st.floats().map(lambda v: AnyValue(double_value=v)),  # NaN and the infinities too
        st.binary(max_size=6).map(lambda v: AnyValue(bytes_value=v)),
        st.just(AnyValue()))
    return st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda vs: AnyValue(array_value=ArrayValue(values=vs))),
        st.lists(st.tuples(st.sampled_from(["a", "b", "a.b"]), inner), max_size=3).map(
            lambda kvs: AnyValue(kvlist_value=KeyValueList(values=[KeyValue(key=k, value=v) for k, v in kvs])))),
        max_leaves=6)


def _key_values():
    from opentelemetry.proto.common.v1.common_pb2 import KeyValue

    return st.lists(st.tuples(st.sampled_from(["k", "service.name", "a", "a.b", "scope.name"]), _any_values()),
                    max_size=5).map(lambda kvs: [KeyValue(key=k, value=v) for k, v in kvs])


@st.composite
def _requests(draw):
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.logs.v1 import logs_pb2 as lg
    from opentelemetry.proto.resource.v1.resource_pb2 import Resource
    from opentelemetry.proto.trace.v1 import trace_pb2 as tr

    times = st.integers(0, 2**64 - 1)
    ids = st.one_of(st.binary(min_size=16, max_size=16), st.binary(min_size=8, max_size=8), st.binary(max_size=20))
    resource = Resource(attributes=draw(_key_values()))
    if draw(st.booleans()):
        records = [lg.LogRecord(time_unix_nano=draw(times), observed_time_unix_nano=draw(times),
                                severity_number=draw(st.integers(0, 24)), severity_text=draw(st.sampled_from(["", "WARN", "x"])),
                                body=draw(_any_values()), attributes=draw(_key_values()), trace_id=draw(ids),
                                span_id=draw(ids), event_name=draw(st.sampled_from(["", "login"])))
                   for _ in range(draw(st.integers(1, 3)))]
        return "logs", ExportLogsServiceRequest(resource_logs=[lg.ResourceLogs(
            resource=resource, scope_logs=[lg.ScopeLogs(scope=SCOPE, log_records=records)])])
    spans = [tr.Span(name=draw(st.sampled_from(["", "GET /", "q"])), trace_id=draw(ids), span_id=draw(ids),
                     parent_span_id=draw(ids), kind=draw(st.integers(0, 5)), start_time_unix_nano=draw(times),
                     end_time_unix_nano=draw(times), attributes=draw(_key_values()),
                     status=tr.Status(code=draw(st.integers(0, 2)), message=draw(st.sampled_from(["", "boom"]))))
             for _ in range(draw(st.integers(1, 3)))]
    return "traces", ExportTraceServiceRequest(resource_spans=[tr.ResourceSpans(
        resource=resource, scope_spans=[tr.ScopeSpans(scope=SCOPE, spans=spans)])])


@settings(max_examples=300, deadline=None)
@given(_requests())
def test_any_protobuf_request_decodes_as_its_json_encoding_does(signal_and_request):
    """Whatever a request holds (every AnyValue kind, NaN, ids of any length, times to 2^64), the
    protobuf reader and protobuf's own JSON give the same envelopes, or the same rejects."""
    from ben_cli.ingest import otlp_proto
    from ben_cli.ingest.format import DecodeOptions
    from ben_cli.ingest.otlp import OtlpDecoder

    signal_name, req = signal_and_request
    decoder = OtlpDecoder(DecodeOptions(clock=lambda: T))

    def outcome(request):
        bad: list = []
        out = decoder.request(request, lambda reason, item: bad.append(reason))
        return out, bad

    from_proto = outcome(otlp_proto.as_json(signal_name, otlp_proto.parse(signal_name, req.SerializeToString())))
    from_json = outcome(orjson.loads(MessageToJson(req)))
    assert from_proto == from_json


def test_values_nested_as_deep_as_json_allows_are_answered_not_dropped(tmp_path):
    """300 levels of arrays and of key-value lists (900 and 1,200 levels of JSON, about what orjson
    reads): each request is answered, the deep record kept or rejected alone, the other one written."""
    deep_array = '{"arrayValue":{"values":[' * 300 + '{"stringValue":"x"}' + "]}}" * 300
    deep_kvlist = '{"kvlistValue":{"values":[{"key":"a","value":' * 250 + '{"intValue":"1"}' + "}]}}" * 250
    rejects = tmp_path / "rejects.ndjson"
    ben = ListeningBen(tmp_path, "http://127.0.0.1:0", "--rejects", str(rejects))
    answers = []
    try:
        for value in (deep_array, deep_kvlist):
            body = ('{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"' + str(T)
                    + '","attributes":[{"key":"deep","value":' + value + '}]},{"timeUnixNano":"' + str(T + 1)
                    + '","body":{"stringValue":"fine"}}]}]}]}')
            answers.append(http_post(*ben.host_port, "/v1/logs", body.encode(), ctype="application/json"))
    finally:
        out, err, code = ben.stop()
    assert code == 0, err
    assert [status for status, _, _ in answers] == [200, 200], answers
    assert orjson.loads(answers[0][2])["partialSuccess"]["rejectedLogRecords"] == 1  # the array: too deep to write
    assert answers[1][2] == b"{}"  # the key-value lists flatten into one long dotted key
    assert [r.get("body") for r in out] == ["fine", None, "fine"]
    assert out[1]["attrs"]["deep" + ".a" * 250] == 1
    assert orjson.loads(rejects.read_bytes())["raw"] == '"(nested too deeply to be written back)"'

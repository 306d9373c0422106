"""What the OTLP service's tests share: export requests of every kind, raw gRPC and HTTP clients,
and a small certificate authority made at test time (``cryptography``)."""

from __future__ import annotations

import datetime
import gzip
import http.client
import ipaddress
import ssl
from pathlib import Path

import grpc
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, InstrumentationScope, KeyValue
from opentelemetry.proto.logs.v1 import logs_pb2 as lg
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1 import trace_pb2 as tr

T = 1_795_600_000_123_456_789
METHODS = {"logs": "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
           "metrics": "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
           "traces": "/opentelemetry.proto.collector.trace.v1.TraceService/Export"}


def kv(key: str, value: object) -> KeyValue:
    if isinstance(value, bool):
        v = AnyValue(bool_value=value)
    elif isinstance(value, int):
        v = AnyValue(int_value=value)
    elif isinstance(value, float):
        v = AnyValue(double_value=value)
    elif isinstance(value, list):
        v = AnyValue(array_value=ArrayValue(values=[kv("x", x).value for x in value]))
    else:
        v = AnyValue(string_value=str(value))
    return KeyValue(key=key, value=v)


RESOURCE = Resource(attributes=[kv("service.name", "checkout"), kv("host.name", "web-1")])
SCOPE = InstrumentationScope(name="shop.lib", version="2.0")


def logs_request(n: int = 3, start: int = 0) -> ExportLogsServiceRequest:
    return ExportLogsServiceRequest(resource_logs=[lg.ResourceLogs(resource=RESOURCE, scope_logs=[lg.ScopeLogs(
        scope=SCOPE, log_records=[lg.LogRecord(
            time_unix_nano=T + i, severity_number=9 + i % 16, body=AnyValue(string_value=f"event {i}"),
            attributes=[kv("i", i), kv("ok", i % 2 == 0), kv("ratio", i / 4), kv("tags", ["a", 1])],
            trace_id=bytes(range(16)), span_id=bytes(range(8)))
            for i in range(start, start + n)])])])


def metrics_request() -> ExportMetricsServiceRequest:
    """Every kind of metric: gauge, sum, histogram, exponential histogram, summary."""
    metrics = [
        m.Metric(name="cpu.usage", unit="%", gauge=m.Gauge(data_points=[
            m.NumberDataPoint(time_unix_nano=T, as_double=v, attributes=[kv("core", str(i))])
            for i, v in enumerate((12.5, 0.0, float("nan")))])),
        m.Metric(name="http.requests", unit="1", description="requests served", sum=m.Sum(
            aggregation_temporality=m.AGGREGATION_TEMPORALITY_CUMULATIVE, is_monotonic=True,
            data_points=[m.NumberDataPoint(time_unix_nano=T, start_time_unix_nano=T - 10**9, as_int=v,
                                           attributes=[kv("route", r)]) for r, v in (("/a", 0), ("/b", 42))])),
        m.Metric(name="http.latency", unit="ms", histogram=m.Histogram(
            aggregation_temporality=m.AGGREGATION_TEMPORALITY_DELTA,
            data_points=[m.HistogramDataPoint(time_unix_nano=T, count=6, sum=123.5, min=1.0, max=80.0,
                                              bucket_counts=[1, 2, 0, 3], explicit_bounds=[5.0, 10.0, 50.0])])),
        m.Metric(name="queue.wait", unit="s", exponential_histogram=m.ExponentialHistogram(
            aggregation_temporality=m.AGGREGATION_TEMPORALITY_DELTA,
            data_points=[m.ExponentialHistogramDataPoint(time_unix_nano=T, count=5, sum=2.5, scale=3, zero_count=1,
                                                         min=0.0, max=1.5)])),
        m.Metric(name="rpc.duration", unit="ms", summary=m.Summary(data_points=[m.SummaryDataPoint(
            time_unix_nano=T, count=10, sum=55.0, quantile_values=[
                m.SummaryDataPoint.ValueAtQuantile(quantile=0.5, value=4.0),
                m.SummaryDataPoint.ValueAtQuantile(quantile=0.99, value=9.5)])])),
    ]
    return ExportMetricsServiceRequest(resource_metrics=[m.ResourceMetrics(resource=RESOURCE, scope_metrics=[
        m.ScopeMetrics(scope=SCOPE, metrics=metrics)])])


def traces_request() -> ExportTraceServiceRequest:
    spans = [tr.Span(trace_id=bytes(range(16)), span_id=bytes([i] * 8), parent_span_id=b"" if i == 1 else bytes([1] * 8),
                     name=f"GET /item/{i}", kind=tr.Span.SPAN_KIND_SERVER, start_time_unix_nano=T + i,
                     end_time_unix_nano=T + i + 1_500_001, attributes=[kv("http.status_code", 200 + i)],
                     status=tr.Status(code=tr.Status.STATUS_CODE_ERROR if i == 2 else tr.Status.STATUS_CODE_OK,
                                      message="boom" if i == 2 else ""))
             for i in (1, 2)]
    return ExportTraceServiceRequest(resource_spans=[tr.ResourceSpans(resource=RESOURCE, scope_spans=[
        tr.ScopeSpans(scope=SCOPE, spans=spans)])])


# -- raw clients ---------------------------------------------------------------------------------

def grpc_export(channel: grpc.Channel, signal: str, data: bytes, metadata: tuple = (), timeout: float = 30) -> bytes:
    """Send ``data`` (a serialised request, or any bytes) to the signal's Export; the raw answer."""
    call = channel.unary_unary(METHODS[signal], request_serializer=None, response_deserializer=None)
    return call(data, metadata=metadata, timeout=timeout)


def http_post(host: str, port: int, path: str, body: bytes, ctype: str = "application/x-protobuf",
              headers: dict | None = None, context: ssl.SSLContext | None = None, gzipped: bool = False
              ) -> tuple[int, dict, bytes]:
    conn = (http.client.HTTPSConnection(host, port, context=context, timeout=30) if context is not None
            else http.client.HTTPConnection(host, port, timeout=30))
    hdrs = {"Content-Type": ctype, **(headers or {})}
    if gzipped:
        body = gzip.compress(body)
        hdrs["Content-Encoding"] = "gzip"
    try:
        conn.request("POST", path, body=body, headers=hdrs)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


# -- a certificate authority made for the test ---------------------------------------------------

class MadeCA:
    """A CA and the certificates it signs, written as PEM files under ``folder``."""

    def __init__(self, folder: Path, name: str):
        from cryptography import x509
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        self.folder, self.name = folder, name
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} test CA")])
        now = datetime.datetime.now(datetime.UTC)
        self.cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .sign(self.key, _sha256()))
        self.ca_path = self._write(f"{name}-ca.pem", self._pem_cert(self.cert))

    @staticmethod
    def _pem_cert(cert) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return cert.public_bytes(serialization.Encoding.PEM)

    def _write(self, filename: str, data: bytes) -> Path:
        path = self.folder / filename
        path.write_bytes(data)
        return path

    def issue(self, common_name: str, server: bool) -> tuple[Path, Path]:
        """A certificate for ``common_name`` (a server's for 127.0.0.1 and localhost, or a client's):
        the paths of its PEM certificate and key."""
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
                   .issuer_name(self.cert.subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server
                                                         else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False))
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        cert = builder.sign(self.key, _sha256())
        cert_path = self._write(f"{self.name}-{common_name}.pem", self._pem_cert(cert))
        key_path = self._write(f"{self.name}-{common_name}.key", key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        key_path.chmod(0o600)
        return cert_path, key_path


def _sha256():
    from cryptography.hazmat.primitives import hashes

    return hashes.SHA256()

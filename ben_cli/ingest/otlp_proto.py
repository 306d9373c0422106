"""OTLP's protobuf encoding, read into the shape of its JSON encoding.

The OTLP service (``ben_cli/ingest/otlp_service.py``) receives export requests as protobuf (gRPC,
and HTTP with ``application/x-protobuf``). Rather than a second mapping to envelopes, a request is
put in the shape protobuf's own JSON printer gives it (lowerCamelCase names, ids as hex, defaults
left out, non-finite doubles as ``"NaN"``/``"Infinity"``; attributes come already flat, read by
the mapping's own functions, see :class:`~ben_cli.ingest.otlp.Flat`) and handed to the one mapping
(:meth:`ben_cli.ingest.otlp.OtlpDecoder.request`). A test holds the three encodings to the same
envelopes. This walk is written by hand, not ``json_format.MessageToDict``: it reads only the
fields the mapping uses and is several times faster.

Needs ``opentelemetry-proto`` and ``protobuf`` (the ``ben[otlp]`` extra): imported only by the
service.
"""

from __future__ import annotations

import base64
import math
from typing import Any

from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs_pb
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as metrics_pb
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_pb

from ben_cli.ingest.envelope import flatten_into
from ben_cli.ingest.format import DecodeError
from ben_cli.ingest.otlp import Flat
from ben_cli.ingest.otlp import any_value as otlp_any_value

# the export request message of each signal, by the name the HTTP paths and gRPC services use
REQUESTS: dict[str, Any] = {"logs": logs_pb.ExportLogsServiceRequest, "metrics": metrics_pb.ExportMetricsServiceRequest,
                            "traces": trace_pb.ExportTraceServiceRequest}
# signal -> (the export response, its partial success and the count field of that)
RESPONSES: dict[str, tuple[Any, Any, str]] = {
    "logs": (logs_pb.ExportLogsServiceResponse, logs_pb.ExportLogsPartialSuccess, "rejected_log_records"),
    "metrics": (metrics_pb.ExportMetricsServiceResponse, metrics_pb.ExportMetricsPartialSuccess, "rejected_data_points"),
    "traces": (trace_pb.ExportTraceServiceResponse, trace_pb.ExportTracePartialSuccess, "rejected_spans"),
}


def parse(signal: str, data: bytes) -> Any:
    """The export request of ``signal`` in ``data``; :class:`DecodeError` when it is not one."""
    message = REQUESTS[signal]()
    try:
        message.ParseFromString(data)
    except Exception as exc:  # protobuf's DecodeError, or a RuntimeError of the upb parser on deep nesting
        raise DecodeError(f"not a protobuf {message.DESCRIPTOR.name}: {exc}") from None
    return message


def response(signal: str, rejected: int, message: str) -> bytes:
    """The export response, serialised: empty, or with ``partial_success`` when some were rejected."""
    kind, partial, field = RESPONSES[signal]
    if not rejected:
        return kind().SerializeToString()
    return kind(partial_success=partial(**{field: rejected}, error_message=message)).SerializeToString()


def as_json(signal: str, message: Any) -> dict:
    """An export request message in the shape of its OTLP/JSON encoding."""
    if signal == "logs":
        return {"resourceLogs": [_resource(rl, "scopeLogs", [
            _scope(sl, "logRecords", [_log(lr) for lr in sl.log_records]) for sl in rl.scope_logs])
            for rl in message.resource_logs]}
    if signal == "metrics":
        return {"resourceMetrics": [_resource(rm, "scopeMetrics", [
            _scope(sm, "metrics", [_metric(m) for m in sm.metrics]) for sm in rm.scope_metrics])
            for rm in message.resource_metrics]}
    return {"resourceSpans": [_resource(rs, "scopeSpans", [
        _scope(ss, "spans", [_span(sp) for sp in ss.spans]) for ss in rs.scope_spans])
        for rs in message.resource_spans]}


def _id(raw: bytes) -> str:
    """A trace or span id as the JSON mapping reads it: hex at the protocol's lengths, else base64
    (as protobuf's printer writes bytes), so a malformed id is judged the same in both encodings."""
    return raw.hex() if len(raw) in (8, 16) else base64.b64encode(raw).decode("ascii")


def _double(d: float) -> float | str:
    if math.isfinite(d):
        return d
    return "NaN" if d != d else ("Infinity" if d > 0 else "-Infinity")


# (protobuf field, JSON name, conversion or None): the plain fields a message copies when set
Fields = tuple[tuple[str, str, Any], ...]


def _set_fields(msg: Any, fields: Fields, into: dict | None = None) -> dict:
    """Copy the fields of ``msg`` that are set, as protobuf's JSON printer does: a field at its default
    (0, "", empty) is left out, so both encodings give the mapping the same keys."""
    out: dict = {} if into is None else into
    for name, key, convert in fields:
        value = getattr(msg, name)
        if value:
            out[key] = convert(value) if convert is not None else value
    return out


def any_value(v: Any) -> dict:
    which = v.WhichOneof("value")
    if which == "string_value":
        return {"stringValue": v.string_value}
    if which == "int_value":
        return {"intValue": v.int_value}
    if which == "bool_value":
        return {"boolValue": v.bool_value}
    if which == "double_value":
        return {"doubleValue": _double(v.double_value)}
    if which == "array_value":
        return {"arrayValue": {"values": [any_value(x) for x in v.array_value.values]}}
    if which == "kvlist_value":
        return {"kvlistValue": {"values": [{"key": kv.key, "value": any_value(kv.value)} for kv in v.kvlist_value.values]}}
    if which == "bytes_value":
        return {"bytesValue": base64.b64encode(v.bytes_value).decode("ascii")}
    return {}


def attributes(kvs: Any) -> Flat:
    """Attributes read straight into their flat form (see :class:`~ben_cli.ingest.otlp.Flat`): the
    scalar kinds as :func:`~ben_cli.ingest.otlp.attributes_into` reads them, the others through
    the JSON mapping's own functions."""
    out = Flat()
    for kv in kvs:
        v = kv.value
        which = v.WhichOneof("value")
        if which == "string_value":
            out[kv.key] = v.string_value
        elif which == "int_value" or which == "bool_value":
            out[kv.key] = getattr(v, which)
        elif which == "double_value":
            out[kv.key] = _double(v.double_value)
        elif which is not None:
            flatten_into(out, kv.key, otlp_any_value(any_value(v)))
    return out


_SCOPE: Fields = (("name", "name", None), ("version", "version", None), ("attributes", "attributes", attributes))
_LOG: Fields = (("time_unix_nano", "timeUnixNano", None), ("observed_time_unix_nano", "observedTimeUnixNano", None),
                ("severity_number", "severityNumber", None), ("severity_text", "severityText", None),
                ("attributes", "attributes", attributes), ("trace_id", "traceId", _id), ("span_id", "spanId", _id),
                ("event_name", "eventName", None))
_POINT: Fields = (("attributes", "attributes", attributes), ("start_time_unix_nano", "startTimeUnixNano", None),
                  ("time_unix_nano", "timeUnixNano", None))
_METRIC: Fields = (("name", "name", None), ("description", "description", None), ("unit", "unit", None))
_EXPONENTIAL: Fields = (("scale", "scale", None), ("zero_count", "zeroCount", None))
_SPAN: Fields = (("trace_id", "traceId", _id), ("span_id", "spanId", _id), ("parent_span_id", "parentSpanId", _id),
                 ("name", "name", None), ("kind", "kind", None), ("start_time_unix_nano", "startTimeUnixNano", None),
                 ("end_time_unix_nano", "endTimeUnixNano", None), ("attributes", "attributes", attributes))
_STATUS: Fields = (("message", "message", None), ("code", "code", None))


def _resource(r: Any, scopes_key: str, scopes: list[dict]) -> dict:
    out: dict = {}
    if r.HasField("resource"):
        out["resource"] = {"attributes": attributes(r.resource.attributes)}
    out[scopes_key] = scopes
    return out


def _scope(s: Any, items_key: str, items: list[dict]) -> dict:
    out: dict = {}
    if s.HasField("scope"):
        out["scope"] = _set_fields(s.scope, _SCOPE)
    out[items_key] = items
    return out


def _log(lr: Any) -> dict:
    d = _set_fields(lr, _LOG)
    if lr.HasField("body"):
        d["body"] = any_value(lr.body)
    return d


def _times(p: Any, d: dict) -> dict:
    return _set_fields(p, _POINT, d)


def _number(p: Any) -> dict:
    d = _times(p, {})
    which = p.WhichOneof("value")
    if which == "as_double":
        d["asDouble"] = _double(p.as_double)
    elif which == "as_int":
        d["asInt"] = p.as_int
    return d


def _count_sum_min_max(p: Any, d: dict, sum_optional: bool = True) -> dict:
    if p.count:
        d["count"] = p.count
    if (p.HasField("sum") if sum_optional else p.sum):
        d["sum"] = _double(p.sum)
    if sum_optional:
        for field in ("min", "max"):
            if p.HasField(field):
                d[field] = _double(getattr(p, field))
    return d


def _histogram_point(p: Any) -> dict:
    d = _count_sum_min_max(p, _times(p, {}))
    if len(p.bucket_counts):
        d["bucketCounts"] = list(p.bucket_counts)
    if len(p.explicit_bounds):
        d["explicitBounds"] = [_double(b) for b in p.explicit_bounds]
    return d


def _summary_point(p: Any) -> dict:
    d = _count_sum_min_max(p, _times(p, {}), sum_optional=False)
    if len(p.quantile_values):
        d["quantileValues"] = [{k: v for k, v in (("quantile", q.quantile), ("value", _double(q.value))) if v}
                               for q in p.quantile_values]
    return d


def _metric(m: Any) -> dict:
    d = _set_fields(m, _METRIC)
    which = m.WhichOneof("data")
    if which == "gauge":
        d["gauge"] = {"dataPoints": [_number(p) for p in m.gauge.data_points]}
    elif which == "sum":
        body: dict = {"dataPoints": [_number(p) for p in m.sum.data_points]}
        if m.sum.aggregation_temporality:
            body["aggregationTemporality"] = m.sum.aggregation_temporality
        if m.sum.is_monotonic:
            body["isMonotonic"] = True
        d["sum"] = body
    elif which in ("histogram", "exponential_histogram"):
        h = getattr(m, which)
        point = _histogram_point if which == "histogram" else _exponential_point
        body = {"dataPoints": [point(p) for p in h.data_points]}
        if h.aggregation_temporality:
            body["aggregationTemporality"] = h.aggregation_temporality
        d["histogram" if which == "histogram" else "exponentialHistogram"] = body
    elif which == "summary":
        d["summary"] = {"dataPoints": [_summary_point(p) for p in m.summary.data_points]}
    return d


def _exponential_point(p: Any) -> dict:
    return _set_fields(p, _EXPONENTIAL, _count_sum_min_max(p, _times(p, {})))


def _span(sp: Any) -> dict:
    d = _set_fields(sp, _SPAN)
    if len(sp.events):
        d["events"] = [{"name": e.name} for e in sp.events]
    if sp.HasField("status"):
        d["status"] = _set_fields(sp.status, _STATUS)
    return d

"""OTLP/JSON, the OpenTelemetry protocol's JSON encoding: logs, metrics and traces.

Each line is one export request (``{"resourceLogs": [...]}`` or ``{"resourceMetrics": [...]}``),
as the OpenTelemetry Collector's file exporter writes them. Every log record and every metric
data point becomes one envelope:

- ``ts`` from ``timeUnixNano`` (``observedTimeUnixNano`` when zero), all nine digits kept;
- ``source`` from the resource's ``service.name``;
- ``attrs``: resource attributes, then scope ``scope.name``/``scope.version`` and scope
  attributes, then the record's or point's own attributes (a later level wins on a clash);
  nested values flatten into dotted keys, arrays into JSON text;
- logs: ``severity`` from ``severityNumber`` (or ``severityText``), ``body`` from the body,
  ``trace_id``/``span_id`` as hex;
- metrics: ``name`` and ``unit`` from the metric, ``value`` from ``asDouble``/``asInt`` for gauges
  and sums (``otel.type``, ``otel.temporality``, ``otel.monotonic`` in attrs); a histogram becomes
  its series as Prometheus writes them: ``NAME.count``, ``NAME.sum``, ``NAME.min``, ``NAME.max``
  and one ``NAME.bucket`` per bucket with a cumulative count and its upper bound in ``attrs.le``;
- traces: one ``event`` record per span, ``ts`` its start, ``value`` its duration in ms, the end
  (``otel.end_ts``, to the nanosecond), ids, kind and status in attrs; ``severity: error`` when
  the span's status is an error.

The same mapping serves the protobuf encoding (``ben_cli/ingest/otlp_proto.py`` puts a protobuf
request in this shape) and the OTLP service (``--listen grpc://`` and ``http://``), where
:meth:`OtlpDecoder.request` rejects a bad item alone instead of the whole request.

Both field spellings are read: lowerCamelCase (the OTLP/JSON spec and protobuf's default JSON)
and snake_case (protobuf's ``preserving_proto_field_name``); int64 values may be strings; trace
ids may be hex (the spec) or base64 (protobuf's generic bytes encoding).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import orjson

from ben_cli.ingest.envelope import flatten_into
from ben_cli.ingest.format import READ_TS, DecodeError, DecodeOptions, Format, register_format
from ben_cli.record import format_ts, normalise_severity

_SNAKE = re.compile(r"(?<!^)(?=[A-Z])")
_ENUM_TEMPORALITY = {1: "delta", 2: "cumulative", "AGGREGATION_TEMPORALITY_DELTA": "delta",
                     "AGGREGATION_TEMPORALITY_CUMULATIVE": "cumulative"}
_HEX_ID = re.compile(r"[0-9a-fA-F]{16}|[0-9a-fA-F]{32}")
_SEVERITY_BY_NUMBER = ("trace", "debug", "info", "warn", "error", "fatal")
_STATUS = {0: "unset", 1: "ok", 2: "error", "STATUS_CODE_UNSET": "unset", "STATUS_CODE_OK": "ok",
           "STATUS_CODE_ERROR": "error"}
_SPAN_KINDS = ("unspecified", "internal", "server", "client", "producer", "consumer")
_SPAN_KIND: dict[object, str] = {**dict(enumerate(_SPAN_KINDS)), **{f"SPAN_KIND_{k.upper()}": k for k in _SPAN_KINDS}}


_SNAKE_NAMES: dict[str, str] = {}  # lowerCamelCase -> snake_case, for the few field names there are


def _get(obj: Any, camel: str, default: Any = None) -> Any:
    """A field by its lowerCamelCase name or its snake_case proto name. Typed Any: it is parsed JSON,
    and a request of the wrong shape fails as a TypeError that :meth:`OtlpDecoder.decode` rejects."""
    if camel in obj:
        return obj[camel]
    snake = _SNAKE_NAMES.get(camel)
    if snake is None:
        snake = _SNAKE_NAMES[camel] = _SNAKE.sub("_", camel).lower()
    return obj.get(snake, default)


# a log record's fields by their protobuf names, and the lowerCamelCase names _log reads them by
_LOG_CAMEL = {_SNAKE.sub("_", camel).lower(): camel
              for camel in ("timeUnixNano", "observedTimeUnixNano", "severityNumber", "severityText", "eventName",
                            "traceId", "spanId")}


def camel_keys(obj: dict) -> dict:
    """``obj`` with the protobuf (snake_case) names of log record fields spelled lowerCamelCase;
    where both spellings of a field are present the lowerCamelCase one wins, as in :func:`_get`."""
    out = {_LOG_CAMEL[k]: v for k, v in obj.items() if k in _LOG_CAMEL}
    out.update((k, v) for k, v in obj.items() if k not in _LOG_CAMEL)
    return out


def _int(value: object, what: str) -> int:
    """An int64 or uint64 field, written as a JSON number or (the spec's way) as a string."""
    if type(value) is str and value.isascii() and value.lstrip("-").isdigit():
        value = int(value)
    elif type(value) is float and value.is_integer():
        value = int(value)
    if type(value) is not int:
        raise DecodeError(f"{what} is not an integer: {str(value)[:40]!r}")
    if not -(1 << 63) <= value < 1 << 64:
        raise DecodeError(f"{what} is outside the 64-bit range: {str(value)[:40]}")
    return value


def any_value(value: object) -> object:
    """An OTLP AnyValue as a plain JSON value."""
    if type(value) is dict and len(value) == 1:  # the usual {"stringValue": ...} or {"intValue": ...}
        v = value.get("stringValue")
        if type(v) is str:
            return v
        v = value.get("intValue")
        if v is not None:
            return _int(v, "intValue")
    return any_value_general(value)


def any_value_general(value: object) -> object:
    """:func:`any_value` for every spelling and kind, in the order of preference it defines."""
    if not isinstance(value, dict):
        raise DecodeError("attribute value is not an AnyValue object")
    for key, conv in (("stringValue", str), ("boolValue", bool), ("doubleValue", float)):
        v = _get(value, key)
        if v is not None:
            if key == "doubleValue" and isinstance(v, str):  # protobuf writes "NaN", "Infinity"
                return v
            return conv(v) if not isinstance(v, conv) else v
    v = _get(value, "intValue")
    if v is not None:
        return _int(v, "intValue")
    v = _get(value, "arrayValue")
    if v is not None:
        return [any_value(x) for x in _get(v, "values", [])]
    v = _get(value, "kvlistValue")
    if v is not None:
        return {kv["key"]: any_value(kv.get("value", {})) for kv in _get(v, "values", [])}
    v = _get(value, "bytesValue")
    if v is not None:
        return v
    return None


class Flat(dict):
    """Attributes already read into their flat form, key by key in order, with :func:`any_value`
    and :func:`flatten_into` as :func:`attributes_into` would: how the protobuf reader
    (``otlp_proto.py``) hands them over, sparing a dict per attribute."""


def attributes_into(attrs: dict, items: object) -> None:
    if items is None:
        return
    if type(items) is Flat:
        attrs.update(items)
        return
    if type(items) is not list:
        raise DecodeError("attributes must be a list of {key, value}")
    for kv in items:
        if type(kv) is not dict or type(key := kv.get("key")) is not str:
            raise DecodeError("attribute without a key")
        value = kv.get("value", {})
        if type(value) is dict and len(value) == 1:
            # the two commonest kinds go in as flatten_into(any_value(...)) would put them
            v = value.get("stringValue")
            if type(v) is str:
                attrs[key] = v
                continue
            v = value.get("intValue")
            if type(v) is str and v.isascii() and v.isdigit() and len(v) < 19:
                attrs[key] = int(v)
                continue
        flatten_into(attrs, key, any_value(value))


def hex_id(value: object) -> str | None:
    """A trace or span id as lowercase hex, from hex or base64 text."""
    if not value or not isinstance(value, str):
        return None
    if _HEX_ID.fullmatch(value):
        return value.lower()
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise DecodeError(f"id is neither hex nor base64: {value[:40]!r}") from None
    return raw.hex()


def _time(obj: dict, *fields: str) -> int:
    """The first non-zero of these times (0: none), in nanoseconds since 1970 (uint64: the latest
    is in the year 2554)."""
    for f in fields:
        v = _get(obj, f)
        if v is not None:
            ns = _int(v, f)
            if ns:
                if ns < 0:  # fixed64 in the protocol
                    raise DecodeError(f"{f} {ns} is before 1970")
                return ns
    return 0


class OtlpDecoder:
    def __init__(self, options: DecodeOptions):
        self.options = options

    def _now(self) -> str:
        return format_ts(self.options.clock())

    def decode(self, data: bytes) -> list[dict]:
        try:
            req = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise DecodeError(f"invalid JSON: {exc}") from None
        return self.request(req)

    def request(self, req: object, bad: Callable[[str, object], None] | None = None) -> list[dict]:
        """The envelopes of one export request (parsed JSON, or a protobuf request in the same shape:
        :mod:`ben_cli.ingest.otlp_proto`). A request of the wrong shape raises :class:`DecodeError`;
        so does a bad log record, metric or span, unless ``bad`` is given: it is then told
        ``(reason, item)`` and the request's other items are kept (the service's partial success)."""
        if not isinstance(req, dict):
            raise DecodeError("an OTLP request is a JSON object")
        logs = _get(req, "resourceLogs")
        metrics = _get(req, "resourceMetrics")
        spans = _get(req, "resourceSpans")
        if logs is None and metrics is None and spans is None:
            raise DecodeError("neither resourceLogs, resourceMetrics nor resourceSpans: not an OTLP/JSON request")
        out: list[dict] = []
        try:
            if logs is not None:
                self._items(out, logs, "scopeLogs", "logRecords", self._log_into, bad)
            if metrics is not None:
                self._items(out, metrics, "scopeMetrics", "metrics", self._metric_into, bad)
            if spans is not None:
                self._items(out, spans, "scopeSpans", "spans", self._span_into, bad)
        except (TypeError, AttributeError, KeyError) as exc:
            raise DecodeError(f"malformed OTLP request: {type(exc).__name__}: {exc}") from None
        except RecursionError:
            raise DecodeError("malformed OTLP request: values nested too deeply") from None
        return out

    def _items(self, out: list[dict], resources: object, scopes_key: str, items_key: str,
               into: Callable[[list[dict], dict, dict, dict], None], bad: Callable[[str, object], None] | None) -> None:
        if bad is None:
            for resource, scope_attrs, item in self._walk(resources, scopes_key, items_key):
                into(out, resource, scope_attrs, item)
            return
        for resource, scope_attrs, item in self._walk(resources, scopes_key, items_key):
            mark = len(out)
            try:
                into(out, resource, scope_attrs, item)
            except (DecodeError, TypeError, AttributeError, KeyError, ValueError, RecursionError) as exc:
                del out[mark:]  # an item is taken whole or not at all
                reason = (str(exc) if isinstance(exc, DecodeError) else "values nested too deeply"
                          if isinstance(exc, RecursionError) else f"malformed {items_key[:-1]}: {type(exc).__name__}: {exc}")
                bad(reason, item)

    def _log_into(self, out: list[dict], resource: dict, scope_attrs: dict, item: dict) -> None:
        out.append(self._log(resource, scope_attrs, item))

    def _metric_into(self, out: list[dict], resource: dict, scope_attrs: dict, item: dict) -> None:
        out.extend(self._metric(resource, scope_attrs, item))

    def _span_into(self, out: list[dict], resource: dict, scope_attrs: dict, span: dict) -> None:
        """A span as one ``event`` record: its name, its start as ``ts``, its duration in ms as
        ``value``; the end to the nanosecond, ids, kind and status in attrs."""
        name = _get(span, "name")
        if not isinstance(name, str) or not name:
            raise DecodeError("span without a name")
        start = _time(span, "startTimeUnixNano")
        end = _time(span, "endTimeUnixNano")
        rec = self._envelope(resource, start, name)
        rec["lane"] = "event"
        if start and end >= start:
            rec["value"] = (end - start) / 1e6
            rec["unit"] = "ms"
        status = _get(span, "status") or {}
        code = _STATUS.get(_get(status, "code", 0), "unset")
        if code == "error":
            rec["severity"] = "error"
        message = _get(status, "message")
        if message:
            rec["body"] = str(message)
        attrs = dict(scope_attrs)
        attributes_into(attrs, _get(span, "attributes"))
        kind = _get(span, "kind")
        attrs["otel.span_kind"] = _SPAN_KIND.get(kind, "unspecified")
        attrs["otel.status_code"] = code
        if end:
            attrs["otel.end_ts"] = format_ts(end)
        for field, key in (("traceId", "trace_id"), ("spanId", "span_id"), ("parentSpanId", "parent_span_id")):
            ident = hex_id(_get(span, field))
            if ident:
                attrs[key] = ident
        events = _get(span, "events")
        if events:
            attrs["otel.events"] = len(events)
        rec["attrs"] = attrs
        out.append(rec)

    def _walk(self, resources: object, scopes_key: str, items_key: str) -> Iterator[tuple[dict, dict, dict]]:
        """``(resource attrs, resource+scope attrs, item)`` for every item of every scope."""
        if not isinstance(resources, list):
            raise DecodeError("resource list is not a list")
        for res in resources:
            r_attrs: dict = {}
            attributes_into(r_attrs, _get(_get(res, "resource") or {}, "attributes"))
            for scope in _get(res, scopes_key) or []:
                s_attrs = dict(r_attrs)
                info = _get(scope, "scope") or {}
                if _get(info, "name"):
                    s_attrs["scope.name"] = _get(info, "name")
                if _get(info, "version"):
                    s_attrs["scope.version"] = _get(info, "version")
                attributes_into(s_attrs, _get(info, "attributes"))
                for item in _get(scope, items_key) or []:
                    if not isinstance(item, dict):
                        raise DecodeError(f"an entry of {items_key} is not an object")
                    yield r_attrs, s_attrs, item

    def _envelope(self, resource: dict, ns: int, name: str) -> dict:
        rec: dict = {"ts": format_ts(ns) if ns else self._now(), "lane": self.options.lane}
        if not ns:
            rec["_ingest"] = READ_TS  # moved to the end by the core
        source = resource.get("service.name")
        if isinstance(source, str) and source:
            rec["source"] = source
        elif self.options.source is not None:
            rec["source"] = self.options.source
        rec["name"] = name
        return rec

    def _log(self, resource: dict, scope_attrs: dict, lr: dict) -> dict:
        if not _LOG_CAMEL.keys().isdisjoint(lr):
            lr = camel_keys(lr)
        get = lr.get  # every field below by its lowerCamelCase name: one dict lookup each
        name = get("eventName") or "log"
        rec = self._envelope(resource, _time(lr, "timeUnixNano", "observedTimeUnixNano"), str(name))
        number = get("severityNumber")
        severity = None
        if isinstance(number, str) and number.startswith("SEVERITY_NUMBER_"):
            severity = normalise_severity(number[len("SEVERITY_NUMBER_"):].rstrip("0123456789"))
        elif isinstance(number, int) and 1 <= number <= 24:
            severity = _SEVERITY_BY_NUMBER[(number - 1) // 4]
        text = get("severityText")
        if severity is None and isinstance(text, str):
            severity = normalise_severity(text)
        if severity:
            rec["severity"] = severity
        body = get("body")
        if type(body) is dict and len(body) == 1 and type(text_body := body.get("stringValue")) is str:
            rec["body"] = text_body
        elif body is not None:
            value = any_value(body)
            if value is not None:
                rec["body"] = value if isinstance(value, str) else orjson.dumps(value).decode()
        attrs = dict(scope_attrs)
        attributes_into(attrs, get("attributes"))
        if isinstance(text, str) and text and severity is None:
            attrs["severity_text"] = text
        for field, key in (("traceId", "trace_id"), ("spanId", "span_id")):
            ident = hex_id(get(field))
            if ident:
                attrs[key] = ident
        if attrs:
            rec["attrs"] = attrs
        return rec

    def _metric(self, resource: dict, scope_attrs: dict, metric: dict) -> list[dict]:
        name = _get(metric, "name")
        if not isinstance(name, str) or not name:
            raise DecodeError("metric without a name")
        unit = _get(metric, "unit")
        description = _get(metric, "description")
        out = []
        for kind in ("gauge", "sum", "histogram", "exponentialHistogram", "summary"):
            body = _get(metric, kind)
            if body is None:
                continue
            base: dict[str, object] = {"otel.type": kind}
            if kind != "gauge":
                temporality = _get(body, "aggregationTemporality")
                if temporality in _ENUM_TEMPORALITY:
                    base["otel.temporality"] = _ENUM_TEMPORALITY[temporality]
            if kind == "sum":
                base["otel.monotonic"] = bool(_get(body, "isMonotonic", False))
            for point in _get(body, "dataPoints") or []:
                attrs = dict(scope_attrs)
                attrs.update(base)
                attributes_into(attrs, _get(point, "attributes"))
                start = _time(point, "startTimeUnixNano")
                if start:
                    attrs["otel.start_ts"] = format_ts(start)
                ns = _time(point, "timeUnixNano")
                for series, value, extra in self._series(kind, name, point):
                    rec = self._envelope(resource, ns, series)
                    if value is not None:
                        rec["value"] = value
                    if unit:
                        rec["unit"] = unit
                    if description:
                        rec["body"] = description
                    rec["attrs"] = {**attrs, **extra} if extra else dict(attrs)
                    out.append(rec)
        return out

    @staticmethod
    def _series(kind: str, name: str, point: dict) -> Iterator[tuple[str, object, dict | None]]:
        """``(name, value, extra attrs)`` of each record a data point becomes."""
        if kind in ("gauge", "sum"):
            value: object = _get(point, "asDouble")
            if value is None:
                v = _get(point, "asInt")
                value = _int(v, "asInt") if v is not None else None
            if isinstance(value, str):  # protobuf writes "NaN", "Infinity", "-Infinity"
                yield name, None, {"otel.value": value}
            elif isinstance(value, float) and not math.isfinite(value):
                yield name, None, {"otel.value": str(value)}
            else:
                yield name, value, None
            return
        count = _int(_get(point, "count", 0), "count")
        yield f"{name}.count", count, None
        total = _get(point, "sum")
        if isinstance(total, (int, float)):
            yield f"{name}.sum", total, None
        for field in ("min", "max"):
            v = _get(point, field)
            if isinstance(v, (int, float)):
                yield f"{name}.{field}", v, None
        if kind == "histogram":
            counts = [_int(c, "bucketCounts") for c in _get(point, "bucketCounts") or []]
            bounds = _get(point, "explicitBounds") or []
            if counts and len(counts) != len(bounds) + 1:
                raise DecodeError(f"{name}: {len(counts)} bucket counts for {len(bounds)} bounds")
            running = 0
            for i, c in enumerate(counts):
                running += c
                le = "+Inf" if i == len(bounds) else repr(float(bounds[i]))
                yield f"{name}.bucket", running, {"le": le}
        elif kind == "summary":
            for q in _get(point, "quantileValues") or []:
                yield name, _get(q, "value", 0.0), {"quantile": repr(float(_get(q, "quantile", 0.0)))}

    def end(self) -> list[dict]:
        return []


_SNIFF = re.compile(rb'^\s*\{\s*"(?:resourceLogs|resourceMetrics|resourceSpans|resource_logs|resource_metrics|resource_spans)"')


def sniff(sample: Sequence[bytes]) -> float:
    """Sure when the first line is a JSON object whose first key is resourceLogs/resourceMetrics."""
    return 1.0 if sample and _SNIFF.match(sample[0]) else 0.0


OTLP = register_format(Format("otlp", "OTLP/JSON logs, metrics and traces export requests, one per line", OtlpDecoder,
                              sniff, stateless=True))

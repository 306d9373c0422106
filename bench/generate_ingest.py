"""The benchmark's records in every format ``ben ingest`` reads: the same generated application
logs (``generate.app_log_objects``) as syslog, CSV and OTLP/JSON, and metric samples as
Prometheus text beside their NDJSON form (the jq reference for metrics)."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import orjson
from generate import app_log_objects

SYSLOG_SEVERITY = {"debug": 7, "info": 6, "warn": 4, "error": 3}
OTLP_SEVERITY = {"debug": 5, "info": 9, "warn": 13, "error": 17}
OTLP_BATCH = 100  # log records per export request (one line)


def write_syslog(path: Path, n: int) -> Path:
    """RFC 5424 lines: the fields other than time, host, level and message as structured data."""
    if not path.exists():
        with open(path, "w") as fh:
            for o in app_log_objects(n):
                pri = 16 * 8 + SYSLOG_SEVERITY[o["level"]]
                fh.write(f'<{pri}>1 {o["timestamp"]} {o["host"]} shop - - [req@32473 path="{o["path"]}" '
                         f'status="{o["status"]}" latency_ms="{o["latency_ms"]}" trace_id="{o["trace_id"]}"] '
                         f'{o["msg"]}\n')
    return path


def write_csv(path: Path, n: int) -> Path:
    if not path.exists():
        with open(path, "w", newline="") as fh:
            w = None
            for o in app_log_objects(n):
                if w is None:
                    w = csv.DictWriter(fh, fieldnames=list(o), lineterminator="\n")
                    w.writeheader()
                w.writerow(o)
    return path


def write_otlp(path: Path, n: int) -> Path:
    """OTLP/JSON log export requests of OTLP_BATCH records each, grouped by host as a resource."""
    if not path.exists():
        with open(path, "wb") as fh:
            batch: list[dict] = []
            for o in app_log_objects(n):
                ns = _ns(o["timestamp"])
                batch.append({"host": o["host"], "rec": {
                    "timeUnixNano": str(ns), "severityNumber": OTLP_SEVERITY[o["level"]],
                    "body": {"stringValue": o["msg"]}, "traceId": o["trace_id"], "spanId": o["span_id"],
                    "attributes": [{"key": "path", "value": {"stringValue": o["path"]}},
                                   {"key": "status", "value": {"intValue": str(o["status"])}},
                                   {"key": "latency_ms", "value": {"intValue": str(o["latency_ms"])}}]}})
                if len(batch) == OTLP_BATCH:
                    fh.write(_otlp_line(batch))
                    batch = []
            if batch:
                fh.write(_otlp_line(batch))
    return path


def _ns(ts: str) -> int:
    from ben_cli.record import parse_rfc3339

    return parse_rfc3339(ts)


def _otlp_line(batch: list[dict]) -> bytes:
    hosts: dict[str, list] = {}
    for item in batch:
        hosts.setdefault(item["host"], []).append(item["rec"])
    return orjson.dumps({"resourceLogs": [
        {"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "shop"}},
                                     {"key": "host.name", "value": {"stringValue": host}}]},
         "scopeLogs": [{"scope": {"name": "shop.http", "version": "1.4.2"}, "logRecords": recs}]}
        for host, recs in hosts.items()]}) + b"\n"


def metric_samples(n: int, seed: int = 11):
    """``n`` samples of a scrape-like mix: counters, gauges and histogram series with labels."""
    rng = random.Random(seed)
    t = 1_795_600_000_000
    i = 0
    while i < n:
        host = f"web-{rng.randrange(12)}"
        path = rng.choice(("/login", "/checkout", "/api/v1/items", "/healthz"))
        yield ("http_requests_total", "counter", {"host": host, "path": path, "code": "200"}, rng.randrange(10**7), t)
        yield ("process_resident_memory_bytes", "gauge", {"host": host}, rng.randrange(10**9), t)
        acc = 0
        for le in ("0.005", "0.05", "0.5", "5", "+Inf"):
            acc += rng.randrange(1000)
            yield ("http_request_duration_seconds_bucket", "histogram", {"host": host, "path": path, "le": le}, acc, t)
        yield ("http_request_duration_seconds_sum", "histogram", {"host": host, "path": path},
               round(rng.random() * 1000, 3), t)
        yield ("http_request_duration_seconds_count", "histogram", {"host": host, "path": path}, acc, t)
        i += 9
        t += 15_000


def write_prom(path: Path, ndjson_path: Path, n: int) -> tuple[Path, Path]:
    """Prometheus text with # TYPE lines, and the same samples as NDJSON for the jq reference."""
    if not path.exists() or not ndjson_path.exists():
        typed: set[str] = set()
        with open(path, "w") as prom, open(ndjson_path, "wb") as nd:
            for k, (name, kind, labels, value, t) in enumerate(metric_samples(n)):
                if k >= n:
                    break
                family = name.removesuffix("_bucket").removesuffix("_sum").removesuffix("_count")
                if family not in typed:
                    typed.add(family)
                    prom.write(f"# HELP {family} {family.replace('_', ' ')}.\n# TYPE {family} {kind}\n")
                lab = ",".join(f'{k2}="{v}"' for k2, v in labels.items())
                prom.write(f"{name}{{{lab}}} {value} {t}\n")
                nd.write(orjson.dumps({"name": name, "type": kind, "labels": labels, "value": value, "ts": t}) + b"\n")
    return path, ndjson_path

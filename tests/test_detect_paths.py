"""Issue 17 items 2 and 3: series named by any path, and marks that say what they judged.

``--by`` once read only top-level fields: ``--by source,name,attrs.code`` put Prometheus
``code="200"`` (30k/s) and ``code="500"`` (300/s) in one series, and ``--by nonexistent`` was
accepted without a word. ``--field attrs.latency_ms`` marked three points that narrate, reading
only a top-level ``value``, never saw.
"""

from __future__ import annotations

import random

import orjson

from ben_cli.record import format_ts

from .conftest import run_ben

T0 = 1_795_600_800 * 10**9  # 2026-11-25T10:00:00Z
MINUTE = 60 * 10**9


def ndjson(records) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def codes() -> list[dict]:
    """Request rates by status code, as Prometheus samples arrive after ben ingest: the code in attrs."""
    out = []
    for i in range(120):
        for code, rate in (("200", 30000 + i % 7 * 10), ("500", 300 + i % 5)):
            out.append({"ts": format_ts(T0 + i * MINUTE), "lane": "diag", "source": "prom", "name": "http_requests_rate",
                        "value": rate, "attrs": {"code": code}})
    return out


def marks(out: bytes) -> list[dict]:
    return [orjson.loads(line)["anomaly"] for line in out.splitlines()]


def test_a_labelled_series_does_not_merge_with_its_sibling():
    """code=200 and code=500 are two series: interleaved in one, every point would be a jump of 100x."""
    done = run_ben("detect", "-q", "--by", "source,name,attrs.code", input=ndjson(codes()))
    assert done.returncode == 0, done.stderr
    got = marks(done.stdout)
    assert {m["series"] for m in got} == {"prom/http_requests_rate/200", "prom/http_requests_rate/500"}
    assert not any(m["is_anomaly"] for m in got)
    assert b"series 2" in run_ben("detect", "--by", "source,name,attrs.code", input=ndjson(codes())).stderr


def test_a_by_path_no_record_has_is_an_error_at_the_end_naming_it():
    done = run_ben("detect", "-q", "--by", "source,attrs.nonexistent", input=ndjson(codes()))
    assert done.returncode == 1
    assert done.stderr.decode() == "ben detect: --by attrs.nonexistent: no record has this field (dots reach into objects: attrs.code)\n"
    assert done.stdout.count(b"\n") == 240  # every record was marked and written first


def test_a_by_path_some_records_lack_is_a_warning():
    records = codes()[:10] + [{"ts": format_ts(T0), "source": "node", "name": "load", "value": 1.0}]
    done = run_ben("detect", "-q", "--by", "source,attrs.code", input=ndjson(records))
    assert done.returncode == 0
    assert done.stderr.decode() == ("ben detect: warning: --by attrs.code: 1 of 3 series have no attrs.code "
                                    "(their records are told apart by the other --by fields only)\n")


def latency() -> list[dict]:
    rng = random.Random(3)
    out = []
    for i in range(180):
        v = 120 + rng.gauss(0, 4) + (292 if 100 <= i < 112 else 0)
        out.append({"ts": format_ts(T0 + i * MINUTE), "source": "web-3", "name": "http.request",
                    "attrs": {"latency_ms": round(v, 1)}})
    return out


def test_a_mark_names_the_field_it_judged_with_its_value():
    got = marks(run_ben("detect", "-q", "--field", "attrs.latency_ms", input=ndjson(latency())).stdout)
    assert all(m["field"] == "attrs.latency_ms" for m in got)
    assert [m["value"] for m in got] == [r["attrs"]["latency_ms"] for r in latency()]
    assert any(m["is_anomaly"] and m["value"] > 400 and 100 < m["expected"] < 140 for m in got)
    plain = marks(run_ben("detect", "-q", input=ndjson(codes())).stdout)
    assert not any("field" in m for m in plain)  # the envelope's own value: the mark stays as it was


def test_field_attrs_end_to_end_narrate_reports_the_anomalies():
    marked = run_ben("detect", "-q", "--field", "attrs.latency_ms", input=ndjson(latency())).stdout
    report = orjson.loads(run_ben("narrate", "-q", "--format", "json", input=marked).stdout)
    assert report["anomalies"] >= 1 and report["verdict"] == "incident"
    (inc,) = report["incidents"]
    (ep,) = inc["episodes"]
    assert (ep["series"], ep["name"], ep["direction"]) == ("web-3/http.request", "http.request latency_ms", "up")
    assert 400 < ep["level"] < 420 and 110 < ep["baseline"] < 130
    assert report["watched"] == {"series": 1, "points": 180}

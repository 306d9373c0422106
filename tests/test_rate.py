"""``ben rate`` (issue 17 item 5): counters into rates, a reset is a restart, not a crash."""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from ben_cli.count import RateOptions, Rater
from ben_cli.record import format_ts

from .conftest import run_ben

T0 = 1_795_600_800 * 10**9
MIN = 60 * 10**9


def sample(i: int, v: float, **attrs) -> dict:
    return {"ts": format_ts(T0 + i * MIN), "source": "prom", "name": "http_requests_total", "value": v,
            "attrs": {"prom.type": "counter", "code": "500", **attrs}}


def test_a_counter_with_a_reset_is_a_steady_rate_not_a_crash():
    """120 requests a minute; the process restarts at minute 30 and counts from 0 again."""
    values = [120 * i if i < 30 else 120 * (i - 30) + 60 for i in range(60)]
    out = list(Rater().feed(sample(i, v) for i, v in enumerate(values)))
    assert len(out) == 59  # the first sample has no interval
    rates = [r["value"] for r in out]
    assert all(r == 2.0 for k, r in enumerate(rates) if k != 29), rates
    assert rates[29] == 1.0 and out[29]["attrs"]["counter.reset"] is True  # the 60 counted since the restart
    assert {r["unit"] for r in out} == {"1/s"}


def test_labelled_counters_are_separate_series_and_gauges_pass_through():
    recs = [sample(0, 0), sample(0, 1000, code="200"), sample(1, 60), sample(1, 61000, code="200"),
            {"ts": format_ts(T0), "source": "node", "name": "load", "value": 1.5, "attrs": {"prom.type": "gauge"}}]
    out = list(Rater().feed(recs))
    assert [(r["name"], r["attrs"].get("code"), r["value"]) for r in out] == [
        ("http_requests_total", "500", 1.0), ("http_requests_total", "200", 1000.0), ("load", None, 1.5)]


def test_histogram_buckets_otlp_sums_and_globs_are_counters():
    bucket = {"ts": format_ts(T0), "source": "p", "name": "lat_bucket", "value": 10, "attrs": {"prom.type": "histogram", "le": "0.5"}}
    otlp = {"ts": format_ts(T0), "source": "o", "name": "calls", "value": 5,
            "attrs": {"otel.type": "sum", "otel.monotonic": True, "otel.temporality": "cumulative"}}
    delta = {**otlp, "source": "d", "attrs": {**otlp["attrs"], "otel.temporality": "delta"}}
    named = {"ts": format_ts(T0), "source": "x", "name": "jobs_done", "value": 7}
    later = [{**r, "ts": format_ts(T0 + MIN), "value": r["value"] + 60} for r in (bucket, otlp, delta, named)]
    out = list(Rater(RateOptions(counters=("jobs_*",))).feed([bucket, otlp, delta, named, *later]))
    assert [(r["source"], r["value"]) for r in out] == [("d", 5), ("p", 1.0), ("o", 1.0), ("d", 65), ("x", 1.0)]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 10**6), min_size=2, max_size=50))
def test_without_a_reset_the_rates_integrate_back_to_the_increase(increments):
    values, total = [], 0
    for inc in increments:
        total += inc
        values.append(total)
    out = list(Rater().feed(sample(i, v) for i, v in enumerate(values)))
    assert abs(sum(r["value"] * 60 for r in out) - (values[-1] - values[0])) <= 1e-6 * max(1, values[-1])
    assert all(r["value"] >= 0 for r in out)


def test_a_burst_of_5xx_in_a_counter_is_reported_as_a_rate():
    """ingest (Prometheus text) | rate | detect | narrate: "rose to 12/s", not a rising line."""
    lines = ["# TYPE http_requests_total counter"]
    total = 0
    for i in range(180):
        total += 60 * (12 if 120 <= i < 135 else 1)
        lines.append(f'http_requests_total{{code="500"}} {total} {(T0 // 10**6) + i * 60000}')
    prom = ("\n".join(lines) + "\n").encode()
    ingested = run_ben("ingest", "-q", "--format", "prom", input=prom)
    rated = run_ben("rate", "-q", input=ingested.stdout)
    marked = run_ben("detect", "-q", "--by", "source,name,attrs.code", input=rated.stdout)
    text = run_ben("narrate", "-q", input=marked.stdout).stdout.decode()
    assert "http_requests_total rose to 12/s" in " ".join(text.split()), text
    report = orjson.loads(run_ben("narrate", "-q", "-f", "json", input=marked.stdout).stdout)
    assert report["verdict"] in ("degraded", "incident")

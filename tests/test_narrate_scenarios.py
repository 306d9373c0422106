"""End to end with known truth: generate records, run the real ``ben detect``, then ``ben narrate``,
and check that the report names the right series, direction, size (within 10%), start and end
(within one sampling interval) and hosts, and that a quiet day is called healthy.

Each scenario runs both commands as processes, the way a shell pipeline runs them.
"""

from __future__ import annotations

import re

import orjson
import pytest

from ben_cli.record import format_ts, to_ns

from .conftest import run_ben
from .narrate_scenarios import DAY, at, merge, ramp, series, step, window

MINUTE = 60 * 10**9


def ndjson(records) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def pipeline(records, *narrate_args: str, detect_args: tuple[str, ...] = (), status: int = 0) -> tuple[dict, str]:
    """``ben detect | ben narrate``: the JSON report and the text report (its wrapped lines joined)."""
    detected = run_ben("detect", "-q", *detect_args, input=ndjson(records))
    assert detected.returncode == 0, detected.stderr.decode()
    marked = detected.stdout
    assert marked.count(b"\n") == len(records)
    as_json = run_ben("narrate", "-q", "--format", "json", *narrate_args, input=marked)
    as_text = run_ben("narrate", "-q", *narrate_args, input=marked)
    assert as_json.returncode == status and as_text.returncode == status, as_json.stderr.decode() + as_text.stderr.decode()
    text = as_text.stdout.decode()
    return orjson.loads(as_json.stdout), "\n".join(" ".join(para.split()) for para in text.split("\n\n"))


def close(got: float, want: float, within: float = 0.10) -> bool:
    return abs(got - want) <= within * abs(want)


def check_episode(ep: dict, *, series: str, kind: str, direction: str, baseline: float, level: float,
                  start: str, end: str | None, interval_min: float) -> None:
    assert (ep["series"], ep["kind"], ep["direction"]) == (series, kind, direction), ep
    assert close(ep["baseline"], baseline) and close(ep["level"], level), ep
    slack = interval_min * MINUTE
    assert abs(to_ns(ep["start"]) - to_ns(f"2026-11-25T{start}:00Z")) <= slack, ep
    if end is not None:
        assert abs(to_ns(ep["end"]) - to_ns(f"2026-11-25T{end}:00Z")) <= slack, ep


def only_incident(report: dict) -> dict:
    assert len(report["incidents"]) == 1, report["incidents"]
    return report["incidents"][0]


def test_spike():
    records = series("web-3", "http.request", "ms", "08:00", 1, 180, 120, 5, 1, window("10:02", "10:14", 292))
    report, text = pipeline(records)
    inc = only_incident(report)
    assert report["verdict"] == "incident" and inc["sources"] == ["web-3"]
    (ep,) = inc["episodes"]
    check_episode(ep, series="web-3/http.request", kind="spike", direction="up", baseline=120, level=412,
                  start="10:02", end="10:14", interval_min=1)
    m = re.search(r"web-3's http.request latency rose to ([\d.]+) ms, ([\d.]+)x its usual ([\d.]+) ms, "
                  r"from 10:0[123] to 10:1[345] UTC \((\d+) minutes\)", text)
    assert m, text
    assert close(float(m[1]), 412) and close(float(m[2]), 412 / 120) and close(float(m[3]), 120)
    assert 11 <= int(m[4]) <= 13


def test_level_shift():
    records = series("db-1", "cpu.usage", "%", "02:00", 1, 360, 31, 1, 5, step("04:10", 27))
    report, text = pipeline(records)
    (ep,) = only_incident(report)["episodes"]
    check_episode(ep, series="db-1/cpu.usage", kind="shift", direction="up", baseline=31, level=58,
                  start="04:10", end="07:59", interval_min=1)
    assert ep["ongoing"] is True
    m = re.search(r"cpu.usage on db-1 stepped up from ([\d.]+)% to ([\d.]+)% at 04:(09|10|11) UTC and stayed there", text)
    assert m and close(float(m[1]), 31) and close(float(m[2]), 58), text


def test_slow_drift_is_dated_from_its_start_not_from_the_late_alarm():
    records = series("db-2", "disk.usage", "%", "00:00", 5, 144, 40, 0.3, 6, ramp("06:00", 3))
    report, text = pipeline(records)
    (ep,) = only_incident(report)["episodes"]
    end_level = 40 + 3 * (11 + 55 / 60 - 6)
    check_episode(ep, series="db-2/disk.usage", kind="drift", direction="up", baseline=40, level=end_level,
                  start="06:00", end="11:55", interval_min=5)
    assert "disk.usage on db-2 drifted up from 40" in text and "and was still rising" in text


def test_a_fall_is_told_as_a_fall():
    records = series("api", "requests.rate", "1/s", "08:00", 1, 180, 500, 10, 3, window("09:40", "09:55", -400))
    report, text = pipeline(records)
    (ep,) = only_incident(report)["episodes"]
    check_episode(ep, series="api/requests.rate", kind="dip", direction="down", baseline=500, level=100,
                  start="09:40", end="09:55", interval_min=1)
    assert re.search(r"api's requests.rate fell to [\d.]+/s, \d+% below its usual [\d.]+/s, from 09:4[01] to 09:5[456] UTC", text), text


def test_multi_host_incident_names_every_affected_host_once():
    hit = ["web-1", "web-2", "web-3", "web-7"]
    records = merge(
        *[series(h, "http.request", "ms", "08:00", 1, 180, 120, 5, i, window("10:02", "10:14", 290 + 3 * i)) for i, h in enumerate(hit)],
        *[series(h, "http.request", "ms", "08:00", 1, 180, 120, 5, 10 + i) for i, h in enumerate(["web-4", "web-5", "web-6"])],
    )
    report, text = pipeline(records)
    inc = only_incident(report)
    assert inc["sources"] == hit
    for ep in inc["episodes"]:
        check_episode(ep, series=f"{ep['source']}/http.request", kind="spike", direction="up", baseline=120,
                      level=120 + 290 + 3 * hit.index(ep["source"]), start="10:02", end="10:14", interval_min=1)
    lead = inc["episodes"][0]["source"]
    peers = [h for h in hit if h != lead]
    assert f"{lead}'s http.request latency rose to" in text
    assert f"{peers[0]}, {peers[1]} and {peers[2]} did the same" in text
    assert not any(h in text.split("Volume and errors")[0] for h in ("web-4", "web-5", "web-6"))


QUIET_DAY = merge(*[series(f"web-{i}", "cpu.usage", "%", "00:00", 5, 288, 30, 1.5, 20 + i) for i in range(6)],
                  *[series(f"web-{i}", "http.request", "ms", "00:00", 5, 288, 120, 6, 40 + i) for i in range(6)])


def test_a_quiet_day_is_healthy():
    report, text = pipeline(QUIET_DAY)
    assert report["verdict"] == "healthy" and report["incidents"] == []
    assert "Verdict: HEALTHY." in text and "3.5k records from 6 sources over 23 hours 55 minutes" in text
    assert report["records"] == len(QUIET_DAY)


def test_a_quiet_day_is_healthy_even_when_the_detector_is_set_to_cry_wolf():
    report, text = pipeline(QUIET_DAY, detect_args=("--threshold", "0.2"))
    assert report["anomalies"] >= 10, "the low threshold should raise false alarms"
    assert report["verdict"] == "healthy" and report["incidents"] == []
    assert "none lasting or large enough to matter" in text


def test_empty_input_is_no_data_and_exit_1():
    """Issue 17: nothing arrived is NO DATA with exit status 1 (``--fail-on nodata``), never HEALTHY."""
    report, text = pipeline([], status=1)
    assert (report["verdict"], report["records"], report["incidents"]) == ("nodata", 0, [])
    assert report["watched"] == {"series": 0, "points": 0}
    assert text.startswith("Health report: no records Verdict: NO DATA. No records in this range")


@pytest.mark.parametrize("fmt", ["text", "markdown", "html", "json"])
def test_the_pipeline_is_deterministic(fmt):
    records = merge(series("web-3", "http.request", "ms", "08:00", 1, 120, 120, 5, 1, window("09:02", "09:14", 292)),
                    series("db-1", "cpu.usage", "%", "08:00", 1, 120, 31, 1, 5, step("09:10", 27)))
    marked = run_ben("detect", "-q", input=ndjson(records)).stdout
    runs = {run_ben("narrate", "-q", "--format", fmt, input=marked).stdout for _ in range(2)}
    assert len(runs) == 1 and len(next(iter(runs))) > 200


# -- issue 17: verdicts that say what they know ------------------------------------------------

@pytest.mark.parametrize("value", [1.59, 0.1, 3.3, 7, 0, -2.5, 1e9 + 0.1])
def test_a_flat_series_of_any_value_is_healthy_with_no_anomaly(value):
    """1,000 readings of one value: detect marks none (29 were marked for 1.59 before), narrate
    says HEALTHY and how many series it watched."""
    records = [{"ts": format_ts(at("00:00") + i * MINUTE // 4), "source": "host", "name": "load.1m", "value": value}
               for i in range(1000)]
    report, text = pipeline(records)
    assert (report["verdict"], report["anomalies"], report["watched"]) == ("healthy", 0, {"series": 1, "points": 1000})
    assert "Watched 1 series (1k readings judged by ben detect) over 4 hours 9 minutes." in text


def test_records_no_detector_judged_are_unknown_not_healthy():
    records = series("web-1", "http.request", "ms", "09:00", 1, 60, 100, 1, 4)
    out = run_ben("narrate", "-q", "--format", "json", input=ndjson(records))
    assert out.returncode == 0
    report = orjson.loads(out.stdout)
    assert (report["verdict"], report["watched"]["series"]) == ("unknown", 0)
    assert run_ben("narrate", "-q", "--fail-on", "unknown", input=ndjson(records)).returncode == 1


def test_fail_on_sets_the_exit_status_by_verdict():
    quiet = series("web-1", "http.request", "ms", "08:00", 1, 120, 120, 5, 1)
    spike = series("web-3", "http.request", "ms", "08:00", 1, 120, 120, 5, 1, window("09:02", "09:14", 292))
    marked = {name: run_ben("detect", "-q", input=ndjson(recs)).stdout for name, recs in (("quiet", quiet), ("spike", spike))}
    status = {(name, fail_on): run_ben("narrate", "-q", "--fail-on", fail_on, input=data).returncode
              for name, data in marked.items() for fail_on in ("nodata", "degraded", "incident", "never")}
    assert status == {("quiet", "nodata"): 0, ("quiet", "degraded"): 0, ("quiet", "incident"): 0, ("quiet", "never"): 0,
                      ("spike", "nodata"): 0, ("spike", "degraded"): 1, ("spike", "incident"): 1, ("spike", "never"): 0}
    assert run_ben("narrate", "-q", "--fail-on", "never", input=b"").returncode == 0
    bad = run_ben("narrate", "-q", "--fail-on", "sometimes", input=b"")
    assert bad.returncode == 2 and b"--fail-on" in bad.stderr


def test_records_outside_the_range_are_no_data():
    records = series("web-1", "http.request", "ms", "09:00", 1, 60, 100, 1, 4)
    marked = run_ben("detect", "-q", input=ndjson(records)).stdout
    out = run_ben("narrate", "-q", "--since", f"{DAY}T12:00:00Z", input=marked)
    assert out.returncode == 1 and b"Verdict: NO DATA." in out.stdout


def test_streaming_windows_carry_their_verdict_and_no_window_is_no_data():
    records = series("web-1", "http.request", "ms", "09:00", 1, 60, 100, 1, 4)
    marked = run_ben("detect", "-q", input=ndjson(records)).stdout
    out = run_ben("narrate", "-q", "--every", "30m", input=marked)
    assert out.returncode == 0
    verdicts = [rec["attrs"]["verdict"] for rec in map(orjson.loads, out.stdout.splitlines()) if rec.get("name") == "ben.narrative"]
    assert verdicts == ["healthy", "healthy"]
    assert run_ben("narrate", "-q", "--every", "30m", input=b"").returncode == 1

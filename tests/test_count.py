"""``ben count`` (issue 17 item 6): logs into signals, and an error burst found in logs only."""

from __future__ import annotations

import random

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from ben_cli.count import Counter, CountOptions
from ben_cli.record import SEVERITIES, format_ts

from .conftest import run_ben

T0 = 1_795_600_800 * 10**9
MIN = 60 * 10**9


def ndjson(records) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def counted(records, **options) -> list[dict]:
    c = Counter(CountOptions(**{"every": 60.0, **options}))
    return list(c.feed(records)) + list(c.flush())


events = st.lists(st.fixed_dictionaries({
    "ts": st.integers(0, 6 * 3600).map(lambda s: format_ts(T0 + s * 10**9)),
    "source": st.sampled_from(["web-1", "web-2", "db"]),
    "severity": st.sampled_from(SEVERITIES),
}), max_size=300)


@settings(max_examples=150, deadline=None)
@given(events, st.sampled_from([[], ["severity>=error"], ["source=web-2"], ["source~^web"]]))
def test_counts_sum_to_the_matched_records(records, where):
    out = counted(records, where=tuple(where), lateness=7 * 3600.0)  # every record is within the lateness
    def matches(r):
        return {(): True, ("severity>=error",): SEVERITIES.index(r["severity"]) >= 4,
                ("source=web-2",): r["source"] == "web-2", ("source~^web",): r["source"].startswith("web")}[tuple(where)]
    assert sum(r["value"] for r in out) == sum(1 for r in records if matches(r))
    keys = {(r["source"], r["name"]) for r in out}
    assert all(sum(1 for r in out if (r["source"], r["name"]) == k) == len({r["ts"] for r in out}) for k in keys)


def test_windows_close_by_event_time_and_late_records_are_counted_as_late():
    rec = lambda minute, sec=0: {"ts": format_ts(T0 + minute * MIN + sec * 10**9), "source": "a", "severity": "error"}  # noqa: E731
    c = Counter(CountOptions(every=60.0, lateness=30.0))
    out = list(c.feed([rec(0), rec(0, 30), rec(1, 10), rec(1, 31)]))  # 10:01:31 closes 10:00 (lateness 30 s)
    assert [(r["ts"], r["value"]) for r in out] == [(format_ts(T0), 2)]
    assert list(c.feed([rec(0, 50)])) == [] and c.late == 1
    assert [(r["ts"], r["value"]) for r in c.flush()] == [(format_ts(T0 + MIN), 2)]


def test_a_key_silent_in_a_window_counts_zero():
    recs = [{"ts": format_ts(T0 + m * MIN), "source": "web-2", "severity": "error"} for m in (0, 2)]
    out = counted(recs)
    assert [(r["ts"], r["name"], r["value"]) for r in out] == [
        (format_ts(T0), "count.error", 1), (format_ts(T0 + MIN), "count.error", 0), (format_ts(T0 + 2 * MIN), "count.error", 1)]


def test_a_record_without_the_source_it_is_counted_by_is_counted_under_ben_count():
    """Plain log lines (dpkg.log) carry no source: their count is not a source named "None"."""
    out = counted([{"ts": format_ts(T0), "body": "status installed"}], by=("source", "severity"))
    assert [(r["source"], r["name"], r["value"]) for r in out] == [("ben.count", "count.-", 1)]


def burst_log() -> list[dict]:
    """Two hours of logs from two web hosts; web-2 logs about 3 errors a minute, 140 a minute from 10:31 to 10:36."""
    rng = random.Random(7)
    out = []
    for minute in range(120):
        for host in ("web-1", "web-2"):
            errors = 140 if host == "web-2" and 91 <= minute < 96 else rng.choice([2, 3, 3, 4])
            for i in range(errors + 30):
                sev = "error" if i < errors else "info"
                out.append({"ts": format_ts(T0 - 3600 * 10**9 + minute * MIN + i * 10**9 // 200), "lane": "event",
                            "source": host, "name": "log", "severity": sev, "body": f"GET /x {500 if sev == 'error' else 200}"})
    out.sort(key=lambda r: r["ts"])
    return out


def test_an_error_burst_in_logs_only_is_reported():
    """ingest | count | detect | narrate: no metric anywhere, only log lines."""
    counts = run_ben("count", "-q", "--every", "1m", "--by", "source,severity", "--where", "severity>=error", input=ndjson(burst_log()))
    assert counts.returncode == 0, counts.stderr
    marked = run_ben("detect", "-q", input=counts.stdout)
    report = orjson.loads(run_ben("narrate", "-q", "--format", "json", input=marked.stdout).stdout)
    assert report["verdict"] in ("degraded", "incident"), report["why"]
    ep = report["incidents"][0]["episodes"][0]
    assert (ep["source"], ep["name"], ep["direction"]) == ("web-2", "count.error", "up")
    assert ep["start"] == "2026-11-25T10:31:00Z" and 130 <= ep["level"] <= 150 and 2 <= ep["baseline"] <= 4


def test_state_carries_open_windows_between_runs(tmp_path):
    data = burst_log()
    whole = run_ben("count", "-q", "--every", "1m", input=ndjson(data)).stdout
    state = tmp_path / "count.state"
    half = len(data) // 2
    first = run_ben("count", "-q", "--every", "1m", "--state", str(state), input=ndjson(data[:half])).stdout
    second = run_ben("count", "-q", "--every", "1m", "--state", str(state), input=ndjson(data[half:])).stdout
    third = run_ben("count", "-q", "--every", "1m", "--state", str(state), input=b"").stdout  # nothing new: still open
    assert third == b""
    assert first + second == whole[:len(first + second)]
    assert len((first + second).splitlines()) == len(whole.splitlines()) - 4  # the last window (4 keys) stays open


def test_a_bad_filter_is_a_usage_error_naming_it():
    bad = run_ben("count", "--where", "severity>=loud", input=b"")
    assert bad.returncode == 2 and b"--where" in bad.stderr and b"severity is one of" in bad.stderr

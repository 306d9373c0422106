"""Issue 17 item 7: the report's words match its numbers.

Slips seen: "from 17:39:41 to 17:39:41 UTC (58 milliseconds)"; a JSON episode with peak 1.59
below its level 1.71 and direction "up"; ``--list`` printing "(change points) (change points)";
``detect --help`` giving scores in [0, 1] where the man page says [0, 1).
"""

from __future__ import annotations

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ben_cli import narrate
from ben_cli.detect import catalog_text
from ben_cli.narrate.collect import Collector
from ben_cli.narrate.episodes import Episode
from ben_cli.narrate.report import Options, build
from ben_cli.narrate.wording import TimeStyle, describe

from .conftest import run_ben
from .narrate_scenarios import at, ewma_marks, ramp, series, step, window

UP = ("rose", "stepped up", "drifted up")
DOWN = ("fell", "stepped down", "drifted down")


def report_of(records):
    c = Collector()
    for rec in records:
        c.add(rec)
    return build(c, Options())


def check(ep: Episode) -> None:
    up = ep.direction > 0
    assert (ep.level >= ep.baseline) if up else (ep.level <= ep.baseline), (ep.kind, ep.baseline, ep.level)
    assert ep.direction * (ep.peak - ep.level) >= 0, ("peak on the wrong side of the level", ep.peak, ep.level, up)
    clause = describe(ep, TimeStyle())
    verbs = [w for w in UP + DOWN if f" {w} " in clause]
    assert verbs and all(w in (UP if up else DOWN) for w in verbs), clause


shapes = st.sampled_from(["window", "step", "ramp"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shapes, st.floats(0.3, 4.0), st.booleans(), st.floats(0.5, 2000.0), st.floats(0.002, 0.05), st.integers(0, 10**6))
def test_every_sentence_goes_the_way_its_numbers_go(shape, size, down, base, noise, seed):
    height = -base * min(size, 0.9) if down else base * size
    fn = {"window": window("09:30", "09:45", height), "step": step("09:30", height),
          "ramp": ramp("09:00", height)}[shape]
    records = ewma_marks(series("web-1", "http.request", "ms", "08:00", 1, 180, base, noise * base, seed, fn))
    r = report_of(records)
    for n in r.incidents:
        for ep in n.incident.episodes:
            check(ep)
    for ep in r.noise:
        check(ep)
    data = orjson.loads(narrate.render(r, "json"))
    for inc in data["incidents"]:
        for ep in inc["episodes"]:
            sign = 1 if ep["direction"] == "up" else -1
            assert sign * (ep["peak"] - ep["level"]) >= -1e-6 * max(1.0, abs(ep["level"]))


def test_a_sub_second_episode_is_not_from_a_time_to_itself():
    """Readings 29 ms apart (a load test): a spike of three readings is "at 10:00:01 UTC (for 87 milliseconds)"."""
    t0 = at("10:00")
    records = []
    for i in range(100):
        hit = 40 <= i < 43
        records.append({"ts": narrate.narrator.format_ts(t0 + i * 29_000_000), "source": "api", "name": "lat",
                        "value": 900.0 + i if hit else 100.0 + i % 3,
                        "anomaly": {"detector": "x", "score": 0.99 if hit else 0.1, "is_anomaly": hit, "expected": 101.0}})
    text = narrate.render(report_of(records), "text")
    assert "from 10:00:01 to 10:00:01" not in text, text
    assert "at 10:00:01 UTC (for 87 milliseconds)" in text, text


def test_list_says_change_points_once():
    text = catalog_text()
    assert "(change points) (change points)" not in text
    assert text.count("(change points)") == 3  # cusum, pagehinkley, adwin


def test_detect_help_gives_the_score_range_the_man_page_gives():
    out = run_ben("detect", "--help", env={"COLUMNS": "300"}).stdout.decode()
    assert "[0, 1)" in out and "[0, 1]" not in out

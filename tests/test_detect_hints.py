"""Issue 25: the two facts NAB's harness hands every detector, as parameters any run may give.

``-p range=LO:HI`` (the values' range, known ahead) and ``-p probation=N`` (the first N points
are normal) are *hints*: unset, every detector behaves as before and a state file does not name
them. Given, ``cad`` and ``art`` measure values in the given range from the first point, and every
detector learns the probation's points without reporting them. What every detector promises holds
with them too: a run cut anywhere resumes exactly, a constant series never alarms, a step alarms
once, scores lie in [0, 1).
"""

from __future__ import annotations

import random

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ben_cli.detect  # noqa: F401  (registers the built-ins)
from ben_cli import registry
from ben_cli.detect import DetectOptions, SeriesTable
from ben_cli.detect.pvalue import squash

from .detect_support import wave

HINTED = ["cad", "art", "auto"]
HINTS = {"range": "0:100", "probation": 150}


def feed(det, values: list[float], start: int = 0) -> list[float]:
    alarm = det.cfg.alarm_s()
    return [squash(det.score(v, 300.0 * (start + i))[0], alarm) for i, v in enumerate(values)]


def configure(name: str, **values):
    cls = registry.detectors.get(name)
    return cls, cls.configure(values)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(HINTED), st.integers(1, 499), st.integers(0, 10**6))
def test_a_run_with_hints_cut_anywhere_resumes_exactly(name, cut, seed):
    """Cuts inside the probation and after it alike: split run equals whole run."""
    cls, cfg = configure(name, **HINTS)
    values = wave(500, seed)
    whole = feed(cls(cfg), values)
    first = cls(cfg)
    head = feed(first, values[:cut])
    second = cls.restore(cfg, orjson.loads(orjson.dumps(first.state())))
    assert head + feed(second, values[cut:], cut) == whole


@pytest.mark.parametrize("name", ["cad", "art", "auto", "seasonal", "ewma"])  # point detectors: a lone spike is news
def test_probation_is_learned_and_never_reported(name):
    """The probation's points score 0, even a spike; the model learned them all the same, so the
    same spike just after the probation alarms."""
    cls, cfg = configure(name, probation=400)
    values = [50.0 + (i % 7) for i in range(800)]
    values[350] = 500.0  # inside the probation: not reported
    values[600] = 500.0  # after it: reported
    scores = feed(cls(cfg), values)
    assert all(s == 0.0 for s in scores[:400])
    assert max(scores[600:610]) >= 0.5


@pytest.mark.parametrize("name", ["cad", "art"])
def test_a_given_range_sets_the_scale_from_the_first_point(name):
    """Blind, the first wiggles of a series span its whole learned range; given the range, they are
    small in it, so the quantiser or the boxes measure them as such."""
    cls, cfg = configure(name, range="-50:150")
    det = cls(cfg)
    feed(det, [1.0, 2.0, 1.5])
    assert (det.lo, det.hi) == (-50.0, 150.0)
    blind = cls(cls.configure())
    feed(blind, [1.0, 2.0, 1.5])
    assert (blind.lo, blind.hi) == (1.0, 2.0)


def test_cad_given_the_range_ignores_wiggles_too_small_for_its_levels():
    """Wiggles within one level of the given range are one fact, so they never look new; blind,
    the same wiggles are the whole range and every new order of them is news."""
    wiggle = [10.0 + random.Random(i).random() for i in range(600)]
    cls, cfg = configure("cad", range="0:100")
    assert max(feed(cls(cfg), wiggle)) == 0.0
    blind = feed(cls(cls.configure()), wiggle)
    assert max(blind) > 0.0


@pytest.mark.parametrize("name", HINTED)
def test_with_hints_a_constant_series_never_alarms_and_a_step_alarms_once(name):
    cls, cfg = configure(name, range="0:10", probation=200)
    assert max(feed(cls(cfg), [5.0] * 1500)) == 0.0
    step = feed(cls(cfg), [5.0] * 800 + [8.0] * 800)
    assert sum(s >= 0.5 for s in step) == 1 and max(step[800:810]) >= 0.5


@pytest.mark.parametrize("name", HINTED)
def test_with_hints_scores_lie_in_zero_one_even_for_wild_values(name):
    rng = random.Random(5)
    values = [rng.choice((0.0, 1e-9, 1e12, -1e12, rng.gauss(0, 1))) for _ in range(600)]
    options = DetectOptions(detector=name, params={"range": "-1e12:1e12", "probation": 50})
    out = list(SeriesTable(options).feed({"ts": "2026-11-25T00:00:00Z", "value": v} for v in values))
    scores = [r["anomaly"]["score"] for r in out]
    assert len(scores) == 600 and all(0.0 <= s < 1.0 for s in scores)


def test_a_value_outside_the_given_range_widens_it():
    """A range given wrong is not trusted past the data: the value that breaks it widens it."""
    cls, cfg = configure("cad", range="0:10")
    det = cls(cfg)
    feed(det, [5.0, 50.0, -3.0])
    assert (det.lo, det.hi) == (-3.0, 50.0)


def test_hints_are_named_in_state_only_when_given():
    """A state file records a run's parameters; runs without hints record what they always did,
    so state written before hints existed still loads."""
    cls = registry.detectors.get("auto")
    assert "range" not in cls.configure().values() and "probation" not in cls.configure().values()
    given = cls.configure({"range": "1:2", "probation": 10}).values()
    assert given["range"] == "1:2" and given["probation"] == 10
    assert cls.configure(given) == cls.configure({"range": "1:2", "probation": 10})


def test_auto_hands_its_hints_to_every_part_unless_the_part_says_otherwise():
    cfg = registry.detectors.get("auto").configure({"parts": "cad,cad:range=,seasonal", "range": "1:9", "ranged": ""})
    assert [part_cfg.value_range for _, part_cfg in cfg.part_configs] == ["1:9", "", "1:9"]


def scores_of(detector: str, params: dict, values: list[float]) -> list[float]:
    records = [{"ts": f"2026-11-25T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z", "value": v} for i, v in enumerate(values)]
    out = SeriesTable(DetectOptions(detector=detector, params=params)).feed(records)
    return [r["anomaly"]["score"] for r in out]


def test_auto_with_a_range_given_is_cadose_and_without_one_its_ensemble():
    """The range known ahead is what cadose needs (NAB's rules hand it in); without it auto's parts run."""
    values = [v + (40.0 if i == 700 else 0.0) for i, v in enumerate(wave(900, seed=4))]
    ranged = scores_of("auto", {"range": "0:200"}, values)
    assert ranged == scores_of("cadose", {"range": "0:200"}, values)
    assert ranged != scores_of("auto", {"range": "0:200", "ranged": ""}, values)
    assert scores_of("auto", {}, values) == scores_of("auto", {"ranged": ""}, values)
    cfg = registry.detectors.get("auto").configure({"range": "0:200", "probation": 50})
    assert cfg.lead is not None and cfg.lead.value_range == "0:200" and cfg.lead.probation == 50
    assert cfg.alarm_s() == registry.detectors.get("cadose").configure().alarm_s()
    assert registry.detectors.get("auto").configure().alarm_s() == 6.0


@pytest.mark.parametrize("ranged", ["auto", "auto:parts=cad", "nosuch", "spca", "cadose:neurons=x"])
def test_auto_refuses_a_ranged_detector_it_cannot_run(ranged):
    with pytest.raises(ValueError):
        registry.detectors.get("auto").configure({"ranged": ranged})


@pytest.mark.parametrize("text", ["5", "5:", "a:b", "3:1", "nan:1", "1:inf", "1:2:3"])
def test_a_range_must_be_two_finite_numbers_in_order(text):
    with pytest.raises(ValueError, match="range must be LO:HI"):
        registry.detectors.get("cad").configure({"range": text})


def test_probation_cannot_be_negative():
    with pytest.raises(ValueError, match="probation must be 0 or more"):
        registry.detectors.get("ewma").configure({"probation": -1})

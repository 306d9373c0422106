"""Issue 25: ``cadose``, the contextual anomaly detector of CAD OSE, with bounded memory.

What every learned detector promises: a run cut anywhere resumes exactly from its saved state
(blind and under NAB's rules), memory bounded by its parameters (a cap on contexts, under 16 KiB a
series), scores in [0, 1), no alarm on a constant series and one alarm per step. And what makes
it CAD OSE: a pattern once learned is predicted (scores 0), a value out of its context is not,
and the rest period silences the points after a high score.
"""

from __future__ import annotations

import math
import random
import tracemalloc

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ben_cli.detect  # noqa: F401  (registers the built-ins)
from ben_cli.detect import DetectOptions, SeriesTable
from ben_cli.detect.cadose import Cadose
from ben_cli.detect.pvalue import squash

from .detect_support import wave as shared_wave

SETTINGS = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def wave(n: int, seed: int = 3) -> list[float]:
    """The shared wave with a level shift half way."""
    return shared_wave(n, seed, shift=10.0)


def configure(**values):
    return Cadose.configure(values)


def feed(det, values: list[float], start: int = 0) -> list[float]:
    alarm = det.cfg.alarm_s()
    return [squash(det.score(v, 60.0 * (start + i))[0], alarm) for i, v in enumerate(values)]


def alarms(scores: list[float]) -> list[int]:
    """Where ben detect marks an anomaly: a score of 0.5, which is a raw score at the base threshold."""
    return [i for i, s in enumerate(scores) if s >= 0.5]


def test_the_state_file_round_trips_through_ben_detect(tmp_path):
    """Two runs of the command with --state equal one run, on several series."""
    rng = random.Random(9)
    recs = [{"ts": f"2026-11-25T{i // 60 % 24:02d}:{i % 60:02d}:00Z", "source": f"h{i % 3}", "name": "x",
             "value": round(50 + 10 * math.sin(i / 7) + rng.gauss(0, 1), 2)} for i in range(900)]
    whole = [r["anomaly"]["score"] for r in SeriesTable(DetectOptions(detector="cadose")).feed(dict(r) for r in recs)]
    state = tmp_path / "state"
    opts = DetectOptions(detector="cadose", state=state)
    parts = []
    for chunk in (recs[:400], recs[400:]):
        with SeriesTable(opts) as table:
            parts += [r["anomaly"]["score"] for r in table.feed(dict(r) for r in chunk)]
            table.save()
    assert parts == whole


def test_memory_is_bounded_by_the_cap_on_contexts():
    """Four times the points cost (nearly) the same memory, under 16 KiB, and the cap holds (the
    config is the run's, shared by every series: made before counting)."""
    sizes = []
    cfg = configure()
    for n in (1500, 6000):
        values = wave(n)  # made before counting: the floats the test feeds (and Python's float free list) are not the series'
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        det = Cadose(cfg)
        for i, v in enumerate(values):
            det.score(v, 60.0 * i)
        held = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        sizes.append(held)
        assert held < 16 * 1024, (n, held)
        assert len(det.c_right) <= det.cfg.contexts
    assert sizes[1] < sizes[0] + 1024, sizes
    assert len(orjson.dumps(det.state())) < 16 * 1024


@SETTINGS
@given(st.floats(-1e9, 1e9, allow_nan=False), st.sampled_from([{}, {"probation": 100}]))
def test_a_constant_series_never_alarms(level, params):
    assert alarms(feed(Cadose(configure(**params)), [level] * 800)) == []


@SETTINGS
@given(st.floats(-1e6, 1e6, allow_nan=False), st.floats(0.5, 1e6))
def test_a_step_alarms_once(a, rise):
    """Up and down: one alarm each, at the step. Up again repeats a transition it has met: at most one."""
    b = a + rise + 0.05 * abs(a)
    values = [a] * 300 + [b] * 300 + [a] * 300 + [b] * 300
    found = alarms(feed(Cadose(configure()), values))
    for step in (300, 600):
        here = [i for i in found if step <= i < step + 300]
        assert here == [step], (a, b, found)
    assert len([i for i in found if i >= 900]) <= 1, (a, b, found)
    assert all(i >= 300 for i in found), found


@SETTINGS
@given(st.lists(st.floats(-1e12, 1e12, allow_nan=False), min_size=1, max_size=300))
def test_scores_lie_in_zero_one(values):
    out = list(SeriesTable(DetectOptions(detector="cadose")).feed({"ts": "2026-11-25T00:00:00Z", "value": v}
                                                                  for v in values))
    assert all(0.0 <= r["anomaly"]["score"] < 1.0 for r in out)


def test_a_learned_pattern_is_predicted_and_a_break_of_it_is_not():
    """A repeating sawtooth over the eight levels is learned; a level out of turn scores high."""
    saw = [float(i % 8) for i in range(600)]
    det = Cadose(configure(range="0:7", rest=5))
    scores = feed(det, saw)
    assert max(scores[200:]) == 0.0  # every step of the pattern is predicted
    broken = feed(det, [0.0, 1.0, 2.0, 6.0, 4.0, 5.0, 6.0, 7.0], 600)
    assert broken[3] >= 0.5, broken


def test_the_rest_period_silences_the_points_after_a_high_score():
    """Three levels never met, five points apart: each alarms only if the rest is shorter than that.
    The series' start is a rest too (its second point, a first transition, is news to an empty dictionary)."""
    values = [0.0] * 200 + [7.0] + [0.0] * 5 + [3.0] + [0.0] * 5 + [5.0] + [0.0] * 20
    quiet = feed(Cadose(configure(range="0:7", rest=30)), values)
    loud = feed(Cadose(configure(range="0:7", rest=1)), values)
    assert alarms(quiet) == [200]
    assert alarms(loud) == [1, 200, 206, 212]


def test_the_rest_is_a_fifth_of_the_probation_when_one_is_given():
    assert configure(probation=750).rest_points == 150
    assert configure().rest_points == 30
    assert configure(probation=750, rest=12).rest_points == 12


@pytest.mark.parametrize("bad", [{"bits": 0}, {"bits": 5}, {"contexts": 3}, {"threshold": 0.0}, {"left": 0}, {"rest": -1}])
def test_parameters_that_make_no_sense_are_refused(bad):
    with pytest.raises(ValueError):
        configure(**bad)


@pytest.mark.parametrize("slot,bad", [("group", [1, "x"]), ("lefts", [[[0, 2], "y"]])])
def test_a_broken_state_is_refused(slot, bad):
    det = Cadose(configure())
    feed(det, wave(100))
    state = orjson.loads(orjson.dumps(det.state()))
    state[Cadose.state_slots().index(slot)] = bad
    with pytest.raises((ValueError, TypeError, KeyError, IndexError)):
        Cadose.restore(det.cfg, state)


# -- the compiled step (ben_cli/detect/_cadose.c) against its definition (Cadose._raw_python) --

VARIANTS = [{}, {"range": "0:100", "probation": 90}, {"contexts": 16}, {"contexts": 40}, {"contexts": 40, "neurons": 15},
            {"neurons": 0, "contexts": 24}, {"bits": 4, "neurons": 5, "left": 3, "contexts": 64},
            {"bits": 1, "margin": 0.0}, {"lag": 0, "threshold": 0.5}]


def run(det, values: list[float], start: int = 0) -> list[float]:
    return [det.score(v, 60.0 * (start + i))[0] for i, v in enumerate(values)]


def definition(cfg) -> Cadose:
    det = Cadose(cfg)
    det.use_definition()
    return det


def test_the_compiled_step_is_built():
    """make install builds it; without it cadose runs about 20 times slower."""
    from ben_cli.detect import cadose

    assert cadose._cadose is not None
    det = Cadose(configure())
    det.score(1.0, 0.0)
    assert det.core


@SETTINGS
@given(st.integers(0, 10**6), st.sampled_from(VARIANTS), st.integers(50, 1500))
def test_the_compiled_step_gives_the_definitions_scores_and_state(seed, params, n):
    """Same floats point by point and the same state after, blind, hinted, and evicting hard."""
    cfg = configure(**params)
    values = wave(n, seed)
    native, python = Cadose(cfg), definition(cfg)
    assert run(native, values) == run(python, values)
    assert native.state() == python.state()


@SETTINGS
@given(st.lists(st.one_of(st.floats(-1e12, 1e12, allow_nan=False), st.sampled_from([0.0, 1e-300, 1e308, -1e308])),
                min_size=1, max_size=400), st.sampled_from(VARIANTS))
def test_the_compiled_step_agrees_on_wild_values(values, params):
    """Extremes that overflow the range's arithmetic to infinities are quantised alike."""
    cfg = configure(**params)
    native, python = Cadose(cfg), definition(cfg)
    assert run(native, values) == run(python, values)
    assert native.state() == python.state()


@SETTINGS
@given(st.integers(1, 899), st.integers(0, 10**6), st.sampled_from(VARIANTS), st.booleans())
def test_a_run_cut_anywhere_resumes_exactly(cut, seed, params, resume_compiled):
    """Split run equals whole run (blind, under NAB's rules, with a cap small enough to evict): the
    compiled core's state, saved and restored, continues the definition's whole run in the core or in the definition."""
    cfg = configure(**params)
    values = wave(900, seed)
    whole = run(definition(cfg), values)
    first = Cadose(cfg)
    head = run(first, values[:cut])
    second = Cadose.restore(cfg, orjson.loads(orjson.dumps(first.state())))
    if not resume_compiled:
        second.use_definition()
    assert head + run(second, values[cut:], cut) == whole


def test_a_state_the_core_cannot_hold_stays_with_the_definition():
    """Left parts naming five slots, read with neurons=3 (a hand-edited file): the definition runs it."""
    values = wave(1200)
    five = Cadose(configure(neurons=5))
    run(five, values[:600])
    saved = orjson.loads(orjson.dumps(five.state()))
    cfg = configure(neurons=3)
    native, python = Cadose.restore(cfg, saved), Cadose.restore(cfg, saved)
    python.use_definition()
    assert run(native, values[600:], 600) == run(python, values[600:], 600)
    assert native.core is False


def test_the_state_checks_see_the_cores_state():
    """A range overflowed to infinity (values past the command's +-1e100, fed to the library) is a
    fault the state check finds: it settles the core's state into the slots before reading them."""
    from ben_cli.detect.base import state_fault

    probe = SeriesTable(DetectOptions(detector="cadose")).probe()
    det = Cadose(probe.cfg)
    run(det, [1e308, -1e308, 0.0])
    assert det.core
    assert state_fault(probe, det, "state") is not None
    assert det.lo == -math.inf


def test_counts_are_halved_before_they_pass_16_bits_in_the_core_and_the_definition_alike():
    """A constant series confirms its contexts at every point: 23,000 points count past 65,535
    facts, so the counts are halved (keeping their weights), the same in both implementations."""
    from ben_cli.detect.cadose import HALVE_COUNTS_AT

    compiled, definition = Cadose(configure(range="0:10")), Cadose(configure(range="0:10"))
    definition.use_definition()
    values = [5.0] * 23_000
    assert [compiled.raw(v) for v in values] == [definition.raw(v) for v in values]
    compiled.settle()
    assert compiled.state() == definition.state()
    assert max(definition.c_total) <= HALVE_COUNTS_AT + 4
    assert max(definition.c_act) < 20_000  # confirmed at nearly every point, it would count about 23,000 unhalved
    assert definition.c_total.typecode == "H"

"""Each detector's model against hand-computed values and textbook behaviour."""

from __future__ import annotations

import math
import random
import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ben_cli.detect  # noqa: F401  (registers the built-ins)
from ben_cli import registry
from ben_cli.detect.mad import kth_deviation, median_mad
from ben_cli.detect.pvalue import chi2_upper_s, normal_tail_s, normal_upper_s, squash, unsquash


def make(name: str, **params):
    cls = registry.detectors.get(name)
    return cls(cls.configure(params))


# -- p-values -------------------------------------------------------------------------------

def test_normal_tail_known_values():
    assert normal_tail_s(1.959963985) == pytest.approx(-math.log10(0.05), rel=1e-9)
    assert normal_tail_s(0.0) == 0.0
    assert normal_upper_s(1.644853627) == pytest.approx(-math.log10(0.05), rel=1e-9)
    # far tail: P(|Z| > 40) = erfc(40/sqrt 2), about 3.7e-350, below the smallest double
    assert normal_tail_s(10.0) == pytest.approx(-math.log10(1.523970e-23), abs=1e-6)
    assert normal_tail_s(40.0) == pytest.approx(349.13598, abs=1e-4)


def test_normal_tail_is_continuous_where_the_asymptotic_series_takes_over():
    z = 26.0 * math.sqrt(2.0)
    assert normal_tail_s(z - 1e-9) == pytest.approx(normal_tail_s(z + 1e-9), rel=1e-6)


def test_normal_tail_is_finite_for_any_input():
    for z in (1e200, -1e300, math.inf, math.nan):
        s = normal_tail_s(z)
        assert math.isfinite(s) and s >= 0.0


def test_chi2_wilson_hilferty_is_close_to_exact_for_two_dof():
    # chi2 with 2 dof is exponential: P(X > x) = exp(-x/2)
    for x in (2.0, 10.0, 30.0):
        assert chi2_upper_s(x, 2) == pytest.approx(x / 2 / math.log(10), rel=0.1)


@given(st.floats(0.0, 1e12), st.floats(0.0, 1e12))
def test_squash_is_monotone_below_one_and_invertible(a, b):
    lo, hi = sorted((a, b))
    assert 0.0 <= squash(lo, 3.0) <= squash(hi, 3.0) < 1.0 or hi > 1e11
    if 0 < lo < 1e9:
        assert unsquash(squash(lo, 3.0), 3.0) == pytest.approx(lo, rel=1e-6)
    assert squash(3.0, 3.0) == 0.5


# -- ewma -----------------------------------------------------------------------------------

def test_ewma_by_hand():
    det = make("ewma", **{"lambda": 0.5, "lambda_var": 0.25})
    assert det.surprise(10.0, 0) == (0.0, None)  # first point: only learned
    s, expected = det.surprise(12.0, 0)  # variance 0 and a change: flat-line break
    assert expected == 10.0 and s == 30.0
    # n=2: weights are 1/2 (plain average), mean 11, var = 1/2 * 0 + 1/2 * 4 = 2
    assert det.mean == 11.0 and det.var == 2.0
    s, expected = det.surprise(13.0, 0)
    assert expected == 11.0
    assert s == pytest.approx(normal_tail_s(2.0 / math.sqrt(2.0)))
    # n=3: mean weight 1/2 (0.5*3 > 1), variance weight 1/3 (0.25*3 < 1)
    assert det.mean == 12.0
    assert det.var == pytest.approx(2.0 * 2 / 3 + 4.0 / 3)


def test_ewma_alarm_is_L():
    cls = registry.detectors.get("ewma")
    assert cls.configure().alarm_s() == pytest.approx(-math.log10(math.erfc(2.814 / math.sqrt(2))))


# -- cusum ----------------------------------------------------------------------------------

def _run_lengths(shift: float, runs: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    det = make("cusum", mu="0", sigma="1")
    alarm = det.cfg.h * det.cfg.to_s
    out = []
    for _ in range(runs):
        det.up = det.down = 0.0
        n = 0
        while True:
            n += 1
            s, _ = det.surprise(rng.gauss(shift, 1.0), 0)
            if s > alarm:
                out.append(n)
                break
    return out


def test_cusum_in_control_average_run_length_is_about_465():
    """Montgomery's table: two-sided tabular CUSUM, k = 0.5, h = 5: ARL0 = 465 on N(0, 1)."""
    lengths = _run_lengths(0.0, 600, seed=7)
    mean = statistics.fmean(lengths)
    stderr = statistics.stdev(lengths) / math.sqrt(len(lengths))
    assert abs(mean - 465) < 4 * stderr, (mean, stderr)


def test_cusum_finds_a_one_sigma_shift_in_about_ten_points():
    """ARL1 for a one-sigma shift with k = 0.5, h = 5 is 10.4 (Montgomery)."""
    lengths = _run_lengths(1.0, 2000, seed=3)
    mean = statistics.fmean(lengths)
    stderr = statistics.stdev(lengths) / math.sqrt(len(lengths))
    assert abs(mean - 10.4) < 4 * stderr, (mean, stderr)


def test_cusum_resets_after_an_alarm_and_is_a_change_detector():
    det = make("cusum", mu="0", sigma="1")
    scores = [det.surprise(3.0, 0)[0] for _ in range(3)]  # 2.5, 5.0, 7.5 > h: alarm, reset
    assert scores[2] == pytest.approx(7.5 * 2 * 0.5 / math.log(10))
    assert det.up == 0.0 and det.down == 0.0
    assert type(det).kind == "change"


# -- mad ------------------------------------------------------------------------------------

@settings(max_examples=300)
@given(st.lists(st.integers(-5, 5) | st.floats(-1e6, 1e6), min_size=1, max_size=40))
def test_median_and_mad_match_the_definition(values):
    ordered = sorted(float(v) for v in values)
    median, mad = median_mad(ordered)
    assert median == statistics.median(ordered)
    assert mad == pytest.approx(statistics.median(abs(v - median) for v in ordered), abs=1e-9)
    devs = sorted(abs(v - median) for v in ordered)
    for k in range(len(ordered)):
        assert kth_deviation(ordered, median, k) == devs[k]


def test_mad_ignores_outliers_in_its_own_window():
    det = make("mad", window=11)
    for v in [10, 11, 9, 10, 1000, 10, 11, 9, -500, 10, 10]:
        det.surprise(float(v), 0)
    s, expected = det.surprise(14.0, 0)
    assert expected == 10.0  # the median shrugs off 1000 and -500
    # MAD of the window is 1 (deviations 0,1,1,0,990,0,1,1,510,0,0 -> median 1): z = 4 / 1.4826
    assert s == pytest.approx(normal_tail_s(4.0 / 1.4826))


def test_mad_window_slides():
    det = make("mad", window=3)
    for v in (1.0, 2.0, 3.0, 100.0, 101.0, 102.0):
        det.surprise(v, 0)
    assert list(det.recent) == [100.0, 101.0, 102.0] and det.ordered == [100.0, 101.0, 102.0]


# -- seasonal -------------------------------------------------------------------------------

def test_seasonal_learns_a_daily_profile_and_flags_a_break_from_it():
    det = make("seasonal", bins=24)
    rng = random.Random(1)
    step = 600.0  # ten-minute samples of an hourly step profile

    def shape(t):
        return 100.0 + 50.0 * math.sin(2 * math.pi * ((t % 86400) // 3600) / 24)

    days = 20
    for i in range(days * 144):
        det.surprise(shape(i * step) + rng.gauss(0, 1), i * step)
    t = days * 86400.0
    s, expected = det.surprise(shape(t), t)
    assert expected == pytest.approx(shape(t), abs=2.0)
    assert s < 3.0
    s, expected = det.surprise(shape(t + 7200) + 30.0, t + 7200)  # in season, 30 noise-sigmas off
    assert expected == pytest.approx(shape(t + 7200), abs=2.0)
    assert s > 20.0  # p < 1e-20
    flat = make("ewma")  # a model without the profile finds the same value far less surprising
    for i in range(days * 144):
        flat.surprise(shape(i * step) + rng.gauss(0, 1), i * step)
    assert flat.surprise(shape(t + 7200) + 30.0, t + 7200)[0] < s / 3


# -- shared post-processing ------------------------------------------------------------------

def test_warmup_scores_zero():
    values = (1.0, 1.1, 0.9, 1.0, 50.0)
    warm = make("ewma", warmup=5, tail_weight=0.0, holdoff=0.0)
    cold = make("ewma", warmup=0, tail_weight=0.0, holdoff=0.0)
    assert [warm.score(v, 0)[0] for v in values] == [0.0] * 5
    assert [cold.score(v, 0)[0] for v in values][4] > 10


def test_holdoff_keeps_one_alarm_per_incident():
    det = make("ewma", warmup=0, tail_weight=0.0, holdoff=50.0, lambda_var=0.001)
    rng = random.Random(4)
    for _ in range(200):
        det.score(rng.gauss(0, 1), 0)
    first, _ = det.score(8.0, 0)
    echo, _ = det.score(7.0, 0)  # just after, less surprising: the echo of the first
    assert first > 10 and echo == 0.0


def test_tail_calibration_tames_a_heavy_tailed_series():
    """Noise with a 2 % chance of a 20-sigma spike: the Gaussian model flags every spike as a
    one-in-ten-billion event; the learned tail knows spikes are routine here."""
    rng = random.Random(5)
    raw = make("ewma", warmup=0, tail_weight=0.0, holdoff=0.0)
    cal = make("ewma", warmup=0, tail_weight=1.0, holdoff=0.0)
    hi_raw = hi_cal = 0
    for _ in range(5000):
        v = rng.gauss(0, 1) + (20.0 if rng.random() < 0.02 else 0.0)
        hi_raw += raw.score(v, 0)[0] > 6
        hi_cal += cal.score(v, 0)[0] > 6
    assert hi_raw > 50 and hi_cal < hi_raw / 5


def test_auto_is_the_larger_part_less_bonferroni():
    auto = make("auto", parts="ewma,cusum")
    e, c = make("ewma"), make("cusum")
    for v in [1.0, 2.0, 1.5, 1.7, 9.0, 1.2]:
        s, _ = auto.surprise(v, 0)
        want = max(e.surprise(v, 0)[0], c.surprise(v, 0)[0]) - math.log10(2)
        assert s == pytest.approx(max(want, 0.0))


def test_bad_parameters_are_refused():
    cls = registry.detectors.get("ewma")
    with pytest.raises(ValueError, match="no parameter"):
        cls.configure({"nope": 1})
    with pytest.raises(ValueError, match="other than auto"):
        registry.detectors.get("auto").configure({"parts": "auto"})
    with pytest.raises(ValueError, match="unknown detector 'nosuch'"):
        registry.detectors.get("auto").configure({"parts": "ewma,nosuch"})


# -- drift: Page-Hinkley and ADWIN -------------------------------------------------------------

def test_pagehinkley_finds_a_shift_soon_and_restarts_its_regime():
    det = make("pagehinkley")
    alarm = det.cfg.threshold * det.cfg.to_s
    rng = random.Random(8)
    quiet = [det.surprise(rng.gauss(0, 1), 0)[0] > alarm for _ in range(500)]
    assert sum(quiet[50:]) <= 2
    found = next(i for i in range(100) if det.surprise(rng.gauss(3, 1), 0)[0] > alarm)
    assert found < 10
    assert det.n == 0  # the next point starts a new regime
    det.surprise(3.0, 0)
    assert det.mean == 3.0 and det.up == det.down == 0.0


def _window(det) -> tuple[int, float]:
    return sum(len(row) << i for i, row in enumerate(det.rows)), sum(b[0] for row in det.rows for b in row)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-100, 100), min_size=1, max_size=300), st.integers(2, 6))
def test_adwin_histogram_holds_exactly_the_newest_width_values(values, buckets):
    det = make("adwin", buckets=buckets, clock=1)
    for v in values:
        det.surprise(v, 0)
    width, total = _window(det)
    assert width == det.width
    tail = [v - det.ref for v in values[len(values) - width:]]  # the window holds values less its reference
    assert total == pytest.approx(math.fsum(tail), abs=1e-6)
    assert det.total == pytest.approx(math.fsum(tail), abs=1e-6)
    mean = math.fsum(tail) / width
    assert det.sq == pytest.approx(math.fsum((v - mean) ** 2 for v in tail), rel=1e-6, abs=1e-6)
    assert all(len(row) <= buckets for row in det.rows)


def test_adwin_drops_the_old_regime_after_a_change():
    det = make("adwin", clock=1)
    alarm = det.cfg.alarm_s()
    rng = random.Random(9)
    false = sum(det.surprise(rng.gauss(0, 1), 0)[0] > alarm for _ in range(1000))
    assert false <= 3 and det.width > 900
    found = next(i for i in range(200) if det.surprise(rng.gauss(2, 1), 0)[0] > alarm)
    assert found < 40
    for _ in range(300):
        det.surprise(rng.gauss(2, 1), 0)
    assert det.width < 300 + found + 100  # nearly all of the 1000 points before the change are gone


# -- spca -----------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["fd", "oja"])
def test_spca_learns_the_correlation_and_flags_its_break(method):
    det = make("spca", k=1, method=method)
    rng = random.Random(10)
    for _ in range(2000):
        a = rng.gauss(0, 1)
        det.surprise([a, 2 * a + rng.gauss(0, 0.05)], 0)
    principal = det.W[:, 0] / math.hypot(*det.W[:, 0])
    assert abs(principal[0]) == pytest.approx(abs(principal[1]), abs=0.1)  # the a+b direction
    usual, _ = det.surprise([1.0, 2.0], 0)  # large but on the usual line
    broken, _ = det.surprise([1.0, -2.0], 0)  # same size, against the correlation
    assert usual < 3.0 < 30.0 < broken

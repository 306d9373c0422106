"""Issue 25: the learned detectors (cad, knn, art) and the ensemble default built from them.

Each is checked for what the issue asks of every learned detector: a run cut anywhere and
resumed from its saved state scores exactly as one run; bounded memory (under 16 KiB a series,
measured with tracemalloc after long, varied series); scores in [0, 1); no alarm on a constant
series and one per step (the latter two also in test_detect_numerics.py, over every detector).
"""

from __future__ import annotations

import base64
import math
import random
import tracemalloc
import zlib
from array import array

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ben_cli.detect  # noqa: F401  (registers the built-ins)
from ben_cli import registry
from ben_cli.detect import DetectOptions, SeriesTable
from ben_cli.detect.auto import DEFAULT_PARTS
from ben_cli.detect.base import UNPACKED_MAX, ZLIB, _pack, _unpack
from ben_cli.detect.pvalue import squash

LEARNED = ["cad", "cadose", "knn", "art", "auto"]
MAX_BYTES = 16 * 1024


def wave(n: int, seed: int = 3) -> list[float]:
    """A daily wave at 5-minute steps with noise, a few spikes and a level shift: varied enough to fill a model."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        v = 50 + 20 * math.sin(2 * math.pi * i / 288) + rng.gauss(0, 3)
        if rng.random() < 0.005:
            v += rng.choice((-1, 1)) * rng.uniform(20, 80)
        if i > n // 2:
            v += 15
        out.append(round(v, 3))
    return out


def feed(det, values: list[float], start: int = 0) -> list[float]:
    alarm = det.cfg.alarm_s()
    return [squash(det.score(v, 300.0 * (start + i))[0], alarm) for i, v in enumerate(values)]


@pytest.mark.parametrize("name", LEARNED)
def test_state_round_trips_through_json_exactly(name):
    """A detector saved as JSON mid-series and restored goes on exactly as one that never stopped."""
    cls = registry.detectors.get(name)
    cfg = cls.configure()
    values = wave(3000)
    whole = feed(cls(cfg), values)
    first = cls(cfg)
    head = feed(first, values[:1234])
    saved = orjson.loads(orjson.dumps(first.state()))
    second = cls.restore(cfg, saved)
    assert head + feed(second, values[1234:], 1234) == whole


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["cad", "knn", "art"]), st.integers(1, 599), st.integers(0, 10**6))
def test_any_cut_resumes_exactly(name, cut, seed):
    cls = registry.detectors.get(name)
    cfg = cls.configure()
    values = wave(600, seed)
    whole = feed(cls(cfg), values)
    first = cls(cfg)
    head = feed(first, values[:cut])
    second = cls.restore(cfg, orjson.loads(orjson.dumps(first.state())))
    assert head + feed(second, values[cut:], cut) == whole


@pytest.mark.parametrize("name", LEARNED)
def test_a_series_costs_under_16_kib_however_long_it_runs(name):
    """Memory is bounded by the parameters, not by the series' length: measured after 1,500 and 6,000 points."""
    cls = registry.detectors.get(name)
    cfg = cls.configure()
    sizes = []
    for n in (1500, 6000):
        values = wave(n)  # made before counting: the floats the test feeds (and Python's float free list) are not the series'
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        det = cls(cfg)
        for i, v in enumerate(values):
            det.score(v, 300.0 * i)
        held = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        sizes.append(held)
        assert held < MAX_BYTES, (name, n, held)
    assert sizes[1] < sizes[0] + 1024, (name, sizes)  # four times the points, (nearly) the same memory


@pytest.mark.parametrize("name", LEARNED)
def test_scores_lie_in_zero_one_even_for_wild_values(name):
    rng = random.Random(5)
    values = [rng.choice((0.0, 1e-9, 1e12, -1e12, rng.gauss(0, 1))) for _ in range(800)]
    out = list(SeriesTable(DetectOptions(detector=name)).feed({"ts": "2026-11-25T00:00:00Z", "value": v} for v in values))
    scores = [r["anomaly"]["score"] for r in out]
    assert len(scores) == 800 and all(0.0 <= s < 1.0 for s in scores)


def test_cad_finds_a_pattern_it_never_met_and_forgets_no_pattern_it_did():
    """A repeating sawtooth is learned; a point breaking the pattern (a level seen, in a new order) is novel."""
    cls = registry.detectors.get("cad")
    det = cls(cls.configure())
    saw = [float(i % 8) for i in range(800)]
    scores = feed(det, saw)
    assert max(scores[100:]) == 0.0  # every context of a sawtooth has been met after one period
    broken = feed(det, [3.0, 3.0], 800)  # 7 then 3: never seen in that order
    assert broken[0] > 0.5


def test_knn_p_value_is_conformal_on_noise():
    """On white noise the conformal p-value is uniform: about 1 % of points have p <= 0.01 (s >= 2)."""
    cls = registry.detectors.get("knn")
    cfg = cls.configure({"tail_weight": 0.0, "holdoff": 0.0})
    det = cls(cfg)
    rng = random.Random(9)
    raw = [det.surprise(rng.gauss(0, 1), 0.0)[0] for _ in range(6000)][500:]
    share = sum(1 for s in raw if s >= 2.0) / len(raw)
    assert 0.003 < share < 0.03, share


def test_art_learns_a_category_per_shape_and_flags_a_new_shape():
    cls = registry.detectors.get("art")
    det = cls(cls.configure())
    square = [0.0] * 20 + [10.0] * 20
    scores = feed(det, square * 30)
    assert max(scores[400:]) == 0.0  # the square wave's windows all have a category now
    assert len(det.last_used) < det.cfg.categories
    triangle = [float(i % 20) / 2.0 for i in range(40)]
    assert max(feed(det, triangle, 1200)) > 0.5


def test_auto_parts_take_parameters_and_say_what_is_wrong():
    cls = registry.detectors.get("auto")
    cfg = cls.configure({"parts": "seasonal:period=3600:bins=12, cad:levels=4"})
    (seasonal, s_cfg), (cad, c_cfg) = cfg.part_configs
    assert (seasonal.__name__, s_cfg.period, s_cfg.bins) == ("Seasonal", 3600.0, 12)
    assert (cad.__name__, c_cfg.levels) == ("Cad", 4)
    for bad, why in (("seasonal:nope=1", "'nope=1' is not PARAM=VALUE"), ("seasonal:bins", "'bins' is not PARAM=VALUE"),
                     ("cad:levels=x", "levels must be int")):
        with pytest.raises(ValueError, match=why):
            cls.configure({"parts": bad})
    assert len(DEFAULT_PARTS.split(",")) == len(cls.configure().part_configs) == 5  # log-daily, weekly, adwin, two cad


def test_seasonal_log_transform_reports_the_expected_value_in_the_series_units():
    cls = registry.detectors.get("seasonal")
    det = cls(cls.configure({"transform": "log"}))
    for i in range(200):
        _, expected = det.score(1000.0, 60.0 * i)
    assert expected == pytest.approx(1000.0)
    neg = cls(cls.configure({"transform": "log"}))
    for i in range(50):
        _, expected = neg.score(-5.0, 60.0 * i)
    assert expected == pytest.approx(-5.0)


@pytest.mark.parametrize(("detector", "slot", "bad"), [
    ("cad", "seen_bits", "not base64!"), ("cad", "seen_bits", "AAAA"), ("cad", "rates", [0.5, 0.5, 0.5]),
    ("knn", "values", "AAE="), ("art", "boxes", 3.0),
    ("knn", "values", ZLIB + "AAAA"),  # not a deflated stream
    ("knn", "values", ZLIB + base64.b64encode(zlib.compress(bytes(16))[:-3]).decode()),  # cut short
    ("knn", "values", ZLIB + base64.b64encode(zlib.compress(bytes(16)) + b"x").decode()),  # followed by more
    ("knn", "values", ZLIB + base64.b64encode(zlib.compress(bytes(UNPACKED_MAX + 8))).decode()),  # a bomb
])
def test_a_state_with_a_broken_buffer_is_refused(tmp_path, detector, slot, bad):
    """Buffers travel as base64 of their bytes; one of the wrong length, not base64 or not a string is a StateError."""
    from ben_cli.errors import StateError

    state = tmp_path / "s.json"
    records = [{"ts": f"2026-11-25T00:{i // 60:02d}:{i % 60:02d}Z", "value": float(i % 7)} for i in range(60)]
    with SeriesTable(DetectOptions(detector=detector, state=state)) as table:
        list(table.feed(records))
        table.save()
    saved = orjson.loads(state.read_bytes())
    saved["series"][0][2][registry.detectors.get(detector).state_slots().index(slot)] = bad
    state.write_bytes(orjson.dumps(saved))
    with pytest.raises(StateError, match="a series' state cannot be read"):
        SeriesTable(DetectOptions(detector=detector, state=state)).load()


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["i", "H", "B", "d"]), st.lists(st.integers(0, 255), max_size=600))
def test_a_buffer_comes_back_exactly_deflated_or_plain(typecode, numbers):
    """A buffer is saved deflated only where that is shorter; either form, and the plain form every
    earlier state file holds, reads back as the same array."""
    buffer = array(typecode, [float(n) if typecode == "d" else n for n in numbers])
    text = _pack(buffer)
    assert _unpack(array(typecode), text) == buffer
    plain = base64.b64encode(buffer.tobytes()).decode()
    assert len(text) <= len(plain)
    assert text.startswith(ZLIB) == (text != plain)
    assert _unpack(array(typecode), plain) == buffer


def test_long_runs_of_small_counts_are_saved_deflated():
    assert _pack(array("i", [3] * 480)).startswith(ZLIB)


def test_a_deflated_buffer_may_not_grow_past_the_bound():
    bomb = ZLIB + base64.b64encode(zlib.compress(bytes(UNPACKED_MAX + 8))).decode()
    with pytest.raises(ValueError, match="holds more than"):
        _unpack(array("d"), bomb)
    assert len(_unpack(array("d"), ZLIB + base64.b64encode(zlib.compress(bytes(UNPACKED_MAX))).decode())) == UNPACKED_MAX // 8

"""The NAB scorer behind `make eval-detect`, on known cases and on the bundled corpus."""

from __future__ import annotations

import math
import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import nab_scorer as nab  # noqa: E402

STANDARD = nab.PROFILES["standard"]


def small(windows=((40, 49),), n=100) -> nab.Series:
    return nab.Series("toy", [str(i) for i in range(n)], [0.0] * n, list(windows))


def scores_at(n: int, rows: dict[int, float]) -> list[float]:
    out = [0.0] * n
    for i, v in rows.items():
        out[i] = v
    return out


@pytest.fixture(scope="module")
def corpus() -> list[nab.Series]:
    return nab.load_corpus()


def test_the_weight_curve():
    assert nab.scaled_sigmoid(-1.0) == pytest.approx(2 / (1 + math.exp(-5)) - 1)
    assert nab.scaled_sigmoid(0.0) == 0.0
    assert nab.scaled_sigmoid(3.5) == -1.0


def test_row_weights_by_hand():
    series = small()
    weights = nab.row_weights(series, STANDARD)
    assert series.probation == 15 and len(weights) == 85  # rows 0-14 are not scored
    by_row = {15 + j: w for j, w in enumerate(weights)}
    assert by_row[20] == (-0.11, None)  # before any window
    assert by_row[40] == (pytest.approx(1.0), 0)  # first row of the window: full reward
    last = nab.scaled_sigmoid(-1 / 10) / nab.MAX_TP
    assert by_row[49] == (pytest.approx(last), 0)
    after = nab.scaled_sigmoid(1 / 9) * 0.11  # one row after: a mild penalty
    assert by_row[50][0] == pytest.approx(after) and -0.11 < after < 0


def test_one_detection_at_the_window_start_is_perfect_and_false_alarms_cost():
    series = small()
    assert nab.score_corpus([series], [scores_at(100, {40: 1.0})], STANDARD).normalised == pytest.approx(100.0)
    both = nab.score_corpus([series], [scores_at(100, {40: 1.0, 20: 1.0})], STANDARD)
    assert both.raw == pytest.approx(1.0 - 0.11) and both.fp == 1
    assert both.normalised == pytest.approx(100 * (1.0 - 0.11 + 1) / 2)


def test_the_sweep_picks_the_best_threshold_ties_to_the_higher():
    series = small()
    # a false alarm at 0.9 and the window at 0.8: t=0.8 gives 1 - 0.11, t=0.9 gives -1 - 0.11
    result = nab.score_corpus([series], [scores_at(100, {20: 0.9, 45: 0.8})], STANDARD)
    assert result.threshold == 0.8 and result.tp == 1 and result.fp == 1
    # the same total at two thresholds: the higher one wins
    tie = nab.score_corpus([series], [scores_at(100, {45: 0.8, 47: 0.7})], STANDARD)
    assert tie.threshold == 0.8


def test_probation_rows_never_count():
    series = small()
    result = nab.score_corpus([series], [scores_at(100, {5: 1.0})], STANDARD)
    assert result.raw == -1.0 and result.fp == 0


def test_null_scores_zero_and_perfect_scores_100_on_the_corpus(corpus):
    assert len(corpus) == 58 and sum(len(s.windows) for s in corpus) == 116
    for profile in nab.PROFILES.values():
        assert nab.score_corpus(corpus, nab.null_scores(corpus), profile).normalised == 0.0
        assert nab.score_corpus(corpus, nab.perfect_scores(corpus), profile).normalised == pytest.approx(100.0)


def test_the_sweep_agrees_with_scoring_at_its_threshold(corpus):
    rng = random.Random(3)
    scores = [[rng.random() ** 8 for _ in s.values] for s in corpus]
    best = nab.score_corpus(corpus, scores, STANDARD)
    assert nab.score_at(corpus, scores, STANDARD, best.threshold) == pytest.approx(best.raw)
    assert nab.score_at(corpus, scores, STANDARD, best.threshold * 1.01) <= best.raw + 1e-9


def test_the_second_corpus_makes_nab_windows_from_labelled_points():
    import eval_tsad

    labels = [0] * 1000
    for i in (100, 101, 102, 700):
        labels[i] = 1
    # two runs share a tenth of the file: 50 rows each, centred on the run
    assert eval_tsad.windows_from_labels(labels) == [(77, 126), (676, 725)]
    wide = [0] * 100 + [1] * 30 + [0] * 70  # a run wider than its share keeps its own width
    assert eval_tsad.windows_from_labels(wide) == [(100, 129)]
    edge = [1] + [0] * 199  # a window never starts before the file
    assert eval_tsad.windows_from_labels(edge) == [(0, 19)]
    assert eval_tsad.windows_from_labels([0] * 50) == []

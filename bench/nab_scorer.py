"""The Numenta Anomaly Benchmark's scoring rules, written from their description.

NAB rewards a detector for flagging each labelled anomaly window early, charges it for every flagged
row outside the windows (less so for rows soon after a window) and for every window it misses. One
threshold per detector and cost profile is chosen over the whole corpus, as NAB's optimiser does,
and the total is normalised so that flagging nothing scores 0 and flagging exactly the windows'
first rows scores 100.

The rules, for a file of ``n`` rows:

* probation: the first ``min(floor(0.15 n), 750)`` rows are seen by the detector but not scored;
* a row inside window ``[lo, hi]`` (width ``w``) weighs ``tp * sig(-(hi - i + 1) / w) / sig(-1)``,
  where ``sig(p) = 2 / (1 + exp(5 p)) - 1`` (and ``-1`` when ``p > 3``);
* a row before any window weighs ``-fp``; a row after a window weighs
  ``fp * sig(|prev_hi - i| / (prev_w - 1))``, which is negative and tends to ``-fp``;
* at threshold ``t`` a row is a detection iff its score is ``>= t``; every window adds the largest
  weight of its detected rows, or ``-fn`` when none is detected; each detected row outside windows
  adds its own (negative) weight.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

NAB = Path(__file__).resolve().parent / "nab"

PROFILES: dict[str, dict[str, float]] = {
    "standard": {"tp": 1.0, "fn": 1.0, "fp": 0.11},
    "reward_low_FP_rate": {"tp": 1.0, "fn": 1.0, "fp": 0.22},
    "reward_low_FN_rate": {"tp": 1.0, "fn": 2.0, "fp": 0.11},
}

# NAB's README scoreboard (standard, reward_low_FP_rate, reward_low_FN_rate), for comparison.
PUBLISHED: list[tuple[str, float, float, float]] = [
    ("ARTime", 74.9, 65.1, 80.4),
    ("Numenta HTM", 70.5, 62.6, 75.2),
    ("CAD OSE", 69.9, 67.0, 73.2),
    ("earthgecko Skyline", 58.2, 46.2, 63.9),
    ("KNN CAD", 58.0, 43.4, 64.8),
    ("Relative Entropy", 54.6, 47.6, 58.8),
    ("Random Cut Forest", 51.7, 38.4, 59.7),
    ("Twitter ADVec", 47.1, 33.6, 53.5),
    ("Windowed Gaussian", 39.6, 20.9, 47.4),
    ("Etsy Skyline", 35.7, 27.1, 44.5),
    ("Bayesian Changepoint", 17.7, 3.2, 32.2),
    ("EXPoSE", 16.4, 3.2, 26.9),
    ("Random", 11.0, 1.2, 19.5),
    ("Null", 0.0, 0.0, 0.0),
]


def scaled_sigmoid(position: float) -> float:
    """NAB's weight curve: +0.987 at the start of a window, 0 at its end, towards -1 after it."""
    if position > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


MAX_TP = scaled_sigmoid(-1.0)


@dataclass
class Series:
    """One NAB file: its timestamps (as read), values and labelled windows as row-index pairs."""

    name: str
    timestamps: list[str]
    values: list[float]
    windows: list[tuple[int, int]]

    @property
    def probation(self) -> int:
        n = len(self.values)
        return min(math.floor(0.15 * n), 750)


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.strip())


def hints(series: Series) -> list[str]:
    """The two facts NAB's harness hands every detector for a file, as ``ben detect`` parameters:
    the whole file's value range and its probation length (NAB's ``inputMin``/``inputMax`` and
    ``probationaryPeriod``). Runs given them are "NAB's rules"; runs without, "blind streaming"."""
    return [f"range={min(series.values)!r}:{max(series.values)!r}", f"probation={series.probation}"]


def load_corpus(root: Path = NAB) -> list[Series]:
    """Every NAB file with its windows, in a stable order (sorted by ``category/file``)."""
    labels = json.loads((root / "labels" / "combined_windows.json").read_text())
    out = []
    for name in sorted(labels):
        path = root / "data" / (name + ".gz")
        with gzip.open(path, "rt", newline="") as fh:
            rows = list(csv.reader(fh))[1:]
        stamps = [r[0] for r in rows]
        index = {_parse_time(t): i for i, t in enumerate(stamps)}
        windows = [(index[_parse_time(lo)], index[_parse_time(hi)]) for lo, hi in labels[name]]
        out.append(Series(name, stamps, [float(r[1]) for r in rows], windows))
    return out


@dataclass
class Row:
    """One scored row: its anomaly score, its weight if detected, and its window (or None)."""

    score: float
    weight: float
    window: int | None


def row_weights(series: Series, profile: dict[str, float]) -> list[tuple[float, int | None]]:
    """(weight, window number or None) of every row after probation, window numbers local to the file."""
    tp, fp = profile["tp"], profile["fp"]
    starts = {lo: (k, lo, hi) for k, (lo, hi) in enumerate(series.windows)}
    out: list[tuple[float, int | None]] = []
    current: tuple[int, int, int] | None = None
    prev: tuple[int, int] | None = None  # (right index, width) of the last window left
    for i in range(len(series.values)):
        if current is None and i in starts:
            current = starts[i]
        if current is not None:
            k, lo, hi = current
            width = hi - lo + 1
            weight = scaled_sigmoid(-(hi - i + 1) / width) * tp / MAX_TP
            window: int | None = k
        else:
            if prev is None:
                weight = -fp
            else:
                right, width = prev
                weight = scaled_sigmoid(abs(right - i) / (width - 1)) * fp
            window = None
        if i >= series.probation:
            out.append((weight, window))
        if current is not None and i == current[2]:
            prev = (current[2], current[2] - current[1] + 1)
            current = None
    return out


@dataclass
class Result:
    threshold: float
    raw: float
    normalised: float
    tp: int
    fp: int
    fn: int


def score_corpus(
    corpus: Sequence[Series], scores: Sequence[Sequence[float]], profile: dict[str, float]
) -> Result:
    """The best normalised NAB score over all thresholds, one threshold for the whole corpus.

    Sweeps the threshold down through every distinct score (and 1.1, where nothing is detected),
    keeping the best total; on a tie the higher threshold wins, as in NAB.
    """
    fn_w = profile["fn"]
    rows: list[tuple[float, float, tuple[int, int] | None]] = []
    window_ids: set[tuple[int, int]] = set()
    for f, (series, file_scores) in enumerate(zip(corpus, scores, strict=True)):
        if len(file_scores) != len(series.values):
            raise ValueError(f"{series.name}: {len(file_scores)} scores for {len(series.values)} rows")
        weights = row_weights(series, profile)
        offset = series.probation
        for j, (weight, window) in enumerate(weights):
            key = None if window is None else (f, window)
            if key is not None:
                window_ids.add(key)
            rows.append((file_scores[offset + j], weight, key))
    rows.sort(key=lambda r: r[0], reverse=True)
    n_windows = len(window_ids)
    best: Windowed = _sweep(rows, n_windows, fn_w)
    s_null = -fn_w * n_windows
    s_perfect = profile["tp"] * n_windows
    norm = 100.0 * (best.total - s_null) / (s_perfect - s_null) if n_windows else 0.0
    return Result(best.threshold, best.total, norm, best.tp, best.fp, n_windows - best.tp)


@dataclass
class Windowed:
    threshold: float
    total: float
    tp: int
    fp: int


def _sweep(rows: list[tuple[float, float, tuple[int, int] | None]], n_windows: int, fn_w: float) -> Windowed:
    """Walk rows in descending score; evaluate the total before each new distinct score."""
    best_in: dict[tuple[int, int], float] = {}
    window_sum = -fn_w * n_windows  # each window contributes -fn until detected
    fp_sum = 0.0
    fp_rows = 0
    threshold = 1.1
    best = Windowed(threshold, window_sum, 0, 0)
    for score, weight, key in rows:
        if score != threshold:
            total = window_sum + fp_sum
            if total > best.total:
                best = Windowed(threshold, total, len(best_in), fp_rows)
            threshold = score
        if key is None:
            fp_sum += weight
            fp_rows += 1
        else:
            old = best_in.get(key)
            if old is None:
                best_in[key] = max(weight, -fn_w)
                window_sum += best_in[key] + fn_w
            elif weight > old:
                best_in[key] = weight
                window_sum += weight - old
    total = window_sum + fp_sum
    if total > best.total:
        best = Windowed(threshold, total, len(best_in), fp_rows)
    return best


def score_at(corpus: Sequence[Series], scores: Sequence[Sequence[float]], profile: dict[str, float],
             threshold: float) -> float:
    """The raw total at one fixed threshold (rows with score >= threshold are detections)."""
    total = 0.0
    for series, file_scores in zip(corpus, scores, strict=True):
        weights = row_weights(series, profile)
        found: dict[int, float] = {}
        for j, (weight, window) in enumerate(weights):
            if file_scores[series.probation + j] < threshold:
                continue
            if window is None:
                total += weight
            else:
                found[window] = max(found.get(window, -math.inf), weight)
        for k in range(len(series.windows)):
            if _scored_window(series, k):
                total += found.get(k, -profile["fn"])
    return total


def _scored_window(series: Series, k: int) -> bool:
    """A window counts when any of its rows lies after probation."""
    return series.windows[k][1] >= series.probation


def null_scores(corpus: Iterable[Series]) -> list[list[float]]:
    return [[0.0] * len(s.values) for s in corpus]


def perfect_scores(corpus: Iterable[Series]) -> list[list[float]]:
    """1 on the first scored row of each window, 0 elsewhere: the best a detector can do."""
    out = []
    for s in corpus:
        row = [0.0] * len(s.values)
        for lo, hi in s.windows:
            first = max(lo, s.probation)
            if first <= hi:
                row[first] = 1.0
        out.append(row)
    return out

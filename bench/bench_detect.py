"""ben detect end to end (NDJSON in, NDJSON out) beside `jq -c .`, and the memory a series costs."""

from __future__ import annotations

import math
import random
import tracemalloc
from pathlib import Path

import orjson
from harness import Harness, human_rate, mib, table

N = 1_000_000
SERIES = 1_000
N_SPCA = 200_000
STATE_SERIES = 100_000


def write_metrics(path: Path, points: int, series: int, seed: int = 11) -> Path:
    """Envelopes of ``series`` metrics reporting in turn: a daily wave, noise, now and then a spike."""
    if path.exists():
        return path
    rng = random.Random(seed)
    t0 = 1_795_600_000
    with open(path, "wb") as fh:
        for i in range(points):
            k, step = i % series, i // series
            t = t0 + step * 60
            value = 50 + 20 * math.sin(2 * math.pi * (t % 86400) / 86400 + k) + rng.gauss(0, 2)
            if rng.random() < 0.001:
                value += 40
            fh.write(orjson.dumps({
                "ts": f"2026-11-25T{(t // 3600) % 24:02d}:{(t // 60) % 60:02d}:{t % 60:02d}Z", "lane": "diag",
                "source": f"host-{k // 10}", "name": f"cpu.core{k % 10}", "value": round(value, 3), "unit": "%",
            }) + b"\n")
    return path


def write_vectors(path: Path, points: int, series: int, seed: int = 12) -> Path:
    """Records carrying three correlated fields (for spca)."""
    if path.exists():
        return path
    rng = random.Random(seed)
    with open(path, "wb") as fh:
        for i in range(points):
            k = i % series
            a = rng.gauss(0, 1)
            fh.write(orjson.dumps({"ts": "2026-11-25T00:00:00Z", "source": f"host-{k}", "name": "node",
                                   "cpu": 50 + 10 * a, "load": 2 + a + rng.gauss(0, 0.1), "mem": rng.gauss(60, 5)}) + b"\n")
    return path


def state_cost(path: Path, detector: str) -> tuple[float, float]:
    """(bytes of memory, bytes of state file) per series after 3 points each in STATE_SERIES series."""
    from ben_cli.detect import DetectOptions, SeriesTable
    from ben_cli.ndjson import Reader

    state = path.with_suffix(f".{detector}.state")
    state.unlink(missing_ok=True)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    with SeriesTable(DetectOptions(detector=detector, state=state)) as series:
        for _ in series.feed(Reader([str(path)]).records()):
            pass
        series.save()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert len(series.table) == STATE_SERIES
    return held / STATE_SERIES, state.stat().st_size / STATE_SERIES


def learned_cost(detector: str = "cadose") -> tuple[list[int], list[int]]:
    """Heap held (tracemalloc) and saved state (bytes of JSON) of one series after each of NAB's
    files, whole, under NAB's rules: a learned model's size after thousands of points, not three."""
    import nab_scorer as nab

    import ben_cli.detect  # noqa: F401  (registers the built-ins)
    from ben_cli import registry
    from ben_cli.detect.options import typed_params

    cls = registry.detectors.get(detector)
    held, saved = [], []
    for series in nab.load_corpus():
        cfg = cls.configure(typed_params(detector, nab.hints(series)))
        values = series.values
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        det = cls(cfg)
        for i, v in enumerate(values):
            det.score(v, 60.0 * i)
        held.append(tracemalloc.get_traced_memory()[0] - before)
        tracemalloc.stop()
        saved.append(len(orjson.dumps(det.state())))
    return held, saved


def timed(h: Harness, cmd: str) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, peak KiB), each the best of ``h.repeat`` runs.

    CPU time (user + system) is what the process itself cost; on a machine shared with other
    builds the wall time also holds the waiting for a core.
    """
    t = h.time(cmd)
    return t.seconds, t.cpu_seconds, t.peak_rss_kib


def run(h: Harness) -> str:
    metrics = write_metrics(h.path("detect-1m.ndjson"), N, SERIES)
    vectors = write_vectors(h.path("detect-spca.ndjson"), N_SPCA, 200)
    many = write_metrics(h.path("detect-100k-series.ndjson"), 3 * STATE_SERIES, STATE_SERIES, seed=13)
    rows = []

    def row(label: str, what: str, cmd: str, n: int, ref: tuple[float, float, int] | None) -> tuple[float, float, int]:
        wall, cpu, kib = timed(h, cmd)
        vs = "1.00x" if ref is None else f"{ref[0] / wall:.2f}x"
        rows.append([label, what, human_rate(n / wall), human_rate(n / cpu), vs, mib(kib)])
        return wall, cpu, kib

    what = f"{N:,} in {SERIES:,} series"
    jq = row("`jq -c .` (reference)", what, f"jq -c . {h.q(metrics)}", N, None)
    for detector in ("ewma", "cusum", "mad", "seasonal", "pagehinkley", "adwin", "cad", "cadose", "auto"):
        row(f"`ben detect -d {detector}`", what, f"{h.ben} detect -q -d {detector} {h.q(metrics)}", N, jq)
    # the default given the range its values live in (the bench's are percentages): auto runs cadose
    row("`ben detect -p range=0:150`", what, f"{h.ben} detect -q -p range=0:150 {h.q(metrics)}", N, jq)
    row("`ben count --every 1h --by source,name`", what, f"{h.ben} count -q --every 1h --by source,name {h.q(metrics)}", N, jq)
    what = f"{N_SPCA:,} vectors in 200 series"
    jq_v = row("`jq -c .` (reference)", what, f"jq -c . {h.q(vectors)}", N_SPCA, None)
    row("`ben detect -d spca --field cpu,load,mem`", what, f"{h.ben} detect -q -d spca --field cpu,load,mem {h.q(vectors)}",
        N_SPCA, jq_v)
    cost_rows = []
    for detector in ("ewma", "cusum", "auto", "mad"):
        held, disk = state_cost(many, detector)
        cost_rows.append([f"`{detector}`", f"{held:,.0f} B", f"{disk:,.0f} B"])
    held_nab, saved_nab = learned_cost()
    return (
        "## detect\n\n"
        f"{N:,} metric envelopes from {SERIES:,} series (a daily wave, noise, rare spikes), each series\n"
        "scored online; the whole record passes through with its mark. Rates are points per second for\n"
        "the whole process, NDJSON in and out, by wall clock and by the CPU time the process used (the\n"
        "machine is shared with other builds, so the wall clock also counts waiting for a core); the\n"
        "ratio is wall time against `jq -c .` on the same file (parse and print, no work). spca runs on\n"
        "records carrying three correlated fields. `ben count` (events into signals) counts the same\n"
        "records per hour and series and writes one record per window and series.\n\n"
        + table(["command", "input", "points/s (wall)", "points/s (CPU)", "vs jq (wall)", "peak memory"], rows)
        + f"\nWhat a series costs, measured on {STATE_SERIES:,} series after three points each: Python heap\n"
        "held by the series table (the detector objects with their keys, by tracemalloc), and bytes of\n"
        "the saved `--state` file.\n\n"
        + table(["detector", "memory per series", "state file per series"], cost_rows)
        + "\nA learned model grows with what it has seen, up to its caps: `cadose` (the default's model when\n"
        "the range is given) after each of NAB's 58 series whole, under NAB's rules, per series.\n\n"
        + table(["detector", "memory, mean", "memory, largest", "state, mean", "state, largest"],
                [["`cadose`", f"{sum(held_nab) / len(held_nab):,.0f} B", f"{max(held_nab):,} B",
                  f"{sum(saved_nab) / len(saved_nab):,.0f} B", f"{max(saved_nab):,} B"]])
        + "\nThe machine (two cores) is shared by several builds at once: wall-clock rates are pessimistic.\n"
    )

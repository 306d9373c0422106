#!/usr/bin/env python3
"""``make eval-detect``: score ``ben detect`` on the Numenta Anomaly Benchmark, write BENCHMARKS.md.

Each of NAB's 58 series becomes a file of envelopes (``ts``, ``source: nab``, ``name``: the file,
``value``), ``ben detect -d NAME`` runs on each file as a separate process, exactly as a user
would run it, with the detector's defaults (one configuration for the whole corpus), and the
``anomaly.score`` of every record is scored by ``nab_scorer`` under NAB's three cost profiles,
one threshold per detector and profile. The table goes into the ``<!-- bench:nab -->`` section;
then the same detectors are scored on a second labelled corpus (``eval_tsad.py``: the anomaly
series the ``aeon`` wheel ships, fetched with pip), into ``<!-- bench:tsad -->``.

    python bench/eval_detect.py                    # every built-in univariate detector
    python bench/eval_detect.py --detector auto    # only these (repeatable)
    python bench/eval_detect.py --no-nab           # only the second corpus (seconds)
    python bench/eval_detect.py --rules nab        # only NAB's rules: each file's range and probation given

Two tables each: "blind streaming" (nothing known ahead, as ``ben detect`` runs on a live feed)
and "NAB's rules" (each file's value range and probation length given as ``-p range=LO:HI -p
probation=N``, the facts NAB's own harness gives every detector, the published ones included).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import eval_tsad  # noqa: E402
import nab_scorer as nab  # noqa: E402

ROOT = HERE.parent
WORK = HERE / ".work" / "nab"
OUT = ROOT / "BENCHMARKS.md"
DETECTORS = ["auto", "seasonal", "ewma", "cusum", "mad", "pagehinkley", "adwin", "cad", "cadose", "knn", "art"]
PROFILE_NAMES = list(nab.PROFILES)


def envelopes(series: nab.Series) -> bytes:
    """The series as NDJSON envelopes, one per row, in file order."""
    lines = []
    for stamp, value in zip(series.timestamps, series.values, strict=True):
        ts = datetime.fromisoformat(stamp).replace(tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        lines.append(orjson.dumps({"ts": ts, "lane": "diag", "source": "nab", "name": series.name, "value": value}))
    return b"\n".join(lines) + b"\n"


def run_detector(ben: str, detector: str, path: Path, hints: list[str] | None = None) -> list[float]:
    """The scores ``ben detect -d DETECTOR`` prints for a file, given ``hints`` as ``-p`` parameters."""
    given = [arg for hint in hints or [] for arg in ("-p", hint)]
    proc = subprocess.run([ben, "detect", "-q", "-d", detector, *given, str(path)], capture_output=True,
                          env={**os.environ, "BEN_LOAD_PLUGINS": ""})
    if proc.returncode != 0:
        raise RuntimeError(f"ben detect -d {detector} {path} failed: {proc.stderr.decode()[-2000:]}")
    return [orjson.loads(line)["anomaly"]["score"] for line in proc.stdout.splitlines()]


def evaluate(corpus: list[nab.Series], detector: str, ben: str, jobs: int,
             rules: str = "blind") -> tuple[dict[str, nab.Result], float]:
    started = time.perf_counter()
    jobs_in = [(WORK / f"{i:02d}.ndjson", nab.hints(s) if rules == "nab" else []) for i, s in enumerate(corpus)]
    with ThreadPoolExecutor(jobs) as pool:
        scores = list(pool.map(lambda job: run_detector(ben, detector, *job), jobs_in))
    elapsed = time.perf_counter() - started
    return {name: nab.score_corpus(corpus, scores, nab.PROFILES[name]) for name in PROFILE_NAMES}, elapsed


def section(results: dict[str, dict[str, nab.Result]], rows: int, timings: dict[str, float],
            rules: str = "blind") -> str:
    ours = sorted(results.items(), key=lambda kv: -kv[1]["standard"].normalised)
    lines = [
        "## detect on the Numenta Anomaly Benchmark" + (", under NAB's rules" if rules == "nab" else ""),
        "",
        eval_tsad.RULES_TEXT[rules] + (" The published detectors below ran under NAB's rules." if rules == "blind" else
                                       " NAB's harness hands every detector these two facts per file; the published"
                                       " detectors below were given them too."),
        "",
        f"`make eval-detect`: each of NAB's 58 series ({rows:,} points, 116 labelled windows) is run through",
        "`ben detect -d NAME` as envelopes, with the detector's defaults (one configuration for the whole",
        "corpus, nothing fitted per file), and scored by bench/nab_scorer.py, a re-implementation of NAB's",
        "scorer: probation of 15 % per file, sigmoid-weighted windows, one threshold per detector and",
        "profile chosen over the whole corpus. 0 is the null detector, 100 a perfect one. Published",
        "scores are from NAB's scoreboard, beside ours in one table.",
        "",
        "| detector | standard | reward low FP | reward low FN | windows found (standard) | false-positive rows | threshold (standard) |",
        "|---|---|---|---|---|---|---|",
    ]
    merged: list[tuple[float, str]] = []
    for name, res in ours:
        std = res["standard"]
        merged.append((std.normalised, (
            f"| **ben `{name}`** | **{std.normalised:.1f}** | **{res['reward_low_FP_rate'].normalised:.1f}** | "
            f"**{res['reward_low_FN_rate'].normalised:.1f}** | {std.tp} of {std.tp + std.fn} | {std.fp} | {std.threshold:.3f} |")))
    for label, std, low_fp, low_fn in nab.PUBLISHED:
        merged.append((std, f"| {label} (published) | {std:.1f} | {low_fp:.1f} | {low_fn:.1f} | | | |"))
    lines += [row for _, row in sorted(merged, key=lambda r: -r[0])]
    lines += ["", "Time for the 58 runs (two at a time, start-up included): " + ", ".join(
        f"`{name}` {timings[name]:.0f} s" for name, _ in ours) + "."]
    return "\n".join(lines) + "\n"


def write_section(body: str, started: float, name: str = "nab") -> None:
    machine = f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}"
    stamp = time.strftime("%Y-%m-%d", time.gmtime())
    block = (f"<!-- bench:{name} -->\n{body}\n_Measured {stamp} on {machine}, "
             f"{time.time() - started:.0f} s for this section._\n<!-- /bench:{name} -->\n")
    text = OUT.read_text() if OUT.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"<!-- bench:{name} -->.*?<!-- /bench:{name} -->\n", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + block
    OUT.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detector", action="append", default=[], help="detector to evaluate (repeatable)")
    parser.add_argument("--jobs", type=int, default=2, help="files run at once")
    parser.add_argument("--no-nab", action="store_true", help="only the second corpus")
    parser.add_argument("--no-write", action="store_true", help="print the table instead of writing BENCHMARKS.md")
    parser.add_argument("--rules", choices=["blind", "nab", "both"], default="both",
                        help="blind: nothing known ahead; nab: each file's range and probation given (default: both)")
    args = parser.parse_args()
    started = time.time()
    ben = str(Path(sys.executable).with_name("ben"))
    corpus = nab.load_corpus()
    WORK.mkdir(parents=True, exist_ok=True)
    for i, series in enumerate(corpus):
        (WORK / f"{i:02d}.ndjson").write_bytes(envelopes(series))
    for rules in ["blind", "nab"] if args.rules == "both" else [args.rules]:
        suffix = "-rules" if rules == "nab" else ""
        results: dict[str, dict[str, nab.Result]] = {}
        timings: dict[str, float] = {}
        started = time.time()
        for detector in [] if args.no_nab else args.detector or DETECTORS:
            results[detector], timings[detector] = evaluate(corpus, detector, ben, args.jobs, rules)
            std = results[detector]["standard"]
            print(f"eval-detect ({rules}): {detector}: standard {std.normalised:.1f} ({std.tp} windows, {std.fp} false rows), "
                  f"low FP {results[detector]['reward_low_FP_rate'].normalised:.1f}, "
                  f"low FN {results[detector]['reward_low_FN_rate'].normalised:.1f}", file=sys.stderr, flush=True)
        if results:
            body = section(results, sum(len(s.values) for s in corpus), timings, rules)
            if args.no_write:
                print(body)
            else:
                write_section(body, started, "nab" + suffix)
        started = time.time()
        second, second_results = eval_tsad.evaluate(args.detector or DETECTORS, rules)
        body = eval_tsad.section(second, second_results, results, rules)
        if args.no_write:
            print(body)
        else:
            write_section(body, started, "tsad" + suffix)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""A quick loop for trying detectors on NAB: every series scored in one process, labels cached.

``make eval-detect`` runs one ``ben detect`` process per file, as a user would (about a minute per
detector here); this drives the same detector objects the command does (``score`` then
``squash``, rounded as the command prints them) in one process, so a variant costs the model's
own time only. It agrees with ``eval_detect.py`` row for row (``--check``), and is how the
variants in retro 0018 were compared.

    python bench/nab_quick.py auto                          # the three profiles
    python bench/nab_quick.py auto -p parts=seasonal,cad     # with parameters
    python bench/nab_quick.py auto --check                   # against the ben detect process
    python bench/nab_quick.py cad --rules nab                # each file's range and probation given
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
import nab_scorer as nab  # noqa: E402

CACHE = HERE / ".work" / "nab" / "corpus.pickle"


def corpus() -> tuple[list[nab.Series], list[list[float]]]:
    """The corpus and each row's time in seconds, read once and then from a pickle."""
    if CACHE.exists():
        with open(CACHE, "rb") as fh:
            return pickle.load(fh)  # noqa: S301  (written by this script)
    series = nab.load_corpus()
    times = [[datetime.fromisoformat(s).replace(tzinfo=UTC).timestamp() for s in x.timestamps] for x in series]
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    with open(CACHE, "wb") as fh:
        pickle.dump((series, times), fh)
    return series, times


def scores(name: str, params: dict[str, Any], series: list[nab.Series], times: list[list[float]],
           rules: str = "blind") -> list[list[float]]:
    """Every row's score as ``ben detect -d NAME -p ...`` prints it; under NAB's rules each file's
    range and probation are added to the parameters, as ``eval_detect.py --rules nab`` does."""
    from ben_cli import registry
    from ben_cli.detect import table as _table  # noqa: F401  (registers the built-in detectors)
    from ben_cli.detect.pvalue import squash

    cls = registry.detectors.get(name)
    known = {p.name: p for p in cls.all_params()}
    cfg = cls.configure(params)
    alarm = cfg.alarm_s()
    out = []
    for s, ts in zip(series, times, strict=True):
        if rules != "blind":  # "nab": both facts; "range" or "probation": that one alone (an ablation)
            given = {k: v for k, v in (pair.split("=", 1) for pair in nab.hints(s)) if rules in ("nab", k)}
            cfg = cls.configure({**params, **{k: known[k].parse(v) for k, v in given.items()}})
        det = cls(cfg)
        row = []
        for v, t in zip(s.values, ts, strict=True):
            score = squash(det.score(v, t)[0], alarm)
            row.append(round(score, 6) if score < 0.9999995 else 0.999999)
        out.append(row)
    return out


def evaluate(name: str, params: dict[str, Any], rules: str = "blind") -> dict[str, nab.Result]:
    series, times = corpus()
    rows = scores(name, params, series, times, rules)
    return {p: nab.score_corpus(series, rows, nab.PROFILES[p]) for p in nab.PROFILES}


def line(label: str, res: dict[str, nab.Result], seconds: float) -> str:
    std = res["standard"]
    return (f"{label}: standard {std.normalised:.1f} low-FP {res['reward_low_FP_rate'].normalised:.1f} "
            f"low-FN {res['reward_low_FN_rate'].normalised:.1f} ({std.tp} windows, {std.fp} false rows, "
            f"threshold {std.threshold:.3f}; {seconds:.0f} s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("detector")
    parser.add_argument("-p", action="append", default=[], help="NAME=VALUE parameter (repeatable)")
    parser.add_argument("--check", action="store_true", help="compare with the ben detect process, row by row")
    parser.add_argument("--rules", choices=["blind", "nab", "range", "probation"], default="blind",
                        help="nab: give each file's value range and probation, as NAB's harness does; "
                             "range, probation: only that one")
    args = parser.parse_args()
    if args.check and args.p:
        parser.error("--check compares the detector's defaults, as make eval-detect runs them: drop -p")
    from ben_cli import registry
    from ben_cli.detect import table as _table  # noqa: F401

    cls = registry.detectors.get(args.detector)
    known = {p.name: p for p in cls.all_params()}
    params = {}
    for text in args.p:
        key, _, value = text.partition("=")
        params[key] = known[key].parse(value)
    started = time.perf_counter()
    res = evaluate(args.detector, params, args.rules)
    print(line(" ".join([args.detector, *args.p, f"[{args.rules}]"]), res, time.perf_counter() - started), flush=True)
    if args.check:
        import eval_detect

        series, times = corpus()
        mine = scores(args.detector, params, series, times, args.rules)
        ben = str(Path(sys.executable).with_name("ben"))
        eval_detect.WORK.mkdir(parents=True, exist_ok=True)
        for i, s in enumerate(series):
            path = eval_detect.WORK / f"{i:02d}.ndjson"
            path.write_bytes(eval_detect.envelopes(s))
            extra = nab.hints(s) if args.rules == "nab" else []
            if eval_detect.run_detector(ben, args.detector, path, extra) != mine[i]:
                print(f"differs on {s.name}", file=sys.stderr)
                return 1
        print("same scores as ben detect on every row", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

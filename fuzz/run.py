"""Run fuzz targets for a bounded time each and write what they did to fuzz/results/TARGET.json.

``python fuzz/run.py [--seconds N] [--runs N] [--native FOLDER] [--out FOLDER] [TARGET ...]``

Each target runs in a process of its own (atheris sets up one target per process), seeded from
fuzz/corpus/TARGET/ (read only: what the fuzzer finds goes to a scratch folder, so the committed
corpus stays small). A crash, a hang (``-timeout``) or running out of memory stops the target; its
input is kept under fuzz/crashes/TARGET/ and the run exits 1. With ``--native`` the inputs other runs found (build/fuzz-corpus/TARGET/) are read too, so the
sanitizer build replays what the faster uninstrumented run explored. The results file says
``{"target", "seconds", "executions", "coverage", "crashes_new", "crashes_fixed"}``, where coverage
is the edge count libFuzzer reports (``cov:``) and crashes_fixed the regression tests of crashes
this target found earlier and that were fixed (``targets.Target.fixed``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import targets  # noqa: E402

STATUS = re.compile(rb"^#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+)", re.M)
DONE = re.compile(rb"^Done (\d+) runs in (\d+) second", re.M)
ARTIFACT = re.compile(rb"Test unit written to (\S+)")


def sanitizer_env(folder: Path) -> dict[str, str]:
    """The environment of a native run: atheris' build of clang's ASan runtime with libFuzzer in
    it, preloaded (it must come first; gcc's libasan would take the coverage hooks from atheris),
    and leak checking off (the interpreter keeps memory to the end by design)."""
    import atheris

    runtime = Path(atheris.path()) / "asan_with_fuzzer.so"
    if not runtime.exists():
        raise SystemExit(f"fuzz: {runtime} is missing (this atheris wheel has no ASan runtime)")
    return {"LD_PRELOAD": str(runtime), "BEN_FUZZ_NATIVE": str(folder),
            "ASAN_OPTIONS": "detect_leaks=0:allocator_may_return_null=1:handle_sigill=1"}


WORK = HERE.parent / "build" / "fuzz-corpus"
MAX_ROUNDS = 20


def child_cpu() -> float:
    """CPU seconds used so far by this process's finished children (the fuzzer runs as one)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_one(name: str, seconds: float, runs: int | None, native: Path | None, out: Path | None,
            timeout: int, quiet: bool, work_root: Path = WORK, crash_root: Path = HERE / "crashes") -> dict:
    corpus = HERE / "corpus" / name
    crashes = crash_root / name
    crashes.mkdir(parents=True, exist_ok=True)
    before = set(crashes.iterdir())
    env = dict(os.environ)
    if native is not None:
        env.update(sanitizer_env(native))
    # what the fuzzer finds is kept out of the repository, for the next run (and the native one)
    work = work_root / name
    work.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, str(HERE / "one.py"), name, f"-timeout={timeout}", "-rss_limit_mb=3072",
           f"-artifact_prefix={crashes}/", "-print_final_stats=1", str(work)]
    if corpus.is_dir():
        cmd.append(str(corpus))
    started, cpu_before = time.monotonic(), child_cpu()
    executions = coverage = rounds = 0
    # --seconds counts the fuzzer's own CPU time, not the wall clock: on a machine shared with other
    # work a wall-clock budget buys an unknown amount of fuzzing. libFuzzer only knows wall time, so
    # a target runs again (resuming from its work folder) until its CPU time reaches the budget.
    while True:
        rounds += 1
        left = seconds - (child_cpu() - cpu_before)
        budget = f"-runs={runs}" if runs is not None else f"-max_total_time={max(1, round(left))}"
        done = subprocess.run([*cmd[:3], budget, *cmd[3:]], env=env, capture_output=True)
        log = done.stderr
        status = STATUS.findall(log)
        ran = int(DONE.findall(log)[-1][0]) if DONE.search(log) else int(status[-1][0]) if status else 0
        executions += ran
        coverage = max([coverage, *(int(cov) for _, cov, _ in status)])
        new = sorted(set(crashes.iterdir()) - before)
        if done.returncode != 0 and not new:  # a failure that left no input: the harness itself broke
            sys.stderr.write(log.decode("utf-8", "replace")[-4000:])
            raise SystemExit(f"fuzz: {name} failed (exit {done.returncode}) without a crash input")
        if new or runs is not None or child_cpu() - cpu_before >= seconds - 1 or rounds >= MAX_ROUNDS:
            break
    took, cpu = time.monotonic() - started, child_cpu() - cpu_before
    if new and not quiet:
        sys.stderr.write(log.decode("utf-8", "replace")[-6000:])
    # the sanitizer run of a target is a row of its own in the results: TARGET_asan
    label = f"{name}_asan" if native is not None else name
    result = {"target": label, "seconds": round(took, 1), "cpu_seconds": round(cpu, 1), "executions": executions,
              "coverage": coverage,
              "crashes_new": len(new), "crashes_fixed": list(t.fixed) if (t := targets.TARGETS.get(name)) else []}
    if native is not None:
        result["sanitizers"] = "address,undefined"
        result["c_coverage"] = True  # built with clang's fuzzer-no-link: libFuzzer counts the C code's edges
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        tmp = out / f".{label}.json.tmp"
        tmp.write_text(json.dumps(result, indent=2) + "\n")
        tmp.replace(out / f"{label}.json")
    for path in new:
        print(f"fuzz: {name}: NEW CRASH {path}", file=sys.stderr)
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("targets", nargs="*", help="targets to run (default: all; with --native: the native ones)")
    ap.add_argument("--seconds", type=float, default=float(os.environ.get("FUZZ_SECONDS", 60)))
    ap.add_argument("--runs", type=int, help="a number of executions instead of a time")
    ap.add_argument("--timeout", type=int, default=10, help="seconds one input may take before it is a hang")
    ap.add_argument("--native", type=Path, help="folder of the sanitizer builds of the C extensions")
    ap.add_argument("--out", type=Path, default=HERE / "results", help="where results go ('-': nowhere)")
    args = ap.parse_args()
    names = args.targets or [n for n, t in targets.TARGETS.items() if t.native or args.native is None]
    unknown = [n for n in names if n not in targets.TARGETS]
    if unknown:
        ap.error(f"unknown targets: {', '.join(unknown)}")
    out = None if str(args.out) == "-" else args.out
    failed = 0
    for name in names:
        r = run_one(name, args.seconds, args.runs, args.native, out, args.timeout, quiet=False)
        failed += r["crashes_new"]
        print(f"{r['target']:20} {r['cpu_seconds']:7.1f} CPU-s {r['executions']:>10} runs  cov {r['coverage']:>5}  "
              f"new crashes {r['crashes_new']}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

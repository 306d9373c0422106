#!/usr/bin/env python3
"""Run the benchmarks in bench/ and write BENCHMARKS.md.

    python bench/run.py                 # every bench/bench_*.py
    python bench/run.py --only ingest   # one section; the other sections of BENCHMARKS.md are kept

Each section sits between ``<!-- bench:NAME -->`` markers so a partial run replaces only its own.
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from harness import ROOT, Harness  # noqa: E402

OUT = ROOT / "BENCHMARKS.md"
HEADER = """# Benchmarks

Written by `make bench` (bench/run.py). Every number below was measured in one run of that
command on the machine named in each section, beside a reference tool run on the same input in
the same invocation; ratios are the point, absolute numbers depend on the machine. Times are the
best of several runs of the whole process (start-up included); memory is peak resident size.

"""


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", HERE / f"bench_{name}.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", action="append", default=[], help="run only this benchmark (repeatable)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    names = sorted(p.stem[len("bench_"):] for p in HERE.glob("bench_*.py"))
    chosen = args.only or names
    text = OUT.read_text() if OUT.exists() else HEADER
    if not text.startswith("# Benchmarks"):
        text = HEADER
    h = Harness(repeat=args.repeat)
    machine = f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}"
    for name in chosen:
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        started = time.time()
        body = load(name).run(h).rstrip() + "\n"
        stamp = time.strftime("%Y-%m-%d", time.gmtime())
        section = (f"<!-- bench:{name} -->\n{body}\n_Measured {stamp} on {machine}, "
                   f"{time.time() - started:.0f} s for this section._\n<!-- /bench:{name} -->\n")
        pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->\n", re.S)
        text = pattern.sub(lambda _, s=section: s, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
        OUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

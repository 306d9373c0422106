"""`ben run` of ingest → scrub → detect → sink(file) against the same shell pipeline and `jq -c .`,
with `--workers` 1, 2 and 4.

Every variant reads the same generated access log (PII on every line) and, for ben, writes the
same file through the file sink; the runs are alternated round by round so that a burst of other
load on a shared machine falls on all alike, and the best of each is kept.
"""

from __future__ import annotations

import compileall
import os
import shutil

from generate import write_ndjson
from harness import ROOT, Harness, human_rate, table

N = 100_000


def run(h: Harness) -> str:
    log = h.path("run-app-100k.ndjson")
    write_ndjson(log, N)
    work = h.path("run")
    ben, q = h.ben, h.q
    # A pip install compiles the bytecode; an editable one does not, and with PYTHONDONTWRITEBYTECODE
    # set, every process compiles about 90 modules as it starts (0.1 to 0.2 CPU-s): four times in
    # the shell pipe, once in `ben run`. Compiled here so that start-up is what users pay.
    for folder in ("ben_cli", "commands"):
        compileall.compile_dir(ROOT / folder, quiet=1)

    def shell() -> str:
        return (f"{ben} ingest -q {q(log)} | {ben} scrub -q | {ben} detect -q -d ewma | "
                f"{ben} sink -q --to file:{q(work / 'shell.ndjson')}")

    def in_process(workers: int) -> str:
        out = work / f"run{workers}.ndjson"
        pipeline = f"ingest {log} | scrub | detect -d ewma | sink --to file:{out}"
        return f"{ben} run -q --workers {workers} -e {q(pipeline)}"

    variants = {"shell pipe (4 processes)": shell(), "`ben run`": in_process(1),
                "`ben run --workers 2`": in_process(2), "`ben run --workers 4`": in_process(4),
                "`jq -c .` (reference)": f"jq -c . {q(log)} > /dev/null"}
    load_before = os.getloadavg()[0]
    runs: dict[str, list] = {name: [] for name in variants}
    for _ in range(h.repeat):
        for name, cmd in variants.items():
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            runs[name].append(h.time_once(cmd))
    load = (load_before + os.getloadavg()[0]) / 2
    best = {name: min(ts, key=lambda t: t.seconds) for name, ts in runs.items()}
    shell_s, jq_s, one_s = (best[k].seconds for k in ("shell pipe (4 processes)", "`jq -c .` (reference)", "`ben run`"))
    shell_cpu = best["shell pipe (4 processes)"].cpu_seconds
    rows = []
    for name, t in best.items():
        rows.append([name, human_rate(N / t.seconds), f"{shell_s / t.seconds:.2f}x", f"{jq_s / t.seconds:.2f}x",
                     f"{one_s / t.seconds:.2f}x" if name.startswith("`ben run") else "", f"{t.cpu_seconds:.2f}",
                     f"{t.cpu_seconds / shell_cpu:.2f}x",
                     f"{t.peak_rss_kib / 1024:.0f} MiB"])
    return ("## run\n\n"
            f"`ingest → scrub → detect -d ewma → sink --to file:` over {N:,} generated application-log lines (scrub scans every value; its default policy "
            f"finds nothing to redact in these), "
            f"as a shell pipe of four `ben` processes and as `ben run`, beside `jq -c .` on the same file; best of "
            f"{h.repeat} alternated runs on {os.cpu_count()} cores shared with other work (load average about "
            f"{load:.1f} during the runs: wall times carry that load, the CPU column is steadier, and more "
            "processes than free cores gain nothing). Peak memory is the largest single process.\n\n"
            + table(["pipeline", "records/s", "vs shell", "vs jq", "vs --workers 1", "CPU s", "CPU vs shell",
                     "peak memory"], rows))

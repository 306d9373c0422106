"""What every benchmark shares: generated inputs, timed child processes, peak memory, tables.

A benchmark module ``bench/bench_<name>.py`` defines ``run(h: Harness) -> str`` returning its
Markdown section. Commands are timed as whole processes (start-up included, as a user pays it),
best of ``repeat`` runs, with CPU time from ``wait4``'s rusage and peak resident memory from GNU
time (see ``Harness.time_once``).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".work"
GNU_TIME = "/usr/bin/time"  # Debian's package "time"


@dataclass
class Timing:
    seconds: float
    peak_rss_kib: int
    returncode: int
    cpu_seconds: float = 0.0  # user + system time of the whole process tree

    def rate(self, n: int) -> float:
        """Items per wall-clock second: what a user waits for."""
        return n / self.seconds if self.seconds > 0 else float("inf")

    def cpu_rate(self, n: int) -> float:
        """Items per CPU second: steadier than wall time when other work shares the cores, but it
        hides the gain of using several cores at once (and the cost of start-up waits)."""
        return n / self.cpu_seconds if self.cpu_seconds > 0 else float("inf")


class Harness:
    def __init__(self, repeat: int = 3):
        self.repeat = repeat
        WORK.mkdir(parents=True, exist_ok=True)
        self.work = WORK
        self.bin = Path(sys.executable).parent
        self.ben = str(self.bin / "ben")
        self.env = {**os.environ, "BEN_LOAD_PLUGINS": "", "BEN_HOME": str(WORK / "home")}
        self.peak_report = WORK / "peak-kib.txt"

    def path(self, name: str) -> Path:
        return self.work / name

    def time_once(self, cmd: str, stdin: Path | None = None, stdout: Path | None = None) -> Timing:
        """Run a shell command once; its time and the peak RSS of the process tree's largest member."""
        fin = open(stdin, "rb") if stdin else subprocess.DEVNULL
        fout = open(stdout, "wb") if stdout else subprocess.DEVNULL
        try:
            start = time.perf_counter()
            proc = subprocess.Popen([GNU_TIME, "-f", "%M", "-o", str(self.peak_report),
                                     "/bin/bash", "-c", "set -o pipefail; " + cmd], stdin=fin, stdout=fout,
                                    stderr=subprocess.PIPE, env=self.env)
            _, status, usage = os.wait4(proc.pid, 0)
            elapsed = time.perf_counter() - start
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            proc.returncode = os.waitstatus_to_exitcode(status)
        finally:
            for fh in (fin, fout):
                if hasattr(fh, "close"):
                    fh.close()
        if proc.returncode != 0:
            raise RuntimeError(f"benchmark command failed ({proc.returncode}): {cmd}\n{err[-2000:]}")
        # wait4's rusage covers the shell and the children it reaped: CPU times add up over the tree.
        # The peak resident size comes from GNU time instead: Linux carries a process's peak across
        # fork and exec, so a shell started straight from this (large) Python process would report
        # at least this process's own size; time's child is forked from time, which is small.
        peak_kib = int(self.peak_report.read_text().split()[-1])
        return Timing(elapsed, peak_kib, proc.returncode, usage.ru_utime + usage.ru_stime)

    def time(self, cmd: str, stdin: Path | None = None, stdout: Path | None = None) -> Timing:
        """Best of ``repeat`` runs (the least disturbed by other load on a shared machine)."""
        runs = [self.time_once(cmd, stdin, stdout) for _ in range(self.repeat)]
        return Timing(min(t.seconds for t in runs), max(t.peak_rss_kib for t in runs), 0,
                      min(t.cpu_seconds for t in runs))

    def q(self, value: object) -> str:
        return shlex.quote(str(value))


def table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def human_rate(x: float) -> str:
    return f"{x:,.0f}"


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB"

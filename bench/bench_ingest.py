"""ben ingest in every format beside `jq -c .` on the NDJSON form of the same data, and start-up.

The machine these numbers come from is shared, and its load changes by the minute, so every row
times its own jq reference interleaved with it (jq, ben, jq, ben, ...; best of each) rather than
once at the start, and reports CPU seconds of the process tree (user + system) beside wall time.
"""

from __future__ import annotations

import os

from generate import write_logfmt, write_ndjson
from generate_ingest import write_csv, write_otlp, write_prom, write_syslog
from harness import Harness, Timing, human_rate, mib, table

N = 1_000_000


def beside(h: Harness, reference: str, cmd: str) -> tuple[Timing, Timing]:
    """Best of ``h.repeat`` runs of each command, the two taking turns so both meet the same load."""
    runs: list[tuple[Timing, Timing]] = [(h.time_once(reference), h.time_once(cmd)) for _ in range(h.repeat)]
    return best([r for r, _ in runs]), best([c for _, c in runs])


def best(runs: list[Timing]) -> Timing:
    return Timing(min(t.seconds for t in runs), max(t.peak_rss_kib for t in runs), 0,
                  min(t.cpu_seconds for t in runs))


def run(h: Harness) -> str:
    nd = write_ndjson(h.path("ingest-1m.ndjson"), N)
    prom, prom_nd = write_prom(h.path("ingest-1m.prom"), h.path("ingest-1m-samples.ndjson"), N)
    cases = [
        ("ndjson", nd, nd, ""),
        ("ndjson", nd, nd, " -j1"),
        ("logfmt", write_logfmt(h.path("ingest-1m.logfmt"), N), nd, ""),
        ("logfmt", h.path("ingest-1m.logfmt"), nd, " -j1"),
        ("syslog", write_syslog(h.path("ingest-1m.syslog"), N), nd, ""),
        ("csv", write_csv(h.path("ingest-1m.csv"), N), nd, ""),
        ("otlp", write_otlp(h.path("ingest-1m.otlp.json"), N), nd, ""),
        ("prom", prom, prom_nd, ""),
    ]
    rows = []
    for fmt, path, ref_input, extra in cases:
        jq, t = beside(h, f"jq -c . {h.q(ref_input)}", f"{h.ben} ingest -q --format {fmt}{extra} {h.q(path)}")
        rows.append([f"`ben ingest --format {fmt}{extra}`", human_rate(t.rate(N)), human_rate(jq.rate(N)),
                     f"{t.rate(N) / jq.rate(N):.2f}x", human_rate(t.cpu_rate(N)), human_rate(jq.cpu_rate(N)),
                     f"{t.cpu_rate(N) / jq.cpu_rate(N):.2f}x", mib(t.peak_rss_kib)])
    startup = min(h.time_once(f"{h.ben} --version").seconds for _ in range(10))
    help_time = min(h.time_once(f"{h.ben} ingest --help").seconds for _ in range(5))
    cpus = len(os.sched_getaffinity(0))
    return (
        "## ingest\n\n"
        f"{N:,} generated application-log records ({nd.stat().st_size / N:.0f} bytes each on average as NDJSON),\n"
        "written in each format (syslog as RFC 5424 with structured data, CSV with a header, OTLP/JSON as\n"
        f"export requests of 100 records per line), and {N:,} Prometheus samples (counters, gauges, histogram\n"
        "series). Rates are records per second of the whole process (start-up included), by the wall clock\n"
        "and per second of CPU time (user + system of the process tree). Each row has its own reference,\n"
        "`jq -c .` (jq 1.6) on the NDJSON form of the same records (the samples as NDJSON for prom), run\n"
        f"in turns with it, best of {h.repeat} each. Line-by-line formats (ndjson, logfmt, syslog, otlp) are decoded\n"
        f"by one process per CPU ({cpus} here) by default, each writing its blocks to the output in turn;\n"
        "`-j1` rows are one process. Several processes shorten the wall time, not the CPU time, so the\n"
        "CPU ratio of such a row is below its wall ratio. The machine is shared with other work:\n"
        "absolute rates are pessimistic, the CPU columns are the steadier comparison.\n\n"
        + table(["command", "records/s", "jq records/s", "vs jq", "records/CPU-s", "jq records/CPU-s",
                 "vs jq (CPU)", "peak memory"], rows)
        + f"\nStart-up: `ben --version` {startup * 1000:.0f} ms, `ben ingest --help` {help_time * 1000:.0f} ms "
        "(best of several runs).\n"
    )

"""ben ingest in every format beside `jq -c .` on the NDJSON form of the same data, and start-up."""

from __future__ import annotations

import os

from generate import write_logfmt, write_ndjson
from generate_ingest import write_csv, write_otlp, write_prom, write_syslog
from harness import Harness, human_rate, mib, table

N = 1_000_000


def run(h: Harness) -> str:
    nd = write_ndjson(h.path("ingest-1m.ndjson"), N)
    inputs = {
        "ndjson": nd,
        "logfmt": write_logfmt(h.path("ingest-1m.logfmt"), N),
        "syslog": write_syslog(h.path("ingest-1m.syslog"), N),
        "csv": write_csv(h.path("ingest-1m.csv"), N),
        "otlp": write_otlp(h.path("ingest-1m.otlp.json"), N),
    }
    prom, prom_nd = write_prom(h.path("ingest-1m.prom"), h.path("ingest-1m-samples.ndjson"), N)
    jq_logs = h.time(f"jq -c . {h.q(nd)}")
    jq_metrics = h.time(f"jq -c . {h.q(prom_nd)}")
    rows = [["`jq -c .` (reference, logs)", "NDJSON", human_rate(jq_logs.rate(N)), "1.00x", mib(jq_logs.peak_rss_kib)],
            ["`jq -c .` (reference, metrics)", "NDJSON", human_rate(jq_metrics.rate(N)), "1.00x",
             mib(jq_metrics.peak_rss_kib)]]
    cases = [(fmt, path, jq_logs, "") for fmt, path in inputs.items()]
    cases.insert(1, ("ndjson", nd, jq_logs, " -j1"))
    cases.insert(3, ("logfmt", inputs["logfmt"], jq_logs, " -j1"))
    cases.append(("prom", prom, jq_metrics, ""))
    for fmt, path, ref, extra in cases:
        t = h.time(f"{h.ben} ingest -q --format {fmt}{extra} {h.q(path)}")
        rows.append([f"`ben ingest --format {fmt}{extra}`", fmt, human_rate(t.rate(N)),
                     f"{t.rate(N) / ref.rate(N):.2f}x", mib(t.peak_rss_kib)])
    startup = min(h.time_once(f"{h.ben} --version").seconds for _ in range(10))
    help_time = min(h.time_once(f"{h.ben} ingest --help").seconds for _ in range(5))
    cpus = len(os.sched_getaffinity(0))
    return (
        "## ingest\n\n"
        f"{N:,} generated application-log records ({nd.stat().st_size / N:.0f} bytes each on average as NDJSON),\n"
        "written in each format (syslog as RFC 5424 with structured data, CSV with a header, OTLP/JSON as\n"
        f"export requests of 100 records per line), and {N:,} Prometheus samples (counters, gauges, histogram\n"
        "series). Rate is records per second of the whole process; the ratio is to `jq -c .` (jq 1.6) on the\n"
        "NDJSON form of the same data, timed in the same run. Line-by-line formats (ndjson, logfmt, syslog,\n"
        f"otlp) are decoded by one process per CPU ({cpus} here) by default; `-j1` rows are one process.\n"
        "The machine is shared with other work, so absolute rates are pessimistic.\n\n"
        + table(["command", "input", "records/s", "vs jq", "peak memory"], rows)
        + f"\nStart-up: `ben --version` {startup * 1000:.0f} ms, `ben ingest --help` {help_time * 1000:.0f} ms "
        "(best of several runs).\n"
    )

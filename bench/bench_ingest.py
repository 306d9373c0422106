"""ben ingest on NDJSON and logfmt beside `jq -c .`, and the start-up time of `ben --version`."""

from __future__ import annotations

from generate import write_logfmt, write_ndjson
from harness import Harness, human_rate, mib, table

N = 1_000_000


def run(h: Harness) -> str:
    nd = write_ndjson(h.path("ingest-1m.ndjson"), N)
    lf = write_logfmt(h.path("ingest-1m.logfmt"), N)
    size = nd.stat().st_size / N
    jq = h.time(f"jq -c . {h.q(nd)}")
    rows = [["`jq -c .` (reference)", "NDJSON", human_rate(jq.rate(N)), "1.00x", mib(jq.peak_rss_kib)]]
    for label, path, fmt in (("ben ingest", nd, "ndjson"), ("ben ingest", lf, "logfmt")):
        t = h.time(f"{h.ben} ingest -q --format {fmt} {h.q(path)}")
        rows.append([f"`{label} --format {fmt}`", fmt, human_rate(t.rate(N)), f"{t.rate(N) / jq.rate(N):.2f}x",
                     mib(t.peak_rss_kib)])
    startup = min(h.time_once(f"{h.ben} --version").seconds for _ in range(10))
    help_time = min(h.time_once(f"{h.ben} ingest --help").seconds for _ in range(5))
    return (
        "## ingest\n\n"
        f"{N:,} generated application-log records ({size:.0f} bytes each on average as NDJSON; the logfmt\n"
        "file holds the same records). Rate is records per second, ratio is to `jq -c .` on the NDJSON.\n\n"
        + table(["command", "input", "records/s", "vs jq", "peak memory"], rows)
        + f"\nStart-up: `ben --version` {startup * 1000:.0f} ms, `ben ingest --help` {help_time * 1000:.0f} ms "
        "(best of several runs).\n"
    )

"""ben narrate over 1,000,000 marked records, beside `ben detect` on the same records and `jq -c .`.

The input is 1,000 series (100 hosts x 10 metrics) of 1,000 one-minute points each, with a
plateau injected on 2% of the series at the same time (one multi-host incident) and a level
shift on a few more. ``ben detect`` marks them; narrate reads detect's output. The issue asks
narrate to take under twice detect's time on the same records.
"""

from __future__ import annotations

import random
import subprocess

import orjson
from harness import Harness, human_rate, mib, table

from ben_cli.narrate.humanize import plural

N_HOSTS, N_METRICS, N_POINTS = 100, 10, 1000
N = N_HOSTS * N_METRICS * N_POINTS
T0_S = 1_795_564_800  # 2026-11-25T00:00:00Z
METRICS = [("http.request", "ms", 120.0, 6.0), ("cpu.usage", "%", 35.0, 2.0), ("mem.used", "By", 2.0e9, 1.0e7),
           ("disk.usage", "%", 61.0, 0.5), ("queue.depth", "1", 40.0, 4.0), ("gc.pause", "ms", 12.0, 1.5),
           ("net.rx", "By", 5.0e6, 2.0e5), ("net.tx", "By", 3.0e6, 1.5e5), ("db.query", "ms", 8.0, 0.8),
           ("threads", "1", 220.0, 5.0)]


def _ts(second: int) -> str:
    h, rem = divmod(second % 86400, 3600)
    return f"2026-11-25T{h:02d}:{rem // 60:02d}:{rem % 60:02d}Z"


def write_metrics(path, marked: bool):
    """Envelopes in time order; ``marked`` adds an anomaly mark per record (value beyond 4 noise
    spreads from the base), for the run without ben detect."""
    if path.exists():
        return path
    rng = random.Random(11)
    spiky = {h for h in range(N_HOSTS) if h % 50 == 3}  # two hosts' latency triples together
    shifted = {h for h in range(N_HOSTS) if h % 25 == 7}  # four hosts' cpu steps up
    with open(path, "wb") as fh:
        for p in range(N_POINTS):
            ts = _ts(T0_S + 60 * p)
            lines = []
            for h in range(N_HOSTS):
                for m, (name, unit, base, noise) in enumerate(METRICS):
                    value = base + rng.gauss(0, noise)
                    if m == 0 and h in spiky and 600 <= p < 612:
                        value += 2 * base
                    if m == 1 and h in shifted and p >= 400:
                        value += base * 0.8
                    rec = {"ts": ts, "lane": "diag", "source": f"host-{h:03d}", "name": name,
                           "value": round(value, 3), "unit": unit, "severity": "info"}
                    if marked:
                        z = abs(value - base) / noise
                        rec["anomaly"] = {"detector": "threshold", "score": round(min(1.0, z / 10), 6),
                                          "is_anomaly": z > 4, "expected": base, "series": f"host-{h:03d}/{name}"}
                    lines.append(orjson.dumps(rec))
            fh.write(b"\n".join(lines) + b"\n")
    return path


def _has_detect(h: Harness) -> bool:
    return subprocess.run([h.ben, "detect", "--help"], capture_output=True, env=h.env).returncode == 0


def run(h: Harness) -> str:
    rows = []
    if _has_detect(h):
        raw = write_metrics(h.path("narrate-1m.ndjson"), marked=False)
        marked = h.path("narrate-1m-detected.ndjson")
        detect = h.time(f"{h.ben} detect -q {h.q(raw)}", stdout=marked)
        reference, ref_label = detect, "`ben detect` (reference)"
        note = "narrate reads `ben detect`'s output (the default detector) for the same records."
    else:
        marked = write_metrics(h.path("narrate-1m-marked.ndjson"), marked=True)
        reference, ref_label = None, ""
        note = ("`ben detect` is not installed in this checkout; the records carry generated marks "
                "(beyond four noise spreads) and the reference is `jq -c .` alone.")
    jq = h.time(f"jq -c . {h.q(marked)} > /dev/null")
    report = h.time(f"{h.ben} narrate -q {h.q(marked)} > /dev/null")
    html = h.time(f"{h.ben} narrate -q --format html {h.q(marked)} > /dev/null")
    stream = h.time(f"{h.ben} narrate -q --every 1h {h.q(marked)} > /dev/null")
    base = reference or jq
    if reference is not None:
        rows.append([ref_label, human_rate(reference.rate(N)), "1.00x", mib(reference.peak_rss_kib)])
    rows.append(["`jq -c .`" + ("" if reference else " (reference)"), human_rate(jq.rate(N)),
                 f"{jq.seconds / base.seconds:.2f}x", mib(jq.peak_rss_kib)])
    for label, t in (("`ben narrate` (text report)", report), ("`ben narrate --format html`", html),
                     ("`ben narrate --every 1h` (pass-through)", stream)):
        rows.append([label, human_rate(t.rate(N)), f"{t.seconds / base.seconds:.2f}x", mib(t.peak_rss_kib)])
    verdict = subprocess.run([h.ben, "narrate", "-q", "--format", "json", str(marked)], capture_output=True,
                             env=h.env, check=True).stdout
    found = orjson.loads(verdict)
    return (
        "## narrate\n\n"
        f"{N:,} records: {N_HOSTS * N_METRICS:,} series of {N_POINTS:,} one-minute points, with a two-host latency "
        f"plateau and a four-host cpu step injected. {note} Time is the whole process, best of {h.repeat}; "
        "the ratio column is time relative to the reference (lower is faster; the goal is under 2.00x "
        "`ben detect`). The machine is shared (two cores, other builds running), so absolute rates are "
        "pessimistic and vary between runs; the ratios are measured side by side.\n\n"
        + table(["command", "records/s", "time vs reference", "peak memory"], rows)
        + f"\nThe report found {plural(len(found['incidents']), 'incident')} over {found['series']:,} series "
        f"(verdict: {found['verdict']}).\n"
    )

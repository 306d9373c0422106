"""ben sink --to nats:// (publish, each batch acknowledged by JetStream) and ben ingest --from
nats:// (a durable pull consumer per partition) against Debian's nats-server on loopback.

There is no public reference tool for this in the same invocation: Debian ships the server but
not the `nats` command-line client. The reference is ben's own `sink --to file:` on the same
records, the cheapest durable target (each batch fsynced), so the ratio says what the network
and JetStream's acknowledgements cost."""

from __future__ import annotations

import itertools
import subprocess
import sys

from generate import write_ndjson
from harness import ROOT, Harness, Timing, human_rate, mib, table

N = 50_000
IDLE = 0.2  # the consumer's --max-idle: part of each consume's wall time (not of its CPU)


def _best(timings: list[Timing]) -> Timing:
    return Timing(min(t.seconds for t in timings), max(t.peak_rss_kib for t in timings), 0,
                  min(t.cpu_seconds for t in timings))


def run(h: Harness) -> str:
    raw = write_ndjson(h.path("nats-50k.raw.ndjson"), N)
    envelopes = h.path("nats-50k.ndjson")
    if not envelopes.exists():
        h.time_once(f"{h.ben} ingest -q {h.q(raw)}", stdout=envelopes)
    script = ROOT / "tests" / "support" / "nats-test-server"
    port = subprocess.run([sys.executable, str(ROOT / "tests" / "support" / "free-port")], capture_output=True,
                          text=True, check=True).stdout.strip()
    folder = h.path("nats-server")
    subprocess.run(["rm", "-rf", str(folder)], check=True)
    subprocess.run([str(script), "start", str(folder), port], check=True)
    subjects = (f"bench.run{i}" for i in itertools.count())
    try:
        files, publishes, consumes = [], [], []
        for _ in range(h.repeat):  # alternated, so the load of the moment falls on each alike
            out = h.path("nats-file.ndjson")
            out.unlink(missing_ok=True)
            files.append(h.time_once(f"{h.ben} sink -q --to file:{h.q(out)} {h.q(envelopes)}"))
            url = f"nats://127.0.0.1:{port}/{next(subjects)}"
            publishes.append(h.time_once(f"{h.ben} sink -q --to {url} --partitions 6 {h.q(envelopes)}"))
            consumes.append(h.time_once(f"{h.ben} ingest -q --from {url} --durable bench --max-idle {IDLE}s",
                                        stdout=h.path("nats-read.ndjson")))
    finally:
        subprocess.run([str(script), "stop", str(folder)], check=False)
    file, publish, consume = _best(files), _best(publishes), _best(consumes)
    rows = [
        ["`ben sink --to file:` (reference)", human_rate(file.rate(N)), "1.00x", human_rate(file.cpu_rate(N)), "1.00x",
         mib(file.peak_rss_kib)],
        ["`ben sink --to nats://` (publish, acknowledged)", human_rate(publish.rate(N)), f"{publish.rate(N) / file.rate(N):.2f}x",
         human_rate(publish.cpu_rate(N)), f"{publish.cpu_rate(N) / file.cpu_rate(N):.2f}x", mib(publish.peak_rss_kib)],
        [f"`ben ingest --from nats://` (consume, {IDLE:g} s idle end included)", human_rate(consume.rate(N)),
         f"{consume.rate(N) / file.rate(N):.2f}x", human_rate(consume.cpu_rate(N)),
         f"{consume.cpu_rate(N) / file.cpu_rate(N):.2f}x", mib(consume.peak_rss_kib)],
    ]
    return "\n".join([
        "## NATS JetStream: publish and consume",
        "",
        f"{N:,} envelopes, 6 partitions, Debian's nats-server 2.9 with JetStream on 127.0.0.1 (file storage). "
        "No public reference tool runs in the same invocation (Debian has no `nats` client), so the "
        "reference is `ben sink --to file:` on the same records; ben's CPU only (the server's is not counted). "
        f"Best of {h.repeat}, the three commands alternated.",
        "",
        table(["command", "records/s", "vs file", "records/CPU-s", "vs file (CPU)", "peak memory"], rows),
    ])

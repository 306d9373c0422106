"""ben policy: `ben policy enforce` with a 50-rule policy beside `jq -c .` on the same envelopes
(the issue's bar is 1x jq's records per second), from a file and from a pipe."""

from __future__ import annotations

from pathlib import Path

from bench_ingest import beside
from generate import write_ndjson
from harness import Harness, Timing, human_rate, mib, table

N = 300_000


def fifty_rules() -> str:
    """A policy of 50 rules of every kind, in an order where most records pass over most of them:
    identity and lane denials, name allowances that do not match, content tests every record pays
    (has, unredacted, value), a token bucket per source in event time, alert thresholds."""
    lines = ["policy bench version 1 default deny", "personal user, attrs.email, attrs.client_ip"]
    lines += [f"rule ctl-{i}: deny if lane control and from node-{i}" for i in range(8)]
    lines += [f"rule svc-{i}: allow if name svc-{i}.* and group svc" for i in range(8)]
    lines += [f"rule big-{i}: deny if name metric.{i} and value over {i * 100}" for i in range(8)]
    lines += [f"rule blob-{i}: deny if has attrs.blob_{i}" for i in range(4)]
    lines += ["rule pii: deny if unredacted", 'rule http-sinks: deny if to "http://*"']
    lines += [f"rule web-{i}: limit 100000 per 1s burst 100000 by source if source web-{i}" for i in range(12)]
    lines += [f"rule slow-{i}: alert over 1000 within 1m by source if name log and source api-{i} and value over 5000"
              for i in range(7)]
    lines += ["rule ops: allow if group ops"]
    assert sum(line.startswith("rule ") for line in lines) == 50
    return "\n".join(lines) + "\n"


def run(h: Harness) -> str:
    raw = write_ndjson(h.path("policy-300k.ndjson"), N)
    envelopes = h.path("policy-300k.envelopes.ndjson")
    if not envelopes.exists():
        h.time_once(f"{h.ben} ingest -q -j1 {h.q(raw)}", stdout=envelopes)
    policy = Path(h.path("bench-50.policy"))
    policy.write_text(fifty_rules())
    enforce = f"{h.ben} policy enforce -q --policy {h.q(policy)} --identity web --group ops"
    jq, filtered = beside(h, f"jq -c . {h.q(envelopes)}", f"{enforce} {h.q(envelopes)}")
    jq_pipe, piped = beside(h, f"cat {h.q(envelopes)} | jq -c .", f"cat {h.q(envelopes)} | {enforce}")

    def row(label: str, t: Timing, ref: Timing) -> list[object]:
        return [label, human_rate(t.rate(N)), f"{t.rate(N) / ref.rate(N):.2f}x", human_rate(t.cpu_rate(N)),
                f"{t.cpu_rate(N) / ref.cpu_rate(N):.2f}x", mib(t.peak_rss_kib)]

    rows = [row("`jq -c .` (reference)", jq, jq), row("`ben policy enforce` (50 rules)", filtered, jq),
            row("`jq -c .` from a pipe (reference)", jq_pipe, jq_pipe), row("`ben policy enforce` (50 rules) from a pipe", piped, jq_pipe)]
    return (
        "## policy\n\n"
        f"{N:,} generated application-log envelopes (bench/generate.py through `ben ingest`), filtered by a\n"
        "50-rule policy (bench_policy.py's `fifty_rules`: identity and lane denials, name allowances, content\n"
        "tests every record pays (`has`, `unredacted`, `value`), a token bucket per source in event time and\n"
        "alert thresholds; every record is decided by a rate limit after passing over 30 rules), beside\n"
        "`jq -c .` on the same file and from a pipe. The issue's bar is 1x jq.\n\n"
        + table(["command", "records/s", "vs jq", "records/CPU-s", "vs jq (CPU)", "peak memory"], rows)
    )

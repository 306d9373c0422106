"""The cron pipeline `ingest --since-last | scrub | detect | sink` with acknowledgements on
(`ingest --ack`, `sink --ack`: exactly once end to end) and off (each end alone), to a file.

Each run starts from an empty state, so ingest reads the whole log; the two pipelines are
alternated so that a burst of other load on the shared machine falls on both alike.
"""

from __future__ import annotations

import shutil

from generate import write_ndjson
from harness import Harness, human_rate, table

N = 200_000


def run(h: Harness) -> str:
    log = write_ndjson(h.path("pipeline-app-200k.ndjson"), N)
    work = h.path("pipeline")
    ben = h.ben

    def pipeline(ack: bool) -> str:
        state, out = h.q(work / "S"), h.q(work / "out.ndjson")
        tie_in, tie_out = ("--ack ", f"--ack {state} ") if ack else ("", "")
        return (f"{ben} ingest -q --since-last {tie_in}--state {state} {h.q(log)} | {ben} scrub -q | "
                f"{ben} detect -q | {ben} sink -q {tie_out}--to file:{out}")

    runs: dict[bool, list] = {False: [], True: []}
    for _ in range(h.repeat):
        for ack in (False, True):
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            runs[ack].append(h.time_once(pipeline(ack)))
    off, on = (min(runs[k], key=lambda t: t.seconds) for k in (False, True))
    rows = [["acknowledgements off", human_rate(N / off.seconds), "1.00x", f"{off.cpu_seconds:.2f}"],
            ["acknowledgements on (`--ack` at both ends)", human_rate(N / on.seconds),
             f"{off.seconds / on.seconds:.2f}x", f"{on.cpu_seconds:.2f}"]]
    return ("## pipeline\n\n"
            f"`ben ingest --since-last | ben scrub | ben detect | ben sink --to file:…` over {N:,} log lines, "
            f"best of {h.repeat} runs each (alternated), from an empty state:\n\n"
            + table(["pipeline", "records/s", "vs off", "CPU s"], rows))

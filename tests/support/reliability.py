#!/usr/bin/env python3
"""Run every chaos scenario many randomised times and write RELIABILITY.md (``make reliability``).

    RELIABILITY_RUNS=20 python tests/support/reliability.py            # every scenario
    python tests/support/reliability.py --runs 3 --only "full disk"    # some, quickly

Two kinds of scenario. Those of tests/chaos_scenarios.py (corrupted state files, a full disk, a
slow consumer, clock skew, a handshake flood) run in this process, each run with its own seed and
folder. The SIGKILL and server-restart scenarios are tests beside the code they kill; each round
runs all of them in one pytest process (its start-up paid once a round), with BEN_CHAOS_SEED set
to the round's seed, and reads each one's outcome from pytest's JUnit XML. Those that need
ClickHouse find it in BEN_TEST_CLICKHOUSE (``make reliability`` starts the test server, as
``make test`` does). The fuzz table is whatever ``make fuzz`` left in fuzz/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))
from tests import chaos_scenarios as cs  # noqa: E402

OUT = ROOT / "RELIABILITY.md"
FUZZ_RESULTS = ROOT / "fuzz" / "results"

# name -> (what is checked, the pytest node ids that make it)
KILLED: dict[str, tuple[str, list[str]]] = {
    "SIGKILL of ben sink (ClickHouse, native and HTTP)": (
        "killed at random points and rerun until done: every record stored once (count and distinct bodies)",
        ["tests/test_sink_clickhouse.py::test_sigkill_at_random_points_and_rerun_stores_every_record_exactly_once"]),
    "ClickHouse stopped and started mid-stream": (
        "the server killed and restarted while the sink (and a tied pipeline) streams: nothing lost, nothing twice",
        ["tests/test_sink_clickhouse.py::test_server_killed_mid_stream_and_restarted_loses_and_duplicates_nothing",
         "tests/test_exactly_once.py::test_chaos_with_the_clickhouse_server_killed_and_restarted_mid_run"]),
    "SIGKILL of a tied ingest --since-last --ack | sink --ack pipeline": (
        "either stage killed at random points, the pipeline rerun: every line stored once (file and ClickHouse)",
        ["tests/test_exactly_once.py::test_chaos_file_target_every_line_stored_exactly_once",
         "tests/test_exactly_once.py::test_chaos_clickhouse_every_line_stored_exactly_once"]),
    "SIGKILL of ingest --since-last over a growing, rotating file": (
        "runs killed at random moments while the file grows and rotates: every line once, in order",
        ["tests/test_ingest_follow.py::test_killed_runs_over_a_growing_rotating_file_see_every_line_once"]),
    "SIGKILL of bee send and bee listen": (
        "the sender killed and rerun from its spool, the listener killed and restarted with --state, and "
        "a proxy cutting and corrupting the connection: every record once, in order",
        ["tests/test_bee_cli.py::test_a_sender_killed_with_sigkill_resumes_from_its_spool_exactly_once",
         "tests/test_bee_cli.py::test_a_listener_killed_and_restarted_with_state_loses_nothing",
         "tests/test_bee_chaos.py::test_twenty_runs_of_chaos_lose_and_duplicate_nothing"]),
    "SIGKILL of ben run (a worker, the whole cron pipeline)": (
        "a worker killed mid-stream is restarted; the whole pipeline killed and rerun: every record once",
        ["tests/test_run.py::test_a_killed_worker_is_restarted_and_every_record_comes_out_once",
         "tests/test_run.py::test_a_killed_worker_leaves_the_file_sink_holding_every_record_once",
         "tests/test_run.py::test_the_cron_pipeline_killed_and_run_again_stores_every_line_once"]),
    "nats-server stopped and started mid-stream": (
        "the server SIGKILLed at a random point and started again 0.5-4 s later under ben sink --to nats:// and under "
        "ingest --from nats:// | sink (with and without --ack): every record once, each partition in order",
        ["tests/test_nats_chaos.py::test_a_server_killed_and_restarted_under_the_publisher_stores_every_record_once",
         "tests/test_nats_chaos.py::test_a_server_killed_and_restarted_under_a_consumer_pipeline_stores_every_record_once"]),
    "SIGKILL of narrate or sink in a tied pipeline": (
        "each window narrated once with the counts of an unkilled run",
        ["tests/test_narrate_state.py::test_narrate_or_sink_killed_and_rerun_narrates_every_window_once_with_the_counts_of_an_unkilled_run"]),
}

CORRUPTED = ("refused with exit 1 and one line naming the file, no traceback, the file left as it was (never reset) "
             "when emptied, truncated, overwritten with garbage or made another JSON type; a JSON value replaced by one "
             "of another type or sign: refused so, or run")
CHECKS = {
    **{f"corrupted state: {kind}": "as above" for kind in cs.CORRUPTIONS},
    "full disk": "ingest --output, detect --state, sink --ack --to file: on a filling disk: exit 1 saying so, the old "
                 "state intact, no temporary file left; once there is room the rerun ends with every record once",
    "slow consumer on stdout": "ingest --since-last into a slow reader that may hang up: all lines once when it reads "
                               "to the end; after a hang-up, exit 1 without a traceback and the rerun gives the rest, "
                               "repeating at most the one uncommitted batch",
    "clock skew for certificates": "verification at a clock off by -50 min..+2 h: valid exactly within not_before/not_after "
                                   "± 60 s, refused outside with the reason and the distance; a CRL past its next "
                                   "update + 60 s refused",
    "a peer flooding handshakes": "silent, garbage and half-HELLO connections from 3 threads while a sender streams: "
                                  "the stream arrives once and in order, no handshake left open, the listener still serves",
}


ROUND_SECONDS: list[float] = []  # how long each round of the SIGKILL tests took

FOUND = """These scenarios found seven faults, each fixed with a regression test (tests/test_chaos.py,
tests/test_nats_chaos.py):

- `ingest --since-last` on a file it found empty kept `lines` as the file's format, so a log rotated
  just before a cron run was read as plain text from then on (found by the IngestOffsets state machine).
- `S.ack`'s output-file entry was not checked: another type was a traceback in `ben sink --ack --to
  file:`, `-1` an error without the file named, `true` or `1.5` silently offset 1.
- A broken installed-policy record (`NAME/current.json`) was a traceback or a usage error (exit 2).
- A CA `state.json` naming a generation the folder never had blamed a missing certificate, not itself.
- A state write refused for lack of space did not name the file.
- `ben sink --to nats://` ignored `--retry-for`: a server restarted while a batch waited for its
  acknowledgements ended the sink with exit 1 (the batch was safe for a rerun, the stream was not
  fed meanwhile). It now publishes the batch again on a new connection, with the same message ids.
- `ben ingest --from nats://` died with a traceback-free but fatal "flush timeout" when the server
  went away, and a server restarted behind its own consumer state redelivered 1,384 of 60,000
  messages already handed on (stored once only because the sink's `--ack` dropped them). It now
  reconnects for up to 5 minutes, binding each partition after the last message it handed on, and
  passes over redeliveries.
"""


@dataclass
class Result:
    name: str
    checked: str
    runs: int = 0
    passed: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def anonymous(text: str, folder: str) -> str:
    """``text`` without the paths of the machine it ran on: the run's folder as RUN, pytest's
    temporary folders as TMP, the checkout as ``.``."""
    text = text.replace(folder, "RUN").replace(str(ROOT) + "/", "")
    return re.sub(re.escape(tempfile.gettempdir()) + r"/pytest-of-[^/]+/pytest-\d+", "TMP", text)


def run_in_process(name: str, scenario, runs: int, seed: int) -> Result:
    result = Result(name, CHECKS[name])
    for i in range(runs):
        run_seed = f"{seed}-{name}-{i}"
        start = time.monotonic()
        failed = len(result.failures)
        with tempfile.TemporaryDirectory(prefix="ben-reliability-") as folder:
            try:
                note = scenario(Path(folder), random.Random(run_seed))
                result.passed += 1
                if len(result.notes) < 3:
                    result.notes.append(anonymous(note, folder))
            except Exception as exc:  # noqa: BLE001 - every failure is reported, the rest still runs
                detail = str(exc) if isinstance(exc, AssertionError) else traceback.format_exc(limit=3)
                detail = anonymous(detail, folder).strip().splitlines()[0][:300]
                result.failures.append(f"seed {run_seed!r}: {detail}")
        result.runs += 1
        result.seconds += time.monotonic() - start
        print(f"{name}: run {i + 1}/{runs} {'ok' if len(result.failures) == failed else 'FAILED'}", file=sys.stderr)
    return result


def run_killed(names: list[str], runs: int, seed: int) -> list[Result]:
    results = {name: Result(name, KILLED[name][0]) for name in names}
    nodes = {node: name for name in names for node in KILLED[name][1]}
    for i in range(runs):
        with tempfile.TemporaryDirectory(prefix="ben-reliability-") as folder:
            report = Path(folder) / "junit.xml"
            env = {**os.environ, "BEN_CHAOS_SEED": str(seed + i)}
            start = time.monotonic()
            subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}",
                            *nodes], cwd=ROOT, env=env, capture_output=True)
            elapsed = time.monotonic() - start
            outcome: dict[str, list[str]] = {name: [] for name in names}
            seen: dict[str, int] = dict.fromkeys(names, 0)
            if report.exists():
                for case in ET.parse(report).getroot().iter("testcase"):
                    node = f"{case.get('classname', '').replace('.', '/')}.py::{case.get('name', '')}"
                    base = node.split("[")[0]
                    name = nodes.get(base)
                    if name is None:
                        continue
                    seen[name] += 1
                    results[name].seconds += float(case.get("time") or 0)
                    for bad in (*case.iter("failure"), *case.iter("error"), *case.iter("skipped")):
                        message = anonymous((bad.get("message") or bad.tag).splitlines()[0], folder)
                        outcome[name].append(f"seed {seed + i}: {case.get('name')}: {message[:300]}")
            for name in names:
                res = results[name]
                res.runs += 1
                if not seen[name]:
                    res.failures.append(f"seed {seed + i}: the tests did not run (pytest failed to start)")
                elif outcome[name]:
                    res.failures += outcome[name]
                else:
                    res.passed += 1
        ROUND_SECONDS.append(elapsed)
        print(f"killing round {i + 1}/{runs}: {elapsed:.0f} s", file=sys.stderr)
    return list(results.values())


def fuzz_table() -> str:
    files = sorted(FUZZ_RESULTS.glob("*.json")) if FUZZ_RESULTS.is_dir() else []
    if not files:
        return "Not run yet: `make fuzz` writes one result per target to fuzz/results/, and this table shows them.\n"
    rows = ["`make fuzz` gives each target `FUZZ_SECONDS` of the fuzzer's own CPU time (600 for the bar of ten "
            "minutes); a row without CPU seconds is a run from before that budget, which counted the wall clock.",
            "", "| target | CPU seconds | wall seconds | executions | coverage | new crashes | crashes found and fixed |",
            "|---|---:|---:|---:|---:|---:|---|"]
    for path in files:
        try:
            data = json.loads(path.read_text())
            fixed = data.get("crashes_fixed") or []
            rows.append(f"| {data.get('target', path.stem)} | {data.get('cpu_seconds', '-')} | {data.get('seconds', '?')} | "
                        f"{data.get('executions', '?')} | "
                        f"{data.get('coverage', '?')} | {data.get('crashes_new', '?')} | "
                        f"{'; '.join(map(str, fixed)) if fixed else 'none'} |")
        except (OSError, ValueError, AttributeError) as exc:
            rows.append(f"| {path.stem} | unreadable result file: {exc} | | | | | |")
    return "\n".join(rows) + "\n"


def render(results: list[Result], runs: int, killed_runs: int, seed: int, disk: str, total: float) -> str:
    ok = sum(r.passed == r.runs for r in results)
    lines = [
        "# Reliability",
        "",
        "Written by `make reliability` (tests/support/reliability.py). Each chaos scenario ran the number of",
        "randomised runs shown (`RELIABILITY_RUNS`, 20 by default); every run draws its own faults from its seed",
        f"(base seed {seed}; a failure names its seed, and `BEN_CHAOS_SEED` replays a test). Machine: "
        f"{platform.machine()}, {os.cpu_count()} cores shared with other work, Python {platform.python_version()}; "
        f"the whole run took {total / 60:.1f} min.",
        "",
        f"**{ok} of {len(results)} scenarios passed every run.** `make test` runs one seeded run of each of them.",
        "",
        f"The full-disk scenario ran on **{disk}**.",
        "",
        "## Chaos scenarios",
        "",
        f"A corrupted state file of each kind is {CORRUPTED}.",
        "",
        f"The SIGKILL and server-restart scenarios are tests beside the code they kill, run in {killed_runs} rounds"
        f"{' (fewer than the other scenarios: one round of them took ' + str(round(ROUND_SECONDS[0] / 60)) + ' minutes on this machine, and each test kills and reruns many times within a round)' if killed_runs < runs and ROUND_SECONDS else ''}; "
        "a round of them counts as one run.",
        "",
        "| scenario | runs | passed | what was checked | seconds |",
        "|---|---:|---:|---|---:|",
    ]
    for r in results:
        name = r.name.replace("|", "\\|")
        lines.append(f"| {name} | {r.runs} | {r.passed} | {r.checked} | {r.seconds:.0f} |")
    lines += ["", "### Examples of runs", ""]
    for r in results:
        for note in r.notes[:2]:
            lines.append(f"- {r.name}: {note}")
    failures = [(r.name, f) for r in results for f in r.failures]
    lines += ["", "### Failures", ""]
    lines += [f"- {name}: {failure}" for name, failure in failures] or ["None."]
    lines += ["", "### Found and fixed", "", FOUND.rstrip()]
    lines += ["", "## Not covered", "",
              "- The bee `--state` and `--spool` files and the sink's list of rejected rows and offsets file are",
              "  corrupted and loaded through the library (as the commands load them) rather than by starting a",
              "  whole bee or a connected sink; every other state file is corrupted under the real command.",
              "", "## Fuzzing", "", fuzz_table()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=int(os.environ.get("RELIABILITY_RUNS", "20")))
    parser.add_argument("--only", action="append", default=[], help="run only the scenarios whose name contains this")
    parser.add_argument("--killed-runs", type=int, default=int(os.environ["RELIABILITY_KILLED_RUNS"])
                        if os.environ.get("RELIABILITY_KILLED_RUNS") else None,
                        help="rounds of the SIGKILL tests (default: --runs); they are the slow part")
    parser.add_argument("--seed", type=int, default=random.randrange(1 << 30))
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--fuzz-table", action="store_true",
                        help="only rewrite the fuzzing section from fuzz/results/ (after make fuzz), keeping the rest")
    args = parser.parse_args()
    if args.fuzz_table:
        text = args.out.read_text()
        head = text.split("\n## Fuzzing\n", 1)[0]
        args.out.write_text(f"{head}\n## Fuzzing\n\n{fuzz_table()}")
        return

    def wanted(name: str) -> bool:
        return not args.only or any(part.lower() in name.lower() for part in args.only)

    start = time.monotonic()
    results: list[Result] = []
    in_process = {**{f"corrupted state: {k}": v for k, v in cs.CORRUPTIONS.items()}, **cs.CHAOS}
    for name, scenario in in_process.items():
        if wanted(name):
            results.append(run_in_process(name, scenario, args.runs, args.seed))
    killed = [name for name in KILLED if wanted(name)]
    killed_runs = args.runs if args.killed_runs is None else args.killed_runs
    if killed:
        results += run_killed(killed, killed_runs, args.seed)
    probe_folder = Path(tempfile.mkdtemp(prefix="ben-reliability-"))
    probe = cs.SmallDisk(probe_folder, 1 << 10)
    disk = ("a tmpfs mounted with a size limit (a real ENOSPC)" if probe.kind == "tmpfs" else
            "RLIMIT_FSIZE, a stand-in: mounting was not allowed here, so each file ben writes is limited to the "
            "free bytes (EFBIG) rather than the filesystem filling up (ENOSPC)")
    probe.close()
    shutil.rmtree(probe_folder, ignore_errors=True)
    args.out.write_text(render(results, args.runs, killed_runs, args.seed, disk, time.monotonic() - start))
    failed = [r.name for r in results if r.passed != r.runs]
    print(f"wrote {args.out}: {len(results) - len(failed)} of {len(results)} scenarios passed every run", file=sys.stderr)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

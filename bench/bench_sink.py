"""ben sink into a local ClickHouse server beside clickhouse-client inserting the same rows as
JSONEachRow, and peak memory against batch size and input size.

Peak memory of the HTTP path is the largest total over the sink and its worker processes
(proportional set size, sampled every 20 ms), since one process's peak would leave out the workers.

The bench starts its own throw-away server (tests/support/clickhouse-test-server) on free ports.
Both sides write into a table made by `ben db init` (same columns, same materialized views); the
reference gets the rows already converted to the table's columns, so it measures only the insert.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
from generate import write_ndjson
from harness import ROOT, Harness, Timing, human_rate, mib, table

N = 200_000  # the memory table's inputs: N and 2 * N envelopes
# The speed table's input: ten batches of the default 100,000 rows, so that filling the pipeline
# (the first batch is read before anything is sent) and draining it (the last batch's insert
# starts when reading ends) are a small part of the run, as they are for a sink that runs on.
# With N rows (two batches) half the server's work came after the reading ended: 0.46x in the
# last run measured so, against 0.50x for the same code at a quiet moment.
N_SPEED = 1_000_000
SUPPORT = ROOT / "tests" / "support"


def _port() -> str:
    return subprocess.run([sys.executable, str(SUPPORT / "free-port")], capture_output=True, text=True,
                          check=True).stdout.strip()


def _tree_pss_kib(pid: int) -> int:
    """Proportional set size of a process and all its descendants (shared pages split among them)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/smaps_rollup") as fh:
                total += next(int(line.split()[1]) for line in fh if line.startswith("Pss:"))
            with open(f"/proc/{p}/task/{p}/children") as fh:
                todo += [int(c) for c in fh.read().split()]
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            continue
    return total


def tree_peak(h: Harness, cmd: str, stdin: Path) -> tuple[float, int]:
    """Wall seconds and the peak total memory (KiB) of a command and its child processes."""
    with open(stdin, "rb") as fin:
        start = time.perf_counter()
        proc = subprocess.Popen(["/bin/bash", "-c", "exec " + cmd], stdin=fin, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, env=h.env)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, _tree_pss_kib(proc.pid))
            time.sleep(0.02)
        elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark command failed: {cmd}\n{proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
    return elapsed, peak


def _reference_rows(envelopes, out) -> None:
    """The rows `ben sink` stores, as clickhouse-client's JSONEachRow input."""
    from datetime import UTC, datetime

    from ben_cli.sink.rows import LEGACY, RowBuilder, insert_columns, to_columns

    builder, names = RowBuilder(LEGACY), insert_columns(LEGACY)
    lines = Path(envelopes).read_bytes().splitlines()
    with open(out, "wb") as fh:
        for start in range(0, len(lines), 50_000):
            rows = [builder.row(orjson.loads(x)) for x in lines[start:start + 50_000]]
            cols = to_columns(LEGACY, rows, "reference", list(range(start, start + len(rows))))
            for values in zip(*cols, strict=True):
                d = dict(zip(names, values, strict=True))
                d["ts"] = datetime.fromtimestamp(d["ts"], UTC).strftime("%Y-%m-%d %H:%M:%S")
                fh.write(orjson.dumps(d) + b"\n")


def best(runs: list) -> Timing:
    return Timing(min(t.seconds for t in runs), max(t.peak_rss_kib for t in runs), 0, min(t.cpu_seconds for t in runs))


def run(h: Harness) -> str:
    raw = write_ndjson(h.path("sink-app-1m.ndjson"), N_SPEED)
    big = h.path("sink-envelopes-1m.ndjson")
    if not big.exists():
        subprocess.run(f"{h.ben} ingest -q {h.q(raw)} > {h.q(big)}", shell=True, check=True, env=h.env)
    envelopes, small = h.path("sink-envelopes.ndjson"), h.path("sink-envelopes-half.ndjson")
    for path, n in ((envelopes, 2 * N), (small, N)):
        if not path.exists():
            with open(big, "rb") as src, open(path, "wb") as dst:
                for i, line in enumerate(src):
                    if i >= n:
                        break
                    dst.write(line)
    reference = h.path("sink-reference-1m.jsoneachrow")
    if not reference.exists():  # in a child: peak memory is inherited across fork, keep this process small
        subprocess.run([sys.executable, __file__, str(big), str(reference)], check=True, env=h.env)

    tcp, http = _port(), _port()
    env = {**os.environ, "BEN_CH_TCP_PORT": tcp, "BEN_CH_HTTP_PORT": http}
    folder = tempfile.mkdtemp(prefix="ben-bench-ch-")
    subprocess.run([str(SUPPORT / "clickhouse-test-server"), "start", folder], env=env, check=True)
    try:
        url = f"clickhouse://127.0.0.1:{tcp}/bench"
        http_url = f"clickhouse+http://127.0.0.1:{http}/bench"
        subprocess.run([h.ben, "db", "init", "--to", url], env=h.env, check=True, capture_output=True)
        # alternated, so that a burst of other load on the shared machine falls on every command alike
        commands = {
            "ref": f"clickhouse-client --port {tcp} --query 'INSERT INTO bench.telemetry FORMAT JSONEachRow'",
            "http": f"{h.ben} sink -q --to {http_url}",
            "http1": f"{h.ben} sink -q --workers 1 --to {http_url}",
            "native": f"{h.ben} sink -q --to {url}",
            "file": f"{h.ben} sink -q --to file:{h.q(h.path('sink-out.ndjson'))}",
        }
        runs: dict[str, list] = {k: [] for k in commands}
        for _ in range(h.repeat):
            for key, cmd in commands.items():
                runs[key].append(h.time_once(cmd, stdin=reference if key == "ref" else big))
        ref, ben, ben1, native, to_file = (best(runs[k]) for k in commands)
        memory = []
        expected = 3 * h.repeat * N_SPEED  # every timed `ben sink` run to the server stores every row
        for rows, source, n in ((10_000, small, N), (10_000, envelopes, 2 * N), (50_000, small, N),
                                (100_000, small, N), (100_000, envelopes, 2 * N)):
            row = [f"{rows:,}", f"{n:,}"]
            for target in (http_url, url):
                seconds, peak = tree_peak(h, f"{h.ben} sink -q --to {target} --batch-rows {rows}", source)
                row += [mib(peak), human_rate(n / seconds)]
                expected += n
            memory.append(row)
        stored = subprocess.run(["clickhouse-client", "--port", tcp, "--query",
                                 "SELECT countIf(batch_id = 'reference'), countIf(batch_id != 'reference') FROM bench.telemetry"],
                                capture_output=True, text=True, check=True).stdout.split()
    finally:
        subprocess.run([str(SUPPORT / "clickhouse-test-server"), "stop", folder], env=env, check=False)
        subprocess.run(["rm", "-rf", folder], check=False)
    size = big.stat().st_size / N_SPEED
    def line(label: str, t) -> list[str]:
        ratios = sorted(r.rate(N_SPEED) / f.rate(N_SPEED) for r, f in zip(runs_of[label], runs["ref"], strict=True))
        return [label, human_rate(t.rate(N_SPEED)), f"{t.rate(N_SPEED) / ref.rate(N_SPEED):.2f}x",
                " / ".join(f"{x:.2f}" for x in ratios), f"{t.cpu_seconds:.2f}", mib(t.peak_rss_kib)]

    labels = {"`clickhouse-client` JSONEachRow (reference)": "ref", "`ben sink --to clickhouse+http://…`": "http",
              "`ben sink --workers 1 --to clickhouse+http://…`": "http1", "`ben sink --to clickhouse://…` (native)": "native",
              "`ben sink --to file:…` (no server)": "file"}
    runs_of = {label: runs[key] for label, key in labels.items()}
    timings = {"ref": ref, "http": ben, "http1": ben1, "native": native, "file": to_file}
    rows = [line(label, timings[key]) for label, key in labels.items()]
    return (
        "## sink\n\n"
        f"{N_SPEED:,} envelopes from `ben ingest` of generated application logs ({size:.0f} bytes each as NDJSON,\n"
        "ten batches of the default 100,000 rows, so filling and draining the pipeline weigh little),\n"
        "stored in a local ClickHouse 18.16 server (legacy schema, with its two materialized views) that\n"
        "the bench starts for itself. The reference is `clickhouse-client` inserting the very rows `ben sink`\n"
        "stores, already converted to the table's columns, as JSONEachRow; `ben sink` parses the envelopes,\n"
        "converts them, writes and fsyncs each batch to its spool, inserts it and deletes it.\n"
        "`clickhouse+http://` posts each batch as JSONEachRow to the HTTP port and converts records in\n"
        "worker processes (one per core); `--workers 1` converts in the reader thread instead.\n"
        "The commands ran in turn, "
        f"{h.repeat} rounds. Rate is rows per second of the whole process, best of the runs; the\n"
        "ratio column also lists the ratio within each round (both commands measured a few seconds\n"
        "apart, so a burst of other load on the shared machine hits both). CPU seconds are the client\n"
        "processes' own, workers included (least of the runs): the server's work, which for the\n"
        "reference includes parsing the JSON, is not in them. Peak memory here is the largest single\n"
        "process's.\n\n"
        + table(["command", "rows/s", "vs clickhouse-client", "per round", "client CPU s", "peak memory"], rows)
        + "\nPeak memory of `ben sink` by batch size and input size (one run each), as the total\n"
        "proportional set size of the sink and its worker processes (sampled every 20 ms): memory\n"
        "follows the batch size, not the input.\n\n"
        + table(["--batch-rows", "input rows", "HTTP: peak memory", "HTTP: rows/s", "native: peak memory",
                 "native: rows/s"], memory)
        + f"\nRows in the bench table at the end: {int(stored[0]):,} from clickhouse-client ({h.repeat} runs), "
        f"{int(stored[1]):,} from ben sink (expected {expected:,}: every run to the server stored every row).\n"
    )


if __name__ == "__main__":
    _reference_rows(sys.argv[1], sys.argv[2])

"""ben sink into a local ClickHouse server beside clickhouse-client inserting the same rows as
JSONEachRow, and peak memory against batch size and input size.

The bench starts its own throw-away server (tests/support/clickhouse-test-server) on free ports.
Both sides write into a table made by `ben db init` (same columns, same materialized views); the
reference gets the rows already converted to the table's columns, so it measures only the insert.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import orjson
from generate import write_ndjson
from harness import ROOT, Harness, human_rate, mib, table

N = 200_000
SUPPORT = ROOT / "tests" / "support"


def _port() -> str:
    return subprocess.run([sys.executable, str(SUPPORT / "free-port")], capture_output=True, text=True,
                          check=True).stdout.strip()


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


def run(h: Harness) -> str:
    raw = write_ndjson(h.path("sink-app.ndjson"), 2 * N)
    envelopes = h.path("sink-envelopes.ndjson")
    if not envelopes.exists():
        subprocess.run(f"{h.ben} ingest -q {h.q(raw)} > {h.q(envelopes)}", shell=True, check=True, env=h.env)
    small = h.path("sink-envelopes-half.ndjson")
    if not small.exists():
        with open(envelopes, "rb") as src, open(small, "wb") as dst:
            for i, line in enumerate(src):
                if i >= N:
                    break
                dst.write(line)
    reference = h.path("sink-reference.jsoneachrow")
    if not reference.exists():  # in a child: peak memory is inherited across fork, keep this process small
        subprocess.run([sys.executable, __file__, str(small), str(reference)], check=True, env=h.env)

    tcp, http = _port(), _port()
    env = {**os.environ, "BEN_CH_TCP_PORT": tcp, "BEN_CH_HTTP_PORT": http}
    folder = tempfile.mkdtemp(prefix="ben-bench-ch-")
    subprocess.run([str(SUPPORT / "clickhouse-test-server"), "start", folder], env=env, check=True)
    try:
        url = f"clickhouse://127.0.0.1:{tcp}/bench"
        subprocess.run([h.ben, "db", "init", "--to", url], env=h.env, check=True, capture_output=True)
        ref = h.time(f"clickhouse-client --port {tcp} --query 'INSERT INTO bench.telemetry FORMAT JSONEachRow'",
                     stdin=reference)
        ben = h.time(f"{h.ben} sink -q --to {url}", stdin=small)
        to_file = h.time(f"{h.ben} sink -q --to file:{h.q(h.path('sink-out.ndjson'))}", stdin=small)
        memory = []
        expected = h.repeat * N  # every timed `ben sink` run stores every row
        for rows, source, n in ((10_000, small, N), (10_000, envelopes, 2 * N), (50_000, small, N),
                                (100_000, small, N), (100_000, envelopes, 2 * N)):
            t = h.time_once(f"{h.ben} sink -q --to {url} --batch-rows {rows}", stdin=source)
            memory.append([f"{rows:,}", f"{n:,}", mib(t.peak_rss_kib), human_rate(t.rate(n))])
            expected += n
        stored = subprocess.run(["clickhouse-client", "--port", tcp, "--query",
                                 "SELECT countIf(batch_id = 'reference'), countIf(batch_id != 'reference') FROM bench.telemetry"],
                                capture_output=True, text=True, check=True).stdout.split()
    finally:
        subprocess.run([str(SUPPORT / "clickhouse-test-server"), "stop", folder], env=env, check=False)
        subprocess.run(["rm", "-rf", folder], check=False)
    size = small.stat().st_size / N
    rows = [
        ["`clickhouse-client` JSONEachRow (reference)", human_rate(ref.rate(N)), "1.00x", f"{ref.cpu_seconds:.2f}",
         mib(ref.peak_rss_kib)],
        ["`ben sink --to clickhouse://…`", human_rate(ben.rate(N)), f"{ben.rate(N) / ref.rate(N):.2f}x",
         f"{ben.cpu_seconds:.2f}", mib(ben.peak_rss_kib)],
        ["`ben sink --to file:…` (no server)", human_rate(to_file.rate(N)), f"{to_file.rate(N) / ref.rate(N):.2f}x",
         f"{to_file.cpu_seconds:.2f}", mib(to_file.peak_rss_kib)],
    ]
    return (
        "## sink\n\n"
        f"{N:,} envelopes from `ben ingest` of generated application logs ({size:.0f} bytes each as NDJSON),\n"
        "stored in a local ClickHouse 18.16 server (legacy schema, with its two materialized views) that\n"
        "the bench starts for itself. The reference is `clickhouse-client` inserting the very rows `ben sink`\n"
        "stores, already converted to the table's columns, as JSONEachRow; `ben sink` parses the envelopes,\n"
        "converts them, writes and fsyncs each batch to its spool, inserts it natively and deletes it.\n"
        "Rate is rows per second of the whole process, best of the runs. CPU seconds are the client\n"
        "process's own (least of the runs): the server's work, which for the reference includes parsing\n"
        "the JSON, is not in them, so they say where `ben sink`'s time goes, not how the two compare.\n\n"
        + table(["command", "rows/s", "vs clickhouse-client", "client CPU s", "peak memory"], rows)
        + "\nPeak memory of `ben sink` by batch size and input size (one run each): memory follows the batch\n"
        "size, not the input.\n\n"
        + table(["--batch-rows", "input rows", "peak memory", "rows/s"], memory)
        + f"\nRows in the bench table at the end: {int(stored[0]):,} from clickhouse-client ({h.repeat} runs), "
        f"{int(stored[1]):,} from ben sink (expected {expected:,}: every run stored every row).\n"
    )


if __name__ == "__main__":
    _reference_rows(sys.argv[1], sys.argv[2])

"""``ben run --workers``: the workers decode the input's blocks themselves (``orchestrate/blocks.py``)
and check the file sink's records for it (``Batcher.feed_checked``). What one process gives, they give."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

from ben_cli.errors import BadRecord
from ben_cli.sink.batch import Batch, BatchLimits
from ben_cli.sink.batcher import Batcher
from ben_cli.sink.deliver import FileDelivery
from ben_cli.sink.target import FileTarget

ROOT = Path(__file__).resolve().parent.parent
BEN = str(Path(sys.executable).with_name("ben"))


def ben_run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([BEN, "run", *args], cwd=ROOT, capture_output=True)


def inputs(tmp_path: Path) -> list[Path]:
    """Two files of the bench's access log, about 8 blocks in all, with bad lines here and there:
    not JSON, a line over the length limit, blank lines, CRLF, and no newline at the very end."""
    sys.path.insert(0, str(ROOT / "bench"))
    from generate import app_log_objects

    lines = [orjson.dumps(obj) for obj in app_log_objects(9000)]
    lines[10] = b"not json"
    lines[2500] = b'{"msg": "' + b"x" * 600 + b'"}'
    lines[4001] = b""
    lines[4002] = lines[4002] + b"\r"
    lines[6666] = b"[1, 2]"
    first, second = tmp_path / "a.ndjson", tmp_path / "b.ndjson"
    first.write_bytes(b"\n".join(lines[:5000]) + b"\n")
    second.write_bytes(b"\n".join(lines[5000:]))
    return [first, second]


def test_blocks_decoded_by_the_workers_give_what_one_process_gives(tmp_path: Path) -> None:
    """Without a series key the blocks' output comes back in input order: byte for byte the
    output of one process; ingest's rejects and summary are the same, line numbers included."""
    a, b = inputs(tmp_path)
    runs = {}
    for workers in ("1", "2", "3"):
        rejects = tmp_path / f"{workers}.rej"
        done = ben_run("--workers", workers, "--batch", "100", "-e",
                       f"ingest --max-line-bytes 500 --rejects {rejects} {a} {b} | scrub")
        assert done.returncode == 0, done.stderr.decode()
        runs[workers] = (done.stdout, rejects.read_bytes(), [line for line in done.stderr.splitlines()
                                                               if line.startswith(b"ben ingest")])
    assert runs["1"][0].count(b"\n") == 8996
    assert runs["2"] == runs["1"] and runs["3"] == runs["1"]
    assert [r["line"] for r in map(orjson.loads, runs["1"][1].splitlines())] == [11, 2501, 1667]  # the second file numbers its own lines
    assert b"ben ingest: read 8999, wrote 8996, rejected 3" in runs["1"][2]


def test_blocks_with_a_series_key_keep_each_series_in_order(tmp_path: Path) -> None:
    """With detect after scrub, records cross to their series' worker in block order: each series
    comes out as one process gives it, scores included, and ingest counts the same."""
    a, b = inputs(tmp_path)
    pipeline = f"ingest --max-line-bytes 500 {a} {b} | scrub | detect -d ewma --by source,attrs.path --field attrs.latency_ms"

    def per_series(out: bytes) -> dict:
        series: dict = {}
        for rec in map(orjson.loads, out.splitlines()):
            series.setdefault((rec["source"], rec["attrs"].get("path")), []).append(rec)
        return series

    one = ben_run("-q", "-e", pipeline)
    two = ben_run("-q", "--workers", "2", "--batch", "64", "-e", pipeline)
    assert one.returncode == two.returncode == 0, two.stderr.decode()
    assert len(per_series(one.stdout)) > 12
    assert per_series(two.stdout) == per_series(one.stdout)


def test_the_file_sink_fed_by_workers_cuts_its_batches_and_stores_what_one_process_stores(tmp_path: Path) -> None:
    a, b = inputs(tmp_path)
    for workers in ("1", "2"):
        done = ben_run("-q", "--workers", workers, "-e", f"ingest --max-line-bytes 500 {a} {b} | scrub | detect -d ewma | "
                       f"sink --batch-rows 7 --batch-bytes 2K --to file:{tmp_path / workers}")
        assert done.returncode == 0, done.stderr.decode()
    assert sorted((tmp_path / "2").read_bytes().splitlines()) == sorted((tmp_path / "1").read_bytes().splitlines())


class Recording(FileDelivery):
    """The file delivery, noting the size of each batch it is handed."""

    def __init__(self, path: Path):
        super().__init__(FileTarget(path))
        self.sizes: list[tuple[int, int]] = []

    def deliver(self, batch: Batch) -> None:
        self.sizes.append((len(batch.lines), batch.nbytes))
        super().deliver(batch)


def test_feed_checked_cuts_batches_where_feeding_records_one_by_one_cuts_them(tmp_path: Path) -> None:
    """Lines handed over whole with the worker's verdicts: the same batches (rows and bytes) as the
    same records fed one by one, the same file, and the lines judged bad rejected with their number."""
    recs = [{"ts": f"2026-11-25T00:00:{i % 60:02d}Z", "name": "n" * (i % 50)} for i in range(500)]
    recs[7] = {"ts": "2300-01-01T00:00:00Z", "name": "far"}
    limits = BatchLimits(rows=40, bytes=1500, age=60.0)
    results = []
    for how in ("records", "lines"):
        delivery = Recording(tmp_path / how)
        rejected: list[BadRecord] = []
        with Batcher(delivery, limits, on_reject=rejected.append) as core:
            core.load()
            if how == "records":
                for _ in core.feed(recs):
                    pass
            else:
                assert core.reads_time_only
                bad = []
                for i, rec in enumerate(recs):
                    try:
                        core.delivery.builder.ts_ns(rec)  # type: ignore[attr-defined]  # what a worker runs
                    except BadRecord as exc:
                        bad.append((i, exc.reason))
                lines = [orjson.dumps(rec, option=orjson.OPT_APPEND_NEWLINE) for rec in recs]
                for start in range(0, 500, 64):
                    part = [(i - start, why) for i, why in bad if start <= i < start + 64]
                    core.feed_checked(lines[start:start + 64], part)
            for _ in core.flush():
                pass
        results.append((delivery.sizes, (tmp_path / how).read_bytes(),
                        [(r.lineno % 64 or 64, r.reason, r.raw) for r in rejected]))
    assert len(results[0][0]) > 12
    assert results[0][:2] == results[1][:2]
    assert results[0][2] == results[1][2] == [(8, results[0][2][0][1], orjson.dumps(recs[7]))]

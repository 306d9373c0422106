"""ben sink to files and stdout: the default target, rotation by size and age, gzip, --tee, the
lock, URL parsing and option units (no server needed)."""

from __future__ import annotations

import gzip
import os

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ben_cli.errors import Busy, ExitStatus, UsageError
from ben_cli.sink.files import RotatingFile, rotated_name
from ben_cli.sink.target import ClickHouseTarget, FileTarget, StdoutTarget, TargetError, parse_target
from ben_cli.units import parse_duration, parse_size

from .conftest import run_ben
from .sink_support import ndjson, varied_records


def read_all(paths) -> list[dict]:
    out = []
    for p in sorted(paths):
        data = p.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        out += [orjson.loads(x) for x in data.splitlines()]
    return out


def test_without_to_records_land_under_ben_home(cli, ben_home):
    records = varied_records(50)
    result = cli(["sink"], input=ndjson(records))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "read 50, wrote 50, rejected 0" in result.stderr
    assert read_all([ben_home / "spool" / "records.ndjson"]) == records


def test_stdout_target_and_tee(cli, tmp_path):
    records = varied_records(20)
    out = cli(["sink", "--to", "-", "-q"], input=ndjson(records))
    assert [orjson.loads(x) for x in out.stdout.splitlines()] == records and out.stderr == ""
    target = tmp_path / "copy.ndjson"
    teed = cli(["sink", "--to", f"file:{target}", "--tee", "-q"], input=ndjson(records))
    assert [orjson.loads(x) for x in teed.stdout.splitlines()] == records
    assert read_all([target]) == records
    assert cli(["sink", "--to", "-", "--tee"], input=b"").exit_code == 2


def test_rotation_by_size_with_gzip_keeps_every_record_once(cli, tmp_path):
    records = varied_records(3000)
    target = tmp_path / "out" / "records.ndjson.gz"
    result = cli(["sink", "--to", f"file:{target}", "--gzip", "--rotate-size", "20k", "--batch-rows", "100"],
                 input=ndjson(records))
    assert result.exit_code == 0, result.output
    files = list(target.parent.glob("records*.ndjson.gz"))
    assert len(files) > 3
    assert all(f.read_bytes()[:2] == b"\x1f\x8b" for f in files)
    assert sorted(map(orjson.dumps, read_all(files))) == sorted(map(orjson.dumps, records))


def test_rotation_by_age_uses_the_time_of_rotation_in_the_name(tmp_path):
    now = [1_795_600_000.0]
    f = RotatingFile(tmp_path / "a.ndjson", rotate_seconds=60, clock=lambda: now[0])
    f.write(b'{"n":1}\n')
    now[0] += 61
    f.write(b'{"n":2}\n')
    f.close()
    assert [p.name for p in f.rotated] == ["a.20261125T094741Z.ndjson"]
    assert (tmp_path / "a.ndjson").read_bytes() == b'{"n":2}\n'
    assert rotated_name(tmp_path / "a.ndjson", "20261125T094741Z").name == "a.20261125T094741Z-1.ndjson"


def test_two_writers_on_one_file_are_kept_apart(tmp_path):
    first = RotatingFile(tmp_path / "x.ndjson")
    with pytest.raises(Busy, match="another ben sink is writing"):
        RotatingFile(tmp_path / "x.ndjson")
    first.close()
    RotatingFile(tmp_path / "x.ndjson").close()


def test_records_without_a_time_go_to_rejects(cli, tmp_path):
    rejects = tmp_path / "rejects.ndjson"
    data = b'{"ts":"2026-11-25T10:00:00Z","name":"ok"}\n{"name":"no time"}\nnot json\n'
    result = cli(["sink", "--to", "-", "--rejects", str(rejects)], input=data)
    assert result.exit_code == 0
    assert "read 3, wrote 1, rejected 2" in result.stderr  # read counts every non-blank line
    reasons = [orjson.loads(x)["reason"] for x in rejects.read_bytes().splitlines()]
    assert reasons[0].startswith("ts: the record has no ts") and reasons[1].startswith("invalid JSON")
    strict = run_ben("sink", "--to", "-", "--strict", input=data)
    assert strict.returncode == 1 and b"line 2: ts: the record has no ts" in strict.stderr


def test_target_urls(monkeypatch):
    t = parse_target("clickhouse://bob:s%40cret@db.example:9440/metrics?table=events&secure=1")
    assert t == ClickHouseTarget("db.example", 9440, "metrics", "events", "bob", "s@cret", None, True)
    assert "s@cret" not in repr(t) and "s@cret" not in t.key
    monkeypatch.setenv("BEN_CLICKHOUSE_PASSWORD", "fromenv")
    assert parse_target("clickhouse://127.0.0.1/ben").password == "fromenv"
    assert parse_target("clickhouse://127.0.0.1/ben?cluster=prod").cluster == "prod"
    # HTTP: its own default ports, TLS by scheme or option, the same credentials and table
    assert parse_target("clickhouse+http://bob@db.example/metrics?table=events") == ClickHouseTarget(
        "db.example", 8123, "metrics", "events", "bob", "fromenv", None, False, http=True)
    assert parse_target("clickhouse+https://db.example/metrics").port == 8443
    assert parse_target("clickhouse+http://db.example/metrics?secure=1").port == 8443
    assert parse_target("clickhouse+http://db.example:18123/metrics").port == 18123
    assert parse_target("clickhouse://db.example/metrics").http is False
    assert parse_target("file:/tmp/x.ndjson") == FileTarget(__import__("pathlib").Path("/tmp/x.ndjson"))
    assert parse_target("-") == StdoutTarget()
    assert parse_target(None).path.name == "records.ndjson"
    for bad in ("http://x/y", "clickhouse:///db", "clickhouse://h/db?tabel=x", "clickhouse://h/db;drop", "file:"):
        with pytest.raises(TargetError) as caught:
            parse_target(bad)
        assert isinstance(caught.value, UsageError) and caught.value.status == ExitStatus.USAGE


def test_a_bad_url_is_a_usage_error_on_one_line():
    result = run_ben("sink", "--to", "postgres://x/y", input=b"")
    assert result.returncode == 2
    assert result.stderr.decode().splitlines() == [
        "ben sink: unknown target 'postgres://x/y': use clickhouse://host/db, clickhouse+http://host/db, nats://host/SUBJECT, file:PATH or -"]


def test_units():
    assert parse_size("64M") == 64 << 20 and parse_size("1.5k") == 1536 and parse_size("10") == 10
    assert parse_duration("500ms") == 0.5 and parse_duration("5m") == 300 and parse_duration("2") == 2
    assert parse_duration("1h30m") == 5400 and parse_duration("2w") == 14 * 86400
    for bad in ("", "x", "5 parsecs"):
        with pytest.raises(ValueError):
            parse_size(bad)
        with pytest.raises(ValueError):
            parse_duration(bad)


@given(st.integers(1, 2**40), st.sampled_from(["", "k", "M", "G"]))
def test_sizes_scale_by_their_unit(n, unit):
    assert parse_size(f"{n}{unit}") == n * {"": 1, "k": 1024, "M": 1 << 20, "G": 1 << 30}[unit]


def test_importing_the_sink_does_not_load_the_driver():
    import subprocess
    import sys

    code = "import ben_cli.sink, ben_cli.sink.db, sys; print('clickhouse_driver' in sys.modules, 'chdb' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ}).stdout.strip()
    assert out == "False False"


def test_ben_db_takes_the_native_url_only():
    result = run_ben("db", "status", "--to", "clickhouse+http://127.0.0.1/ben")
    assert result.returncode == 2
    assert result.stderr.decode().splitlines() == [
        "ben db status: schema work and queries need a clickhouse:// URL (the native port), not 'clickhouse+http://127.0.0.1/ben'"]


def test_sink_options_take_the_one_duration_grammar(cli, tmp_path):
    target = tmp_path / "o.ndjson"
    result = cli(["sink", "-q", "--to", f"file:{target}", "--batch-age", "1h30m", "--retry-for", "2w"],
                 input=ndjson(varied_records(3)))
    assert result.exit_code == 0 and read_all([target]) == varied_records(3)
    bad = run_ben("sink", "--batch-age", "3x", input=b"")
    assert bad.returncode == 2 and b"not a duration: '3x'" in bad.stderr


def _limit_file_size(limit: int):
    import resource

    def set_limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return set_limit


@pytest.mark.parametrize("compress", [False, True])
def test_a_full_disk_leaves_a_file_the_rerun_cuts_back_to_whole_lines(tmp_path, compress):
    """ulimit -f stands in for a full disk: the run fails on one line naming the file, and the
    rerun cuts the partial line (or unfinished gzip member) before appending, saying so."""
    records = varied_records(2000)
    data = tmp_path / "in.ndjson"
    data.write_bytes(ndjson(records))
    target = tmp_path / ("out.ndjson.gz" if compress else "out.ndjson")
    args = ["sink", "--to", f"file:{target}", "--batch-rows", "100", *(["--gzip"] if compress else []), str(data)]
    limit = 50_017 if not compress else 40_017
    proc = run_ben(*args, preexec_fn=_limit_file_size(limit))
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.count(b"\n") == 1 and str(target).encode() in proc.stderr and b"Traceback" not in proc.stderr
    assert target.stat().st_size == limit  # the crash left a partial last line (or member)
    proc = run_ben(*args)
    assert proc.returncode == 0, proc.stderr
    assert b"so it ends on a whole line" in proc.stderr
    back = read_all([target])  # every line whole (and with gzip every member readable)
    assert back[-len(records):] == records
    kept = back[:-len(records)]
    assert kept == records[:len(kept)] and len(kept) > 0


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10**6), st.booleans(), st.integers(1, 40))
def test_a_file_cut_anywhere_reopens_to_whole_lines_and_loses_nothing_written_whole(tmp_path_factory, at, compress,
                                                                                   per_batch):
    """A crash can stop the file at any byte: reopening keeps every whole line (with gzip, every
    closed member: one per batch) before that byte, cuts the rest, and what is appended after it
    reads back."""
    path = tmp_path_factory.mktemp("cut") / "out.ndjson"
    records = varied_records(120, seed=4)
    lines = [orjson.dumps(r) + b"\n" for r in records]
    out = RotatingFile(path, compress=compress)
    ends = [(0, 0)]  # (bytes on disk, lines) after each whole unit
    for i in range(0, len(lines), per_batch):
        out.write_lines(lines[i:i + per_batch])
        if compress:
            ends.append((path.stat().st_size, min(i + per_batch, len(lines))))
    out.close()
    if not compress:
        ends = [(len(b"".join(lines[:n])), n) for n in range(len(lines) + 1)]
    at %= ends[-1][0] + 1
    with open(path, "r+b") as fh:
        fh.truncate(at)
    size, kept = max(e for e in ends if e[0] <= at)
    again = RotatingFile(path, compress=compress)
    assert again.cut == at - size
    again.write_lines(lines[:3])
    again.close()
    assert read_all([path]) == records[:kept] + records[:3]


@pytest.mark.parametrize("compress", [False, True])
def test_after_a_sigkill_the_rerun_leaves_a_file_of_whole_lines(tmp_path, compress):
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    records = varied_records(3000, seed=11)
    target = tmp_path / "out.ndjson"
    args = ["sink", "--to", f"file:{target}", "--batch-rows", "50", *(["--gzip"] if compress else [])]
    ben = str(Path(sys.executable).with_name("ben"))
    proc = subprocess.Popen([ben, *args], stdin=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdin is not None
    body = ndjson(records)
    proc.stdin.write(body[: len(body) // 2])
    proc.stdin.flush()
    deadline = time.monotonic() + 20
    while (not target.exists() or target.stat().st_size == 0) and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = run_ben(*args, input=ndjson(records[:10]))
    assert done.returncode == 0, done.stderr
    back = read_all([target])  # whole lines, and with gzip no CRC or end-of-stream error
    assert back[-10:] == records[:10]
    assert back[:-10] == records[:len(back) - 10]

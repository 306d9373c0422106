"""ben sink to files and stdout: the default target, rotation by size and age, gzip, --tee, the
lock, URL parsing and option units (no server needed)."""

from __future__ import annotations

import gzip
import os

import orjson
import pytest
from hypothesis import given
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
        "ben sink: unknown target 'postgres://x/y': use clickhouse://host/db, clickhouse+http://host/db, file:PATH or -"]


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

"""``ben detect`` end to end: marks, pass-through, flags, state carried between runs."""

from __future__ import annotations

import math
import random
import subprocess
import sys

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ben_cli.record import format_ts

from .conftest import run_ben

T0 = 1_700_000_000 * 1_000_000_000
DETECTORS = ["auto", "ewma", "cusum", "mad", "seasonal", "pagehinkley", "adwin", "cad", "cadose", "knn", "art"]


def stream(n: int = 400, series: int = 3, seed: int = 1, spike_at: int = 300) -> list[dict]:
    """Interleaved records of a few series, a daily wave plus noise, one spike, some unmarked lines."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        for k in range(series):
            ts = T0 + i * 300 * 1_000_000_000
            value = 50 + 10 * math.sin(i / 288 * 2 * math.pi) + rng.gauss(0, 1) + (40 if i == spike_at and k == 0 else 0)
            out.append({"ts": format_ts(ts), "source": f"host-{k}", "name": "cpu", "value": round(value, 3)})
        if i % 50 == 0:
            out.append({"ts": format_ts(T0 + i * 300 * 1_000_000_000), "source": "app", "name": "log", "body": "hello"})
    return out


def ndjson(records: list[dict]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def parse(out: bytes | str) -> list[dict]:
    data = out.encode() if isinstance(out, str) else out
    return [orjson.loads(line) for line in data.splitlines()]


def test_every_record_passes_through_with_a_mark_when_it_has_the_field(cli):
    records = stream()
    result = cli(["detect", "-q"], input=ndjson(records))
    assert result.exit_code == 0, result.output
    out = parse(result.stdout)
    assert len(out) == len(records)
    for before, after in zip(records, out, strict=True):
        mark = after.pop("anomaly", None)
        assert after == before  # nothing else is touched
        if "value" in before:
            assert set(mark) >= {"detector", "score", "is_anomaly", "series"}
            assert mark["detector"] == "auto" and 0.0 <= mark["score"] < 1.0
            assert mark["series"] == f"{before['source']}/cpu"
            assert mark["is_anomaly"] == (mark["score"] >= 0.5)
        else:
            assert mark is None


def test_the_spike_is_the_anomaly(cli):
    out = parse(cli(["detect", "-q", "--only-anomalies"], input=ndjson(stream())).stdout)
    spikes = [r for r in out if r["source"] == "host-0" and r["ts"] == format_ts(T0 + 300 * 300 * 1_000_000_000)]
    assert spikes and spikes[0]["anomaly"]["is_anomaly"]
    assert all(r["anomaly"]["is_anomaly"] for r in out)
    assert len(out) < 10  # and hardly anything else in smooth noise


def test_threshold_decides_is_anomaly(cli):
    data = ndjson(stream())
    low = parse(cli(["detect", "-q", "--threshold", "0.01"], input=data).stdout)
    marks = [r["anomaly"] for r in low if "anomaly" in r]
    assert all(m["is_anomaly"] == (m["score"] >= 0.01) for m in marks)
    assert sum(m["is_anomaly"] for m in marks) > sum(m["score"] >= 0.5 for m in marks)


def test_field_and_by(cli):
    records = [{"ts": format_ts(T0 + i * 10**9), "svc": "a" if i % 2 else "b", "attrs": {"ms": float(i % 7)}}
               for i in range(100)]
    out = parse(cli(["detect", "-q", "-d", "ewma", "--field", "attrs.ms", "--by", "svc"], input=ndjson(records)).stdout)
    assert {r["anomaly"]["series"] for r in out} == {"a", "b"}
    assert all(r["anomaly"]["detector"] == "ewma" for r in out)


def test_change_detectors_mark_a_change_point(cli):
    rng = random.Random(2)
    records = [{"source": "s", "name": "m", "value": rng.gauss(0 if i < 300 else 5, 1)} for i in range(400)]
    out = parse(cli(["detect", "-q", "-d", "cusum", "--only-anomalies"], input=ndjson(records)).stdout)
    assert out and all(r["anomaly"]["kind"] == "change" for r in out)
    assert any(300 <= records.index({k: v for k, v in r.items() if k != "anomaly"}) < 310 for r in out)


def test_list_shows_parameters_and_defaults(cli):
    result = cli(["detect", "--list"])
    assert result.exit_code == 0
    for name in DETECTORS + ["spca"]:
        assert f"\n{name}: " in "\n" + result.stdout
    assert "  k=0.5 " in result.stdout and "  h=5.0 " in result.stdout and "  L=2.814 " in result.stdout


def usage_error(*args: str) -> str:
    """The one line ``ben detect ARGS`` prints on stderr, asserting it exits 2 having written nothing."""
    proc = run_ben("detect", *args, input=b'{"value": 1}\n')
    assert proc.returncode == 2 and proc.stdout == b"", proc.stderr
    assert proc.stderr.count(b"\n") == 1, proc.stderr
    return proc.stderr.decode().rstrip("\n")


def test_bad_parameters_are_usage_errors_naming_the_option():
    assert usage_error("-p", "nope=1") == "ben detect: --param: auto has no parameter 'nope'; see ben detect --list"
    assert usage_error("-d", "ewma", "-p", "lambda=abc") == "ben detect: --param: lambda must be float, not 'abc'"
    assert usage_error("-p", "lambda") == "ben detect: --param: 'lambda' is not NAME=VALUE"
    assert usage_error("-d", "nosuch").startswith("ben detect: --detector: unknown detector 'nosuch'; known: adwin, art, auto, cad")
    assert usage_error("-d", "mad", "-p", "window=2") == "ben detect: --param: mad: window must be at least 3"
    assert usage_error("-p", "range=5") == "ben detect: --param: auto: range must be LO:HI, two finite numbers with LO <= HI, not '5'"
    assert usage_error("-d", "cad", "-p", "probation=-2") == "ben detect: --param: cad: probation must be 0 or more points"
    assert usage_error("--by", ",") == "ben detect: --by: needs at least one field"
    assert usage_error("--expire", "soon").startswith("ben detect: --expire: not a duration: 'soon'")


def test_expire_takes_the_one_duration_grammar(cli, tmp_path):
    result = cli(["detect", "--state", str(tmp_path / "s.json"), "--expire", "1h30m"], input=ndjson(stream(n=5)))
    assert result.exit_code == 0 and "expired 0" in result.stderr


def test_bad_lines_are_rejected_and_counted(cli, tmp_path):
    rejects = tmp_path / "rejects.ndjson"
    result = cli(["detect", "--rejects", str(rejects)], input=b'{"value": 1}\nnot json\n{"value": 2}\n')
    assert result.exit_code == 0
    assert len(parse(result.stdout)) == 2
    assert "rejected 1" in result.stderr
    assert orjson.loads(rejects.read_bytes())["line"] == 2
    strict = run_ben("detect", "--strict", input=b'{"value": 1}\nnot json\n')
    assert strict.returncode == 1 and b"line 2: invalid JSON" in strict.stderr


# -- state ----------------------------------------------------------------------------------

@pytest.mark.parametrize("detector", DETECTORS)
def test_two_runs_with_state_equal_one_run(cli, tmp_path, detector):
    records = stream(n=300)
    whole = cli(["detect", "-q", "-d", detector], input=ndjson(records)).stdout
    state = tmp_path / "state.json"
    cut = len(records) * 2 // 3
    first = cli(["detect", "-q", "-d", detector, "--state", str(state)], input=ndjson(records[:cut]))
    assert first.exit_code == 0, first.output
    second = cli(["detect", "-q", "-d", detector, "--state", str(state)], input=ndjson(records[cut:]))
    assert second.exit_code == 0, second.output
    assert first.stdout + second.stdout == whole


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(0, 320), min_size=1, max_size=3, unique=True))
def test_any_split_into_runs_gives_the_same_output(cli, tmp_path_factory, cuts):
    records = stream(n=100, series=3, spike_at=70)
    whole = cli(["detect", "-q"], input=ndjson(records)).stdout
    state = tmp_path_factory.mktemp("state") / "s.json"
    out = ""
    bounds = [0, *sorted(cuts), len(records)]
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        out += cli(["detect", "-q", "--state", str(state)], input=ndjson(records[lo:hi])).stdout
    assert out == whole


def test_state_written_by_another_configuration_is_refused(cli, tmp_path):
    state = tmp_path / "s.json"
    assert cli(["detect", "-q", "-d", "ewma", "--state", str(state)], input=ndjson(stream(n=50))).exit_code == 0
    result = run_ben("detect", "-d", "cusum", "--state", str(state), input=ndjson(stream(n=50)))
    assert result.returncode == 1 and result.stdout == b""
    assert result.stderr.startswith(f"ben detect: {state}: written with detector 'ewma', this run uses 'cusum'".encode())
    result = run_ben("detect", "-d", "ewma", "-p", "L=3", "--state", str(state), input=ndjson(stream(n=50)))
    assert result.returncode == 1 and f"ben detect: {state}: written with params".encode() in result.stderr


def test_state_is_locked_while_a_run_uses_it(tmp_path):
    state = tmp_path / "s.json"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time; fd = os.open(sys.argv[1] + '.lock', os.O_RDWR | os.O_CREAT); "
        "fcntl.flock(fd, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(30)"), str(state)],
        stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == b"locked\n"
        proc = run_ben("detect", "--state", str(state), input=b'{"value": 1}\n')
        assert proc.returncode == 1 and b"in use by another ben detect run" in proc.stderr
    finally:
        holder.kill()
        holder.wait()


def test_expire_drops_series_unseen_for_that_long(cli, tmp_path):
    state = tmp_path / "s.json"
    day = 86400 * 10**9
    old = [{"ts": format_ts(T0), "source": "gone", "name": "x", "value": 1.0},
           {"ts": format_ts(T0), "source": "stays", "name": "x", "value": 1.0}]
    new = [{"ts": format_ts(T0 + 8 * day), "source": "stays", "name": "x", "value": 1.0}]
    cli(["detect", "-q", "--state", str(state)], input=ndjson(old))
    result = cli(["detect", "--state", str(state), "--expire", "7d"], input=ndjson(new))
    assert "series 1, expired 1" in result.stderr
    saved = orjson.loads(state.read_bytes())
    assert [key for key, _, _ in saved["series"]] == [["stays", "x"]]


def test_state_file_is_json_and_written_atomically(cli, tmp_path):
    state = tmp_path / "s.json"
    cli(["detect", "-q", "-d", "ewma", "--state", str(state)], input=ndjson(stream(n=20)))
    saved = orjson.loads(state.read_bytes())
    assert saved["format"] == "ben-detect-state" and saved["detector"] == "ewma"
    assert len(saved["series"]) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json", "s.json.lock"]  # no temporary left


# -- start-up cost ----------------------------------------------------------------------------

@pytest.mark.parametrize("detector", DETECTORS)
def test_detect_does_not_import_numpy_unless_the_detector_needs_it(detector):
    code = (
        "import sys; from ben_cli.commands._root import main; sys.argv = ['ben', 'detect', '-q', '-d', sys.argv[1]];\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write('NUMPY' if 'numpy' in sys.modules else 'CLEAN')"
    )
    proc = subprocess.run([sys.executable, "-c", code, detector], input=ndjson(stream(n=40)), capture_output=True)
    assert proc.stderr.endswith(b"CLEAN"), proc.stderr[-500:]
    assert proc.stdout.count(b'"anomaly"') == 120


def test_spca_does_import_numpy():
    code = (
        "import sys; from ben_cli.commands._root import main; "
        "sys.argv = ['ben', 'detect', '-q', '-d', 'spca', '--field', 'a,b'];\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write('NUMPY' if 'numpy' in sys.modules else 'CLEAN')"
    )
    proc = subprocess.run([sys.executable, "-c", code], input=b'{"a": 1, "b": 2}\n' * 40, capture_output=True)
    assert proc.stderr.endswith(b"NUMPY"), proc.stderr[-500:]


def test_spca_watches_several_fields_and_its_state_carries_over(cli, tmp_path):
    rng = random.Random(3)
    records = []
    for i in range(600):
        a = 1.5 if i == 500 else rng.gauss(0, 1)
        b = -2 * a if i == 500 else 2 * a + rng.gauss(0, 0.1)  # at 500 the correlation breaks
        records.append({"source": "h", "name": "m", "a": a, "b": b, "c": rng.gauss(0, 1)})
    args = ["detect", "-q", "-d", "spca", "--field", "a,b,c", "-p", "k=2"]
    whole = cli(args, input=ndjson(records)).stdout
    marks = [r["anomaly"] for r in parse(whole)]
    assert marks[500]["is_anomaly"] and marks[500]["score"] == max(m["score"] for m in marks)
    state = tmp_path / "s.json"
    split = cli([*args, "--state", str(state)], input=ndjson(records[:250])).stdout
    split += cli([*args, "--state", str(state)], input=ndjson(records[250:])).stdout
    assert split == whole
    assert usage_error("-q", "-d", "spca", "--field", "a").startswith("ben detect: --field: spca watches two or more")
    assert usage_error("-q", "-d", "ewma", "--field", "a,b") == "ben detect: --field: ewma watches one field (spca watches several)"
    assert usage_error("-d", "spca", "--field", "a,b", "-p", "k=2").startswith("ben detect: --param: spca keeps k=2")


def test_long_runs_save_state_every_checkpoint(tmp_path, monkeypatch):
    import io

    from ben_cli.detect import DetectOptions, run
    from ben_cli.detect import state as statefile
    from ben_cli.ndjson import Writer
    from ben_cli.rejects import Rejects

    saves = []
    real_save = statefile.save
    monkeypatch.setattr(statefile, "save", lambda *a, **kw: saves.append(1) or real_save(*a, **kw))
    data = tmp_path / "in.ndjson"
    data.write_bytes(b'{"source": "s", "name": "m", "value": 1}\n' * 9000)
    options = DetectOptions(detector="ewma", state=tmp_path / "s.json", checkpoint=1e-9)
    run([str(data)], Writer(io.BytesIO(), line_buffered=False), Rejects(), options)
    assert len(saves) == 3  # after 4096 and 8192 records, and at the end
    assert orjson.loads((tmp_path / "s.json").read_bytes())["series"][0][2][1] == 9000  # every point counted


def test_max_series_evictions_are_counted_on_stderr(cli):
    data = b"".join(b'{"name":"s%d","value":1}\n' % (i % 5) for i in range(20))
    result = cli(["detect", "--max-series", "3", "--by", "name"], input=data)
    assert result.exit_code == 0
    assert "series 3, evicted 17" in result.stderr
    assert cli(["detect", "--max-series", "0"], input=data).exit_code == 2

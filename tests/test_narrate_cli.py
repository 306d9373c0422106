"""ben narrate, the command: flags, exit statuses, rejects, streaming, and properties of any input."""

from __future__ import annotations

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ben_cli.narrate.humanize import count, duration, plural
from ben_cli.units import parse_duration

from .conftest import run_ben
from .narrate_scenarios import ewma_marks, series, window


def ndjson(records) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


SPIKE = ndjson(ewma_marks(series("web-3", "http.request", "ms", "09:00", 1, 120, 120, 5, 1, window("10:02", "10:14", 292))))


def test_text_report_on_stdin_with_a_summary_on_stderr(cli):
    result = cli(["narrate"], input=SPIKE)
    assert result.exit_code == 0
    assert result.stdout.startswith("Health report: 25 Nov 2026, 09:00 to 10:59 UTC (1 hour 59 minutes)\nVerdict: INCIDENT.")
    assert result.stderr == "ben narrate: read 120, wrote 1, rejected 0, anomalies 1, incidents 1\n"


def test_bad_lines_go_to_rejects_and_strict_stops_with_status_1(cli, tmp_path):
    rejects = tmp_path / "bad.ndjson"
    result = cli(["narrate", "-q", "-f", "json", "--rejects", str(rejects)], input=SPIKE + b"not json\n[1]\n")
    assert result.exit_code == 0 and result.stderr == ""
    assert orjson.loads(result.stdout)["rejected"]["narrate"] == 2
    assert [orjson.loads(x)["line"] for x in rejects.read_bytes().splitlines()] == [121, 122]


def test_strict_through_the_real_entry_point_names_the_line():
    proc = run_ben("narrate", "--strict", input=SPIKE.split(b"\n")[0] + b"\n{oops\n")
    assert proc.returncode == 1 and proc.stderr.decode().startswith("ben narrate: line 2: invalid JSON")


def test_usage_errors_exit_2_on_one_line_naming_the_flag():
    for args in (["--every", "soon"], ["--format", "pdf"], ["--since", "yesterday"], ["--gap", "-5m"],
                 ["--min-change", "lots"], ["--every", "0s"]):
        proc = run_ben("narrate", *args, input=b"")
        assert proc.returncode == 2, args
        assert proc.stderr.decode().startswith(f"ben narrate: {args[0]}: ") and proc.stderr.count(b"\n") == 1, args


def test_every_passes_records_through_and_adds_narratives(cli):
    result = cli(["narrate", "--every", "1h"], input=SPIKE)
    lines = [orjson.loads(x) for x in result.stdout.splitlines()]
    assert len(lines) == 122 and [x["ts"] for x in lines if x["name"] == "ben.narrative"] == [
        "2026-11-25T10:00:00Z", "2026-11-25T11:00:00Z"]
    assert result.stderr == "ben narrate: read 120, wrote 122, rejected 0, narratives 2\n"


def test_narratives_in_the_input_are_not_narrated_again(cli):
    once = cli(["narrate", "--every", "1h", "-q"], input=SPIKE).stdout.encode()
    again = cli(["narrate", "-q", "-f", "json"], input=once)
    assert orjson.loads(again.stdout)["records"] == 120


def test_html_goes_to_stdout_as_one_document(cli):
    result = cli(["narrate", "-q", "-f", "html"], input=SPIKE)
    assert result.stdout.startswith("<!DOCTYPE html>") and result.stdout.count("<svg") == 1
    assert "http://" not in result.stdout.replace('xmlns="http://www.w3.org/2000/svg"', "")


# -- properties -------------------------------------------------------------------------------

scalars = st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8)
minutes = st.integers(0, 24 * 60 - 1).map(lambda m: f"2026-11-25T{m // 60:02d}:{m % 60:02d}:00Z")
records = st.fixed_dictionaries(
    {"ts": minutes | scalars},
    optional={
        "source": st.sampled_from(["a", "b", "c"]) | scalars, "name": st.sampled_from(["x", "y"]) | scalars,
        "lane": st.sampled_from(["diag", "event", "control"]) | scalars, "value": st.floats(-1e6, 1e6) | scalars,
        "unit": st.sampled_from(["ms", "%", "By", "1/s"]) | scalars,
        "severity": st.sampled_from(["info", "warn", "error"]) | scalars,
        "redacted": st.lists(st.sampled_from(["email", "ipv4"]), max_size=2) | scalars,
        "anomaly": st.fixed_dictionaries({"detector": st.just("ewma"), "score": st.floats(0, 1), "is_anomaly": st.booleans()},
                                         optional={"expected": st.floats(-1e6, 1e6) | scalars, "series": scalars}) | scalars,
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(records, max_size=60), st.sampled_from(["text", "markdown", "html", "json"]))
def test_any_envelopes_give_a_report_and_the_same_one_twice(cli, recs, fmt):
    data = ndjson(recs)
    first = cli(["narrate", "-q", "-f", fmt, "--fail-on", "never"], input=data)
    assert first.exit_code == 0
    assert first.stdout == cli(["narrate", "-q", "-f", fmt, "--fail-on", "never"], input=data).stdout
    if fmt == "json":
        assert orjson.loads(first.stdout)["verdict"] in ("nodata", "unknown", "healthy", "degraded", "incident")


@given(st.integers(1, 10**12))
def test_durations_read_like_speech(seconds):
    text = duration(seconds)
    assert not text.startswith("0 ")
    assert " 0 " not in f" {text} " and len(text.split()) in (2, 4)
    assert ("1 " + text.split()[1] == text) == (text.split()[0] == "1" and len(text.split()) == 2)


@given(st.integers(1, 10**6), st.sampled_from(["s", "m", "h", "d"]))
def test_parse_duration_reads_what_people_write(n, unit):
    assert parse_duration(f"{n}{unit}") == n * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]


@given(st.integers(0, 10**12))
def test_counts_stay_short(n):
    text = count(n)
    assert len(text) <= 5 and float(text.rstrip("kMGT")) < 1000
    assert plural(1, "record") == "1 record" and plural(n, "record").endswith("record" if n == 1 else "records")


def _on_a_terminal(args: list[str], data: bytes, env: dict) -> bytes:
    """Run ben with stdout on a pseudo-terminal; everything it wrote there."""
    import os
    import pty
    import select
    import subprocess
    import sys
    from pathlib import Path

    master, slave = pty.openpty()
    proc = subprocess.Popen([str(Path(sys.executable).with_name("ben")), *args], stdin=subprocess.PIPE, stdout=slave,
                            stderr=subprocess.DEVNULL, env={**os.environ, "BEN_LOAD_PLUGINS": "", **env})
    os.close(slave)
    proc.stdin.write(data)
    proc.stdin.close()
    seen = b""
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 20)
            if not ready:
                break
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal closed when ben exited
                break
            if not chunk:
                break
            seen += chunk
    finally:
        proc.wait(timeout=20)
        os.close(master)
    return seen


def test_colours_only_on_a_terminal_and_never_with_no_color():
    env = {"TERM": "xterm-256color", "COLUMNS": "100"}
    coloured = _on_a_terminal(["narrate", "-q"], SPIKE, {**env, "NO_COLOR": ""})
    assert b"\x1b[" in coloured and b"Verdict: INCIDENT." in coloured
    plain = _on_a_terminal(["narrate", "-q"], SPIKE, {**env, "NO_COLOR": "1"})
    assert b"\x1b[" not in plain and b"Verdict: INCIDENT." in plain
    piped = run_ben("narrate", "-q", input=SPIKE, env=env)
    assert b"\x1b[" not in piped.stdout


def test_a_list_or_object_as_severity_ranks_nothing_and_the_stream_goes_on():
    """``{"severity":{}}`` used to end narrate --every with a TypeError (issue 13, item 6)."""
    lines = (b'{"ts":"2024-01-01T00:00:00Z","severity":{}}\n{"ts":"2024-01-01T00:00:01Z","severity":["error"],"lane":[]}\n'
             b'{"ts":"2024-01-01T00:00:02Z","severity":"error","source":"a"}\n')
    done = run_ben("narrate", "--every", "1h", input=lines)
    assert done.returncode == 0, done.stderr
    out = [orjson.loads(x) for x in done.stdout.splitlines()]
    assert [r.get("name") for r in out] == [None, None, None, "ben.narrative"]
    assert b"read 3, wrote 4, rejected 0" in done.stderr
